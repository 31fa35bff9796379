"""A FrameSource that fails on a schedule, then recovers: an unplugged camera on demand.

The soak test and the capture tests need outages that look like real ones (a read
that raises, a driver that hands back nothing, a device that cannot be reopened
while it is gone) and that end by themselves, at known times, so the recovery can
be checked. The schedule is a pure function of the time since the first `open()`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

from engine.errors import check_range
from installation.common.rates import Clock
from installation.sources.openers import FrameSource

FailureMode = Literal["raise", "none", "alternate"]
FAILURE_MODES: tuple[FailureMode, ...] = ("raise", "none", "alternate")


@dataclass(frozen=True)
class FaultSchedule:
    """Outage k lasts `outage_s` from `first_at_s + k * period_s` (seconds since the first open).

    mode: "raise" (read raises ConnectionError), "none" (read returns None) or
    "alternate" (even outages raise, odd ones return None). During an outage `open()`
    raises as well, as an unplugged device does.
    """

    period_s: float = 40.0
    outage_s: float = 3.0
    first_at_s: float | None = None  # None: one period after the first open
    mode: FailureMode = "alternate"

    def __post_init__(self) -> None:
        check_range("fault period", self.period_s, 0.1, 1e9)
        check_range("outage length", self.outage_s, 0.0, self.period_s)
        if self.first_at_s is not None:
            check_range("first outage", self.first_at_s, 0.0, 1e9)
        if self.mode not in FAILURE_MODES:
            raise ValueError(f"failure mode must be one of {FAILURE_MODES}, got {self.mode!r}")

    @property
    def first(self) -> float:
        return self.period_s if self.first_at_s is None else self.first_at_s

    def outage_at(self, elapsed: float) -> int | None:
        """The index of the outage in progress `elapsed` seconds in, or None when the source works."""
        if elapsed < self.first or self.outage_s <= 0:
            return None
        index = int((elapsed - self.first) // self.period_s)
        into = elapsed - self.first - index * self.period_s
        return index if into < self.outage_s else None

    def outages_started(self, elapsed: float) -> int:
        """How many outages have begun by `elapsed` seconds."""
        if elapsed < self.first or self.outage_s <= 0:
            return 0
        return int((elapsed - self.first) // self.period_s) + 1

    def outages_ended(self, elapsed: float) -> int:
        """How many outages were over by `elapsed` seconds."""
        if self.outage_s <= 0:
            return 0
        return self.outages_started(elapsed - self.outage_s)

    def returns_none(self, index: int) -> bool:
        return self.mode == "none" or (self.mode == "alternate" and index % 2 == 1)


@dataclass(frozen=True)
class FaultCounts:
    """What the wrapper did, for reports and assertions."""

    outages: int
    failed_reads: int
    failed_opens: int
    frames: int
    recovered: int = 0  # outages after which a frame was read again


class FaultySource:
    """Wraps any FrameSource; reads and opens fail while `schedule` says the device is gone."""

    def __init__(self, inner: FrameSource, schedule: FaultSchedule, clock: Clock = time.monotonic,
                 origin: float | None = None) -> None:  # fmt: skip
        """`origin`: the `clock()` time the schedule counts from, shared by the successive sources of
        one show (a reopened camera keeps the same outage times); None: this source's first open."""
        self.inner = inner
        self.schedule = schedule
        self.description = f"{inner.description} (failing {schedule.outage_s:g} s every {schedule.period_s:g} s)"
        self._clock = clock
        self._origin = origin
        self._opened: float | None = None
        self._closed: float | None = None
        self._lock = threading.Lock()
        self._failed_reads = 0
        self._failed_opens = 0
        self._frames = 0
        self._down = False  # a read or open failed and no frame came since
        self._recovered = 0

    @property
    def _started(self) -> float | None:
        return self._origin if self._origin is not None else self._opened

    def _outage(self) -> int | None:
        if self._started is None:
            return None
        return self.schedule.outage_at(self._clock() - self._started)

    def open(self) -> None:
        if self._opened is None:
            self._opened = self._clock()
        self._closed = None
        index = self._outage()
        if index is not None:
            with self._lock:
                self._failed_opens += 1
                self._down = True
            raise ConnectionError(f"simulated outage {index + 1}: device not present")
        self.inner.open()

    def read(self) -> np.ndarray | None:
        index = self._outage()
        if index is None:
            frame = self.inner.read()
            if frame is not None:
                with self._lock:
                    self._frames += 1
                    self._recovered += self._down
                    self._down = False
            return frame
        with self._lock:
            self._failed_reads += 1
            self._down = True
        if self.schedule.returns_none(index):
            return None
        raise ConnectionError(f"simulated outage {index + 1}: read failed")

    def close(self) -> None:
        self._closed = self._clock()
        self.inner.close()

    def recoveries_due(self, margin_s: float) -> int:
        """Outages that ended while this source was open, at least `margin_s` before it closed (or now):
        each should have been followed by a frame read again (FaultCounts.recovered)."""
        if self._opened is None or self._started is None:
            return 0
        until = (self._closed if self._closed is not None else self._clock()) - margin_s
        return max(0, self.schedule.outages_ended(until - self._started)
                   - self.schedule.outages_ended(self._opened - self._started))  # fmt: skip

    def counts(self) -> FaultCounts:
        """Outages counts those begun while this source was open (all of them without an `origin`)."""
        if self._opened is None or self._started is None:
            return FaultCounts(0, 0, 0, 0)
        now = self._closed if self._closed is not None else self._clock()
        before = self.schedule.outages_started(self._opened - self._started) if self._origin is not None else 0
        with self._lock:
            return FaultCounts(self.schedule.outages_started(now - self._started) - before, self._failed_reads,
                               self._failed_opens, self._frames, self._recovered)  # fmt: skip
