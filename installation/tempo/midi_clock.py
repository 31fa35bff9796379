"""MIDI clock on the MIDI input: 24 pulses per quarter note, start/stop/continue and song position.

The MIDI input hands every timing message here on its own thread (`feed`); each tick is
stamped on arrival with the injected monotonic clock. The tempo is the least-squares
slope over the last two beats of ticks (a moving fit: every tick counts, so one late
tick moves it little). The position counts the ticks played since Start (the first
tick after Start or Continue is where the song stands), so a stopped transport holds
the beat still and Song Position Pointer moves it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from engine.beats import DEFAULT_BEATS_PER_BAR, fit_interval
from engine.bounds import BOUNDS
from installation.tempo.clock import BeatState

PPQN = 24
WINDOW = 2 * PPQN  # ticks in the fit
MIN_TICKS = PPQN // 4  # a first tempo after a sixteenth note
LOST_S = 1.0  # no tick for this long: the clock is gone (a stopped clock holds until it plays again)
RESTART_GAP_S = 60.0 / BOUNDS["tempo"].low / PPQN * 4  # a pause longer than 4 ticks at 20 BPM: fit afresh


class MidiClock:
    name = "midi"

    def __init__(self, clock: Callable[[], float] = time.monotonic, beats_per_bar: int = DEFAULT_BEATS_PER_BAR,
                 window: int = WINDOW) -> None:  # fmt: skip
        self._clock = clock
        self.beats_per_bar = beats_per_bar
        self._lock = threading.Lock()
        self._ticks: deque[float] = deque(maxlen=window)
        self._position = -1  # ticks since Start; the next tick lands on position + 1
        self._playing = True  # a clock without Start (many boxes just send ticks) runs
        self._stopped = False  # by a Stop message: holds the beat even after the ticks cease
        self._last_tick: float | None = None

    def feed(self, message: Any) -> None:
        """One mido message of installation.controls.midi.CLOCK_TYPES, as it arrives."""
        now = self._clock()
        kind = message.type
        with self._lock:
            if kind == "clock":
                if self._last_tick is not None and now - self._last_tick > RESTART_GAP_S:
                    self._ticks.clear()
                self._ticks.append(now)
                self._last_tick = now
                if self._playing:
                    self._position += 1
            elif kind == "start":
                self._position, self._playing, self._stopped = -1, True, False
            elif kind == "continue":
                self._playing, self._stopped = True, False
            elif kind == "stop":
                self._playing, self._stopped = False, True
            elif kind == "songpos":  # in MIDI beats (sixteenth notes, 6 ticks); sent while stopped
                self._position = message.pos * (PPQN // 4) - 1

    def bpm(self) -> float | None:
        with self._lock:
            return self._bpm()

    def _bpm(self) -> float | None:
        if len(self._ticks) < MIN_TICKS:
            return None
        interval = fit_interval(list(self._ticks))
        return 60.0 / (interval * PPQN) if interval > 0 else None

    def reading(self, now: float) -> BeatState | None:
        with self._lock:
            bpm = self._bpm()
            if bpm is None or self._last_tick is None:
                return None
            if now - self._last_tick > LOST_S and not self._stopped:
                return None
            position = max(self._position, 0)
            if self._playing and self._position >= 0:  # between ticks: glide, at most to the next tick
                position += min(1.0, max(0.0, (now - self._last_tick) * bpm / 60.0 * PPQN))
            return BeatState(bpm, position / PPQN, self.beats_per_bar, self._playing, self.name, now)
