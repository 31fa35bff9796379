"""The scheduled-failure source: outages at the planned times, both failure styles, recovery through Capture."""

import time

import numpy as np
import pytest

from installation.sources.capture import Backoff, Capture
from installation.testing.faulty_source import FaultSchedule, FaultySource


class FakeCamera:
    """Always works; counts opens and closes."""

    description = "fake camera"

    def __init__(self, frame_s: float = 0.0) -> None:
        self.frame_s = frame_s  # a real camera's frame interval; 0 for the clocked tests
        self.opens = 0
        self.closes = 0
        self.reads = 0

    def open(self) -> None:
        self.opens += 1

    def read(self) -> np.ndarray:
        self.reads += 1
        if self.frame_s:
            time.sleep(self.frame_s)
        return np.full((4, 6, 3), self.reads % 256, dtype=np.uint8)

    def close(self) -> None:
        self.closes += 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("period", "outage", "first"), [(40.0, 3.0, None), (10.0, 2.5, 1.0), (5.0, 5.0, 0.0)])
def test_schedule_outages_fall_where_planned(period, outage, first):
    schedule = FaultSchedule(period_s=period, outage_s=outage, first_at_s=first)
    start = period if first is None else first
    for k in range(3):
        begin = start + k * period
        assert schedule.outage_at(begin) == k
        assert schedule.outage_at(begin + outage * 0.99) == k
        assert schedule.outages_started(begin) == k + 1
        assert schedule.outages_ended(begin + outage) == k + 1
        assert schedule.outages_ended(begin + outage * 0.99) == k
        if outage < period:
            assert schedule.outage_at(begin + outage) is None
    assert schedule.outage_at(start - 0.01) is None
    assert schedule.outages_started(start - 0.01) == 0


def test_schedule_rejects_an_outage_longer_than_its_period():
    with pytest.raises(Exception, match="outage length"):
        FaultSchedule(period_s=5.0, outage_s=6.0)
    with pytest.raises(ValueError, match="failure mode"):
        FaultSchedule(mode="explode")  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["raise", "none", "alternate"])
def test_reads_and_opens_fail_during_an_outage_then_recover(mode):
    clock = FakeClock()
    camera = FakeCamera()
    source = FaultySource(camera, FaultSchedule(period_s=10.0, outage_s=2.0, first_at_s=5.0, mode=mode), clock=clock)
    source.open()
    assert source.read() is not None
    for k in range(2):  # first outage (index 0) and the second (index 1) differ in "alternate"
        clock.now = 100.0 + 5.0 + 10.0 * k + 0.5
        returns_none = mode == "none" or (mode == "alternate" and k == 1)
        if returns_none:
            assert source.read() is None
        else:
            with pytest.raises(ConnectionError, match=f"outage {k + 1}"):
                source.read()
        with pytest.raises(ConnectionError, match="not present"):
            source.open()
        clock.now += 2.0  # the outage is over
        source.open()
        assert source.read() is not None
    counts = source.counts()
    assert counts.outages == 2 and counts.failed_reads == 2 and counts.failed_opens == 2
    assert counts.frames == 3 and camera.opens == 3


def test_capture_reconnects_after_each_outage_and_counts_it():
    schedule = FaultSchedule(period_s=0.6, outage_s=0.2, first_at_s=0.2, mode="alternate")
    source = FaultySource(FakeCamera(frame_s=0.005), schedule)
    with Capture(source, backoff=Backoff(first=0.02, cap=0.05)) as capture:
        deadline = time.monotonic() + 10.0
        while capture.health().reconnects < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    health = capture.health()  # after close: the thread has stopped counting
    assert health.reconnects >= 2, health
    counts = source.counts()
    assert counts.outages >= 2 and counts.failed_reads + counts.failed_opens >= 2
    assert health.frames == counts.frames
