"""The soak's sampler: polls dreams, wakes and the status file, records a Sample every few seconds, ends the run."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from installation.dreaming.settings import Dream
from installation.soak.judge import Sample, StallMeter, missing_threads, read_process, sample_from, table_row
from installation.soak.wakes import DreamSeen, WakeWatch

log = logging.getLogger(__name__)

POLL_S = 0.25  # how often dream progress is checked between samples


class NewestDream(Protocol):
    def latest(self) -> Dream | None: ...


class Soaked(Protocol):
    """What the sampler needs of the app (installation.app.app.App)."""

    @property
    def worker(self) -> NewestDream: ...

    def snapshot(self) -> dict[str, Any]: ...

    @property
    def asleep(self) -> bool: ...


class Sampler:
    """Polls often (stalls, wakes, status file) and records a Sample every `sample_s`; at the end calls `end`.

    `started`: the soak's time 0 (time.monotonic()), shared with the compressed day's clock.
    """

    def __init__(self, app: Soaked, duration_s: float, sample_s: float, stop: threading.Event,
                 echo: Callable[[str], None] | None, end: Callable[[], None], status_file: Path | None = None,
                 started: float | None = None) -> None:  # fmt: skip
        self._app = app
        self._duration_s = duration_s
        self._sample_s = sample_s
        self._stop = stop
        self._echo = echo
        self._end = end
        self._status_file = status_file
        self.samples: list[Sample] = []
        self.stalls = StallMeter()
        self.status_gaps = StallMeter()  # the status file's modification time plays the dream count
        self.wakes = WakeWatch()
        self.last_snapshot: dict[str, Any] | None = None
        self.started = time.monotonic() if started is None else started
        self.thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)

    def _run(self) -> None:
        next_sample = self.started
        t = 0.0
        try:
            while not self._stop.is_set():
                t = time.monotonic() - self.started
                snapshot = self._app.snapshot()
                self.last_snapshot = snapshot
                self._poll(t, snapshot)
                if time.monotonic() >= next_sample:
                    next_sample += self._sample_s
                    self._record(t, snapshot)
                if t >= self._duration_s:
                    break
                self._stop.wait(POLL_S)
        except Exception:  # a broken sampler must still end the soak, and say why
            log.exception("soak sampler failed")
        finally:
            self.wakes.finish(t)
            self._stop.set()
            self._end()

    def _poll(self, t: float, snapshot: dict[str, Any]) -> None:
        asleep, frozen = bool(snapshot["asleep"]), bool(snapshot["frozen"])
        self.stalls.update(t, int(snapshot["frames"]["dreamed"]), asleep or frozen)
        self.wakes.update(t, asleep, frozen, self._dream_seen(), str(snapshot["source"]["state"]))
        if self._status_file is not None:
            try:
                written = self._status_file.stat().st_mtime_ns
            except OSError:  # not written yet, or between the rename's two names: the gap goes on
                written = 0
            self.status_gaps.update(t, written)

    def _dream_seen(self) -> DreamSeen | None:
        dream = self._app.worker.latest()
        if dream is None:
            return None
        return DreamSeen(dream.mode, dream.source_timestamp - self.started, dream.timestamp - self.started)

    def _record(self, t: float, snapshot: dict[str, Any]) -> None:
        missing = missing_threads()
        if self._app.asleep:  # it fell asleep since the snapshot: its capture was closed on purpose
            missing = ()
        sample = sample_from(t, snapshot, read_process(), missing)
        self.samples.append(sample)
        if self._echo is not None:
            self._echo(table_row(sample))
