"""Chunk tasks that fail on demand: a worker that dies once half-way (Ray's retry), one that dies every time
(retries run out), and a chunk that raises an error of its own (not retried).

`CrashOnce(marker, chunk)` dreams like installation.rendering.split.task.dream_chunk, but
the first time `chunk` has yielded `after` frames while the marker file exists, it removes
the marker and kills its own process (os._exit: no exception, no clean-up, as a worker
lost to the OOM killer or a pulled cable). The marker makes "once" hold across the
worker processes Ray starts, and across the retry.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.errors import DreamwallError
from installation.rendering.split.plan import Chunk
from installation.rendering.split.task import ChunkItem, ChunkJob, DreamtFrame, dream_chunk


@dataclass(frozen=True)
class CrashOnce:
    marker: Path
    chunk: int
    after: int = 2  # frames yielded before the crash

    def __call__(self, job: ChunkJob, chunk: Chunk) -> Iterator[ChunkItem]:
        yielded = 0
        for item in dream_chunk(job, chunk):
            yield item
            yielded += isinstance(item, DreamtFrame)
            if chunk.index == self.chunk and yielded == self.after and self.marker.exists():
                self.marker.unlink()
                os._exit(1)


@dataclass(frozen=True)
class CrashAlways:
    """Chunk `chunk` kills its worker before its first frame, every attempt."""

    chunk: int

    def __call__(self, job: ChunkJob, chunk: Chunk) -> Iterator[ChunkItem]:
        for item in dream_chunk(job, chunk):
            if chunk.index == self.chunk:
                os._exit(1)
            yield item


@dataclass(frozen=True)
class RaisesOnChunk:
    """Chunk `chunk` raises a DreamwallError (as a node that cannot read the input does)."""

    chunk: int
    message: str

    def __call__(self, job: ChunkJob, chunk: Chunk) -> Iterator[ChunkItem]:
        if chunk.index == self.chunk:
            raise DreamwallError(self.message)
        yield from dream_chunk(job, chunk)
