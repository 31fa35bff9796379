"""The compressed day drives the real Scheduler through sleep and wake; the soak's camera outages keep their times."""

import numpy as np
import pytest

from installation.controls.actions import Dispatcher
from installation.controls.schedule import Scheduler
from installation.soak.day import SoakDay
from installation.testing.clocks import HandClock
from installation.testing.faulty_source import FaultySource


def test_the_real_scheduler_sleeps_and_wakes_every_compressed_day():
    day = SoakDay(day_s=60.0)
    soak = HandClock(0.0)
    dispatcher = Dispatcher()
    seen: list[tuple[str, float]] = []
    for kind in ("sleep", "wake"):
        dispatcher.on(kind, lambda action: seen.append((action.kind, soak.now)))
    scheduler = Scheduler(day.schedule(), dispatcher, clock=day.clock(soak))
    while soak.now < 185.0:  # polled as the show's loop does, four times a second
        scheduler.poll()
        dispatcher.drain()
        soak.now += 0.25
    assert day.open_s == pytest.approx(40.0)
    assert seen == [("sleep", 40.0), ("wake", 60.0), ("sleep", 100.0), ("wake", 120.0), ("sleep", 160.0),
                    ("wake", 180.0)]
    assert day.wakes_by(185.0) == 3 and day.wakes_by(59.9) == 0


def test_the_outage_sits_mid_day_and_the_panel_keeps_clear_of_every_change():
    day = SoakDay(day_s=60.0)
    fault = day.faults(3.0)
    assert (fault.first, fault.outage_s, fault.period_s) == (18.5, 3.0, 60.0)
    calm = [t / 4 for t in range(4 * 120) if day.calm(t / 4, 3.0)]
    assert calm and all(3.0 <= t % 60 <= 13.5 or 24.5 <= t % 60 <= 35.0 for t in calm)
    assert not any(day.calm(t, 3.0) for t in (1.0, 17.0, 20.0, 38.0, 45.0, 59.0))


class Camera:
    description = "still camera"

    def open(self):
        pass

    def read(self):
        return np.zeros((2, 2, 3), np.uint8)

    def close(self):
        pass


def test_a_reopened_source_keeps_the_shows_outage_times_and_counts_its_recoveries():
    clock = HandClock(100.0)
    fault = SoakDay(day_s=60.0).faults(3.0)  # outages at 18.5-21.5, 78.5-81.5 s after the origin
    morning = FaultySource(Camera(), fault, clock=clock, origin=100.0)
    clock.now = 110.0
    morning.open()
    clock.now = 119.0
    with pytest.raises(ConnectionError):
        morning.read()
    clock.now = 122.0
    assert morning.read() is not None
    clock.now = 140.0
    morning.close()
    clock.now = 160.0  # a wake: a new source, same origin
    evening = FaultySource(Camera(), fault, clock=clock, origin=100.0)
    evening.open()
    clock.now = 179.0
    assert evening.read() is None  # the second outage hands back nothing ("alternate" failures)
    clock.now = 185.0
    assert evening.read() is not None
    assert (morning.counts().recovered, morning.counts().outages, morning.recoveries_due(5.0)) == (1, 1, 1)
    assert (evening.counts().recovered, evening.counts().outages, evening.recoveries_due(5.0)) == (1, 1, 0)
    clock.now = 190.0  # five seconds after its end, the evening outage is due too
    assert evening.recoveries_due(5.0) == 1
