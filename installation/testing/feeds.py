"""A deterministic camera for tests, benchmarks and picture scripts: fixed frames, strictly in order.

The newest-frame-wins capture drops frames a slow dreamer has not taken; a test that compares
dreams (seeding, composition strips) needs every frame dreamt, one after the other.
"""

from __future__ import annotations

import threading

import numpy as np

from installation.sources.capture import Frame


class ListFeed:
    """Hands out `images` as frames 1, 2, ... in order; after the last, None (after a short wait)."""

    def __init__(self, images: list[np.ndarray], idle_wait: float = 0.01) -> None:
        self.frames = [Frame(image, seq, float(seq)) for seq, image in enumerate(images, start=1)]
        self._idle_wait = idle_wait
        self._idle = threading.Event()  # never set: a wait that cannot be woken early, and no busy spin

    def wait_newer(self, after_seq: int, timeout: float | None = None) -> Frame | None:
        if after_seq < len(self.frames):
            return self.frames[after_seq]
        self._idle.wait(min(timeout or 0.0, self._idle_wait))
        return None
