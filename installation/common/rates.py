"""Rolling rates and latencies for the HUD and status file, and a pacer for clocked sources.

Every thread ticks its own meter; readers on other threads call `rate()` at any time,
so the meters take a lock. Clocks are injectable so tests never sleep for real.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class RateMeter:
    """Events per second over the last `window` seconds (0 when fewer than two events)."""

    def __init__(self, window: float = 2.0, clock: Clock = time.monotonic) -> None:
        self._window = window
        self._clock = clock
        self._times: deque[float] = deque()
        self._count = 0
        self._lock = threading.Lock()

    def tick(self) -> None:
        now = self._clock()
        with self._lock:
            self._times.append(now)
            self._count += 1
            self._trim(now)

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self._window:
            self._times.popleft()

    @property
    def count(self) -> int:
        """Events since creation (not just within the window)."""
        with self._lock:
            return self._count

    def rate(self) -> float:
        with self._lock:
            self._trim(self._clock())
            if len(self._times) < 2:
                return 0.0
            span = self._times[-1] - self._times[0]
            return (len(self._times) - 1) / span if span > 0 else 0.0


class RollingMean:
    """Mean of the last `size` samples: capture-to-display latency, step time."""

    def __init__(self, size: int = 60) -> None:
        self._samples: deque[float] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, value: float) -> None:
        with self._lock:
            self._samples.append(value)

    def mean(self) -> float | None:
        with self._lock:
            return sum(self._samples) / len(self._samples) if self._samples else None


class Pacer:
    """Blocks until the next tick of a fixed-rate clock, like a camera's frame interval.

    If the caller falls behind by more than one interval the schedule restarts from
    now instead of bursting to catch up (a camera drops frames, it never bunches them).
    """

    def __init__(self, fps: float, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.interval = 1.0 / fps
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None

    def wait(self) -> float:
        """Sleep until the next tick; return the tick's time."""
        now = self._clock()
        if self._next is None or now - self._next > self.interval:
            self._next = now
        elif self._next > now:
            self._sleep(self._next - now)
        tick = self._next
        self._next = tick + self.interval
        return tick

    def reset(self) -> None:
        self._next = None
