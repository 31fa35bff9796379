"""A gallery day compressed into seconds: the real opening-hours schedule on a fast clock.

The soak runs the real Scheduler (installation.controls.schedule) on an injected clock
that runs `24 h / day_s` times faster than the soak, so a soak of minutes sleeps and wakes
many times. The day also places the camera outage (half-way through the opening hours,
so a wake never lands in one) and says when the panel may sleep, wake or freeze the show
without colliding with the schedule's own changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from installation.controls.schedule import WEEKDAYS, Schedule, parse_schedule
from installation.testing.faulty_source import FaultSchedule

OPENS = dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC)  # a Monday, 06:00; every day the same hours
DAY_MINUTES = 24 * 60
CALM_AFTER_S = 3.0   # the panel sleeps/wakes or freezes the show this long after a wake or an outage's end
CALM_BEFORE_S = 5.0  # ... and no later than this before the next sleep or outage (a pair takes a few s)


@dataclass(frozen=True)
class SoakDay:
    """One compressed day of `day_s` soak seconds: open for `open_fraction` of it, from soak time 0."""

    day_s: float = 60.0
    open_fraction: float = 2 / 3

    def __post_init__(self) -> None:
        if not 0 < self.open_fraction < 1:
            raise ValueError(f"open_fraction must be between 0 and 1, got {self.open_fraction}")

    @property
    def open_minutes(self) -> int:
        """Opening hours in schedule minutes (the schedule's resolution), at least one, less than a day."""
        return min(DAY_MINUTES - 1, max(1, round(DAY_MINUTES * self.open_fraction)))

    @property
    def open_s(self) -> float:
        return self.day_s * self.open_minutes / DAY_MINUTES

    @property
    def speed(self) -> float:
        """Schedule seconds per soak second."""
        return DAY_MINUTES * 60 / self.day_s

    def schedule(self) -> Schedule:
        closes = OPENS + dt.timedelta(minutes=self.open_minutes)
        hours = f"{OPENS:%H:%M}-{closes:%H:%M}"
        return parse_schedule({"timezone": "UTC", "weekly": dict.fromkeys(WEEKDAYS, hours)}, "<soak day>")

    def clock(self, soak_s: Callable[[], float]) -> Callable[[], dt.datetime]:
        """The schedule's clock: opening time at soak second 0, `speed` times faster from there."""
        return lambda: OPENS + dt.timedelta(seconds=soak_s() * self.speed)

    def faults(self, outage_s: float) -> FaultSchedule:
        """One camera outage a day, half-way through the opening hours (soak seconds since the start)."""
        outage = min(outage_s, self.open_s / 4)
        return FaultSchedule(period_s=self.day_s, outage_s=outage, first_at_s=(self.open_s - outage) / 2)

    def wakes_by(self, t: float) -> int:
        """Openings after the first (which finds the show awake) up to soak second `t`."""
        return max(0, int(t // self.day_s))

    def calm(self, t: float, outage_s: float) -> bool:
        """Whether soak second `t` is well inside the opening hours and away from the outage."""
        into = t % self.day_s
        fault = self.faults(outage_s)
        quiet = ((0.0, fault.first), (fault.first + fault.outage_s, self.open_s))
        return any(start + CALM_AFTER_S <= into <= end - CALM_BEFORE_S for start, end in quiet)
