"""Tap tempo: a key or a pad pressed on the beat; the tempo from the last taps in a row."""

from __future__ import annotations

from collections import deque

from engine.beats import fit_interval
from engine.bounds import BOUNDS

KEEP = 8  # the last eight taps: enough to average a human's wobble, few enough to follow a change
GAP_S = 60.0 / BOUNDS["tempo"].low + 0.1  # a longer pause than the slowest tempo's beat starts a new series


class TapTempo:
    """Not thread-safe: the show's main thread feeds it (taps arrive as Actions)."""

    def __init__(self, keep: int = KEEP, gap_s: float = GAP_S) -> None:
        self._taps: deque[float] = deque(maxlen=keep)
        self._gap_s = gap_s

    def add(self, now: float) -> bool:
        """One tap at `now`; True when it starts a new series (the first, or after a pause)."""
        fresh = not self._taps or not 0.0 < now - self._taps[-1] <= self._gap_s
        if fresh:
            self._taps.clear()
        self._taps.append(now)
        return fresh

    def bpm(self) -> float | None:
        """The tempo of the series so far (two taps give a first guess), None outside 20-999 BPM."""
        if len(self._taps) < 2:
            return None
        interval = fit_interval(list(self._taps))
        if interval <= 0:
            return None
        bpm = 60.0 / interval
        bound = BOUNDS["tempo"]
        return bpm if bound.low <= bpm <= bound.high else None
