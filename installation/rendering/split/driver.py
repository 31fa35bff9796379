"""The split render's driver: hand the chunks still missing to the cluster, keep every frame the moment a
task yields it, then stitch the chunks in order and encode them with the source's audio.

Progress comes from the task results themselves (each kept frame, each chunk's start),
never from watching files. A stop (Ctrl-C, or `stop` in tests) cancels the running
chunks and keeps the finished ones: `--resume` dreams only the rest.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from installation.common.cli import start_done
from installation.outputs.video_io import FrameSource
from installation.outputs.video_writer import encode_frames
from installation.rendering.split.folder import ChunkFolder
from installation.rendering.split.plan import Chunk, ChunkPlan
from installation.rendering.split.task import ChunkFn, ChunkItem, ChunkJob, DreamtFrame, Finished, Started, dream_chunk
from installation.rendering.work_folder import render_manifest

log = logging.getLogger(__name__)

FarmProgressFn = Callable[[int, int, str], None]
"""(frames done, total, what the workers do) after every kept frame and every chunk start or end."""
StopFn = Callable[[int], bool]
"""Asked after each finished chunk with the count finished in this run; True interrupts (tests)."""


class Cluster(Protocol):
    description: str

    def slots(self, device: str) -> int: ...
    def submit(self, fn: ChunkFn, job: ChunkJob, chunks: list[Chunk]) -> dict[Any, Chunk]: ...
    def next_item(self, running: dict[Any, Chunk]) -> tuple[Any, ChunkItem | Finished]: ...
    def cancel(self, handles: list[Any]) -> None: ...


@dataclass(frozen=True)
class FarmResult:
    done: int  # frames of finished chunks
    total: int
    output: Path | None  # None while unfinished
    dreamt: tuple[int, ...]  # the chunks this run dreamt (a resume dreams only the missing ones)

    @property
    def finished(self) -> bool:
        return self.output is not None


class _Tally:
    """Frames done (owned frames of kept chunks, the crossfade lead-ins not counted twice) and busy chunks."""

    def __init__(self, plan: ChunkPlan, finished: set[int], slots: int, progress: FarmProgressFn | None) -> None:
        self.plan, self.slots, self.progress = plan, slots, progress
        self.done = sum(plan.chunks[k].owned for k in finished)
        self.busy: set[int] = set()

    def report(self) -> None:
        if self.progress is not None:
            self.progress(self.done, self.plan.total, f"{len(self.busy)}/{self.slots} workers busy")

    def frame(self, chunk: Chunk, index: int) -> None:
        if index >= chunk.first:
            self.done += 1


def _run_chunks(cluster: Cluster, fn: ChunkFn, job: ChunkJob, plan: ChunkPlan, folder: ChunkFolder,
                finished: set[int], tally: _Tally, stop: StopFn | None) -> bool:  # fmt: skip
    """Dream the chunks not in `finished`; False when stopped before all were."""
    missing = [chunk for chunk in plan.chunks if chunk.index not in finished]
    running = cluster.submit(fn, job, missing)
    ended = 0
    try:
        while running:
            handle, item = cluster.next_item(running)
            chunk = running[handle]
            if isinstance(item, Started):
                tally.busy.add(chunk.index)
                log.debug("chunk %d started on %s (pid %d)", chunk.index, item.host, item.pid)
            elif isinstance(item, DreamtFrame):
                folder.save(chunk, item.index, item.png, item.undreamt)
                tally.frame(chunk, item.index)
            else:
                del running[handle]
                tally.busy.discard(chunk.index)
                folder.finish(chunk, finished)
                ended += 1
                if stop is not None and stop(ended) and running:
                    return False
            tally.report()
        return True
    finally:
        if running:
            cluster.cancel(list(running))


def farm_render(source: FrameSource, output: Path, job: ChunkJob, plan: ChunkPlan, cluster: Cluster, *,
                resume: bool = False, stop: StopFn | None = None, progress: FarmProgressFn | None = None,
                keep_frames: bool = False, fn: ChunkFn = dream_chunk) -> FarmResult:  # fmt: skip
    """Dream the missing chunks on `cluster`, then stitch and encode; returns early (unfinished) when stopped."""
    manifest = {**render_manifest(source.info.path, plan.total, job.settings.manifest()), "chunks": plan.manifest()}
    folder = ChunkFolder(output)
    finished = folder.open(manifest, plan, job.settings.size, resume)
    start_done()
    log.info("%s on %s", plan.describe(), cluster.description)
    before = set(finished)
    tally = _Tally(plan, finished, cluster.slots(job.device), progress)
    tally.report()
    try:
        complete = _run_chunks(cluster, fn, job, plan, folder, finished, tally, stop)
    except BaseException:
        if not finished:  # nothing finished: leave nothing behind
            shutil.rmtree(folder.path, ignore_errors=True)
        raise
    dreamt = tuple(sorted(finished - before))
    if not complete:
        return FarmResult(tally.done, plan.total, None, dreamt)
    frames = folder.stitch(plan)
    encode_frames(frames, source.info.fps, output, audio_from=source.info.path if source.info.has_audio else None)
    if not keep_frames:
        shutil.rmtree(folder.path)
    return FarmResult(plan.total, plan.total, output, dreamt)
