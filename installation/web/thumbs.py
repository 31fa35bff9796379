"""Preset thumbnails for the panel's grid, taken from the show itself: no second dreamer.

Rendering every preset again (the contact sheet's way: a whole pipeline per preset) would
compete with the show for the CPU. Instead, once a preset has been on screen for
`SETTLE_S` (its feedback has built up), its newest dream becomes its thumbnail: kept in
memory, cached on disk across restarts, and taken again when the preset's file is newer
than the thumbnail (an edited preset looks different). Runs on the web thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from installation.common.atomic import atomic_write_bytes
from installation.web.server import preview_jpeg

log = logging.getLogger(__name__)

SETTLE_S = 5.0
THUMB_WIDTH = 160


class Thumbnails:
    """name -> JPEG bytes; `folder` None keeps them in memory only."""

    def __init__(self, folder: Path | None, preset_file: Callable[[str], Path | None],
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.folder, self.preset_file, self.clock = folder, preset_file, clock
        self._jpegs: dict[str, tuple[float, bytes]] = {}  # name -> (taken at, wall clock; jpeg)
        self._showing: tuple[str, float] | None = None  # (preset, since)

    def get(self, name: str) -> bytes | None:
        if name not in self._jpegs and self.folder is not None:
            path = self.folder / f"{name}.jpg"
            if path.is_file() and not self._stale(name, path.stat().st_mtime):
                self._jpegs[name] = (path.stat().st_mtime, path.read_bytes())
        entry = self._jpegs.get(name)
        return entry[1] if entry is not None else None

    def _stale(self, name: str, taken: float) -> bool:
        source = self.preset_file(name)
        try:
            return source is not None and source.stat().st_mtime > taken
        except OSError:
            return False

    def follow(self, status: dict[str, Any] | None, frame: tuple[int, np.ndarray] | None) -> bool:
        """Take the showing preset's thumbnail once it has settled; True when one was taken."""
        if not status or frame is None or status.get("blackout") or status.get("asleep") or status.get("frozen"):
            self._showing = None
            return False
        name, now = str(status.get("preset")), self.clock()
        if self._showing is None or self._showing[0] != name:
            self._showing = (name, now)
            return False
        if now - self._showing[1] < SETTLE_S or (self.get(name) is not None and not self._stale_cached(name)):
            return False
        jpeg = preview_jpeg(frame[1], THUMB_WIDTH)
        self._jpegs[name] = (time.time(), jpeg)
        if self.folder is not None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(self.folder / f"{name}.jpg", jpeg)
            except OSError as error:  # a full disk costs the cache, never the show
                log.warning("web panel: thumbnail of %s not cached: %s", name, error)
        return True

    def versions(self, names: list[str]) -> dict[str, int]:
        """name -> when its thumbnail was taken, for the page to reload only the changed ones."""
        return {name: int(self._jpegs[name][0]) for name in names if self.get(name) is not None}

    def _stale_cached(self, name: str) -> bool:
        return self._stale(name, self._jpegs[name][0])
