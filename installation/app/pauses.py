"""Why the dream is paused: a performer's freeze, a blackout, the closed hours; paused while any holds.

Three controls used to set the worker's one frozen flag each, and each undid the others:
a freeze toggled while the show slept unfroze the worker at night (it dreamt the last
frame on for nobody), and a wake forgot a freeze set before the night. Each reason is
now held apart and the worker is frozen exactly while at least one of them is on.
"""

from __future__ import annotations

from typing import Literal, Protocol

PauseReason = Literal["freeze", "blackout", "asleep"]


class Freezable(Protocol):
    def set_frozen(self, frozen: bool) -> None: ...


class Pauses:
    def __init__(self, worker: Freezable) -> None:
        self._worker = worker
        self._on: set[PauseReason] = set()

    def set(self, reason: PauseReason, on: bool) -> None:
        if on:
            self._on.add(reason)
        else:
            self._on.discard(reason)
        self._worker.set_frozen(bool(self._on))

    def toggle(self, reason: PauseReason) -> None:
        self.set(reason, reason not in self._on)

    def holds(self, reason: PauseReason) -> bool:
        return reason in self._on
