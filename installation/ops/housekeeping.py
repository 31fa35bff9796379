"""Disk work off the display loop: a small thread for the file checks and the status-file write.

The 60 Hz loop must never wait on a disk (a stat or an fsync can take a slow SD card
tens of milliseconds). The housekeeping thread runs its chores (poll the hot reloader,
write the status file) every `interval_s`; what must happen on the show's own thread
(applying a reloaded preset, where the dispatcher runs) is handed back through
`hand_over` and run there by `run_handed()`, which the main loop calls every tick.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[], None]


class Latest(Generic[T]):
    """The newest value one thread publishes for another to read (one reference swap, never a queue)."""

    def __init__(self) -> None:
        self._value: T | None = None

    def put(self, value: T) -> None:
        self._value = value

    def get(self) -> T | None:
        return self._value


class Housekeeping:
    """Runs `chores` on its own thread every `interval_s`; hands jobs back to the show's thread."""

    def __init__(self, chores: Sequence[Job], interval_s: float = 0.25) -> None:
        self.interval_s = interval_s
        self._chores = tuple(chores)
        self._handed: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hand_over(self, job: Job) -> None:
        """From any thread: `job` runs on the show's thread at its next `run_handed()`."""
        self._handed.put(job)

    def run_handed(self) -> int:
        """On the show's thread: run what was handed over, oldest first; how many ran."""
        ran = 0
        while True:
            try:
                job = self._handed.get_nowait()
            except queue.Empty:
                return ran
            job()
            ran += 1

    def run_chores(self) -> None:
        """One round; a failing chore is logged and the others still run (the show must not lose them)."""
        for chore in self._chores:
            try:
                chore()
            except Exception:
                log.exception("housekeeping chore failed; will try again")

    def start(self) -> Housekeeping:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="housekeeping", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.run_chores()

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the thread (its round in progress may finish first, for up to `timeout_s`); idempotent.

        A shutdown never waits longer: a chore stuck on a disk is left behind (the thread is a daemon).
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("housekeeping still busy after %g s; shutting down without it", timeout_s)
            self._thread = None
