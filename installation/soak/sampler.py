"""The soak's sampler: polls dream progress for stalls, records a Sample every few seconds, ends the run."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from installation.soak.judge import Sample, StallMeter, missing_threads, read_process, sample_from, table_row

log = logging.getLogger(__name__)

POLL_S = 0.25  # how often dream progress is checked between samples


class Soaked(Protocol):
    """What the sampler needs of the app (installation.app.app.App)."""

    def snapshot(self) -> dict[str, Any]: ...

    def stop(self) -> None: ...


class Sampler:
    """Polls dream progress often (stalls) and records a Sample every `sample_s`; stops the app at the end."""

    def __init__(self, app: Soaked, duration_s: float, sample_s: float, stop: threading.Event,
                 echo: Callable[[str], None] | None) -> None:  # fmt: skip
        self._app = app
        self._duration_s = duration_s
        self._sample_s = sample_s
        self._stop = stop
        self._echo = echo
        self.samples: list[Sample] = []
        self.stalls = StallMeter()
        self.last_snapshot: dict[str, Any] | None = None
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)

    def _run(self) -> None:
        next_sample = self.started
        try:
            while not self._stop.is_set():
                t = time.monotonic() - self.started
                snapshot = self._app.snapshot()
                self.last_snapshot = snapshot
                self.stalls.update(t, int(snapshot["frames"]["dreamed"]), bool(snapshot["asleep"]))
                if time.monotonic() >= next_sample:
                    next_sample += self._sample_s
                    self._record(t, snapshot)
                if t >= self._duration_s:
                    break
                self._stop.wait(POLL_S)
        except Exception:  # a broken sampler must still end the soak, and say why
            log.exception("soak sampler failed")
        finally:
            self._stop.set()
            self._app.stop()

    def _record(self, t: float, snapshot: dict[str, Any]) -> None:
        sample = sample_from(t, snapshot, read_process(), missing_threads())
        self.samples.append(sample)
        if self._echo is not None:
            self._echo(table_row(sample))
