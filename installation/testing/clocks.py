"""A clock for tests: time moves only when the test moves it, so timing rules are checked without sleeping."""

from __future__ import annotations


class HandClock:
    """Call it for the time; set or add to `now` to move it (monotonic seconds by default)."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
