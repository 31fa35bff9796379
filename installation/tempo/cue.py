"""Preset changes that wait for the beat: `quantize: beat | bar` holds a change until the next line.

A change asked while one waits joins it (two `next` in one bar go two on, together, on the
line). The moves run with the line's own time, so the crossfade and the new entry's
duration count from the beat, not from the tick that noticed it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from engine.beats import next_boundary, unit_beats
from installation.tempo.clock import BeatState

Move = Callable[[float | None], object]
"""A playlist move (next, previous, select) given the moment it happens (None: now)."""


@dataclass
class Cue:
    beat: float  # where the moves land on the clock's timeline
    moves: list[Move] = field(default_factory=list)


class CuedChanges:
    def __init__(self) -> None:
        self.cue: Cue | None = None

    def ask(self, move: Move, mode: str, state: BeatState, now: float) -> float:
        """Hold `move` until the next beat or bar line after `now`; returns that beat."""
        if self.cue is None:
            self.cue = Cue(next_boundary(state.beat_at(now), unit_beats(mode, state.beats_per_bar)))
        self.cue.moves.append(move)
        return self.cue.beat

    def due(self, state: BeatState | None, now: float) -> tuple[list[Move], float | None]:
        """The moves whose line has come, with its time; all of them at once (None) when the clock has gone or
        stopped, since no line will come."""
        cue = self.cue
        if cue is None:
            return [], None
        if state is not None and state.playing:
            if state.beat_at(now) < cue.beat:
                return [], None
            self.cue = None
            return cue.moves, min(now, state.time_of(cue.beat))
        self.cue = None
        return cue.moves, None

    def seconds_left(self, state: BeatState | None, now: float) -> float | None:
        """Until the waiting change lands (for a loop that would otherwise sleep past it)."""
        if self.cue is None or state is None or not state.playing:
            return None
        return max(0.0, state.time_of(self.cue.beat) - now)
