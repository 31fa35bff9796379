"""The status file: a small JSON snapshot rewritten atomically about once a second.

Kiosk monitoring (and our tests) read it: preset, fps, frame counts, source health,
uptime, last error. Writing never raises into the show: a full disk is logged once.
The app writes it from its housekeeping thread (installation.ops.housekeeping): the
atomic write ends in an fsync, which must not stall the 60 Hz display loop.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from installation.common.atomic import atomic_write_text, check_output_path

log = logging.getLogger(__name__)


def check_status_path(path: Path) -> Path:
    """At the start, one line (exit 2) for a --status-file that can never be written (a folder, a missing or
    unwritable folder), instead of a show that starts and then logs the failure every second."""
    return check_output_path(path, role="--status-file")


class StatusFile:
    def __init__(self, path: Path | None, interval_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.interval_s = interval_s
        self._clock = clock
        self._last_write: float | None = None
        self._failing = False

    def maybe_write(self, snapshot: Callable[[], Mapping[str, Any]], force: bool = False) -> bool:
        """Write if the interval has passed (or `force`); True when a file was written."""
        if self.path is None:
            return False
        now = self._clock()
        if not force and self._last_write is not None and now - self._last_write < self.interval_s:
            return False
        self._last_write = now
        try:
            atomic_write_text(self.path, json.dumps(snapshot(), indent=2, sort_keys=True, default=str) + "\n")
        except OSError as error:
            if not self._failing:
                log.error("cannot write status file %s: %s (will keep trying)", self.path, error)
            self._failing = True
            return False
        if self._failing:
            log.info("status file %s writable again", self.path)
        self._failing = False
        return True


def read_status(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())
