"""A split render's work folder (`OUT.mp4.render/`): each chunk's frames, which chunks are finished, and
the stitched frames that are encoded at the end.

    manifest.json         the render's settings and its cut into chunks (a resume must match both)
    chunks.json           the chunks finished so far
    chunks/0003/000412.png  chunk 3's kept frames (its crossfade lead-in included, and each lead-in frame
                          with no dream in it: undreamt-000412.png)
    frames/000412.png     the stitched frames: links to a chunk's frame, or a crossfade of two

A chunk is whole or not at all: one interrupted half-way is dreamt again from its warm-up,
which gives the same frames. A resume decodes every frame of a finished chunk before it
trusts it, and dreams a damaged chunk again rather than refusing the resume.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

from engine.errors import DreamwallError
from installation.common.atomic import atomic_write_text
from installation.outputs.images import read_image, write_encoded, write_image
from installation.outputs.video_io import FRAME_PATTERN
from installation.rendering.split.plan import Chunk, ChunkPlan, crossfaded
from installation.rendering.work_folder import (
    CHUNKS_FOLDER,
    STATE_FILE,
    WorkFolder,
    brief,
    kept_image_problem,
    read_object,
)

log = logging.getLogger(__name__)

CHUNK_STATE = "chunks.json"


class ChunkFolder:
    def __init__(self, output: Path) -> None:
        self.work = WorkFolder(output)
        self.path = self.work.path
        self.chunks = self.path / CHUNKS_FOLDER

    def chunk_path(self, chunk: Chunk) -> Path:
        return self.chunks / f"{chunk.index:04d}"

    def frame_path(self, chunk: Chunk, index: int) -> Path:
        return self.chunk_path(chunk) / (FRAME_PATTERN % index)

    def saved_cut(self) -> dict[str, int] | None:
        """The cut into chunks an earlier run of this render chose (a resume keeps it), or None when there is
        none that makes sense (the resume's manifest check then refuses a damaged one in one line)."""
        saved = read_object(self.path / "manifest.json")
        cut = saved.get("chunks") if saved is not None else None
        if not isinstance(cut, dict) or type(cut.get("chunk_frames")) is not int or cut["chunk_frames"] < 1:
            return None
        return cut

    def recorded(self, plan: ChunkPlan) -> set[int]:
        """Chunks the state file says are finished; a damaged state file refuses (one line)."""
        state = self.path / CHUNK_STATE
        if not state.is_file():
            return set()
        saved = read_object(state)
        finished = saved.get("finished", "unreadable") if saved is not None else "unreadable"
        if not isinstance(finished, list) or not all(type(k) is int and 0 <= k < len(plan.chunks) for k in finished):
            raise DreamwallError(f"{state} says chunks {brief(finished)} are finished, expected numbers from 0 to "
                                 f"{len(plan.chunks) - 1}; delete {self.path} and render again")  # fmt: skip
        return set(finished)

    def open(self, manifest: dict[str, object], plan: ChunkPlan, size: tuple[int, int], resume: bool) -> set[int]:
        """The finished chunks to keep (checked against this render's settings), or a fresh folder (none)."""
        self.work.check_real()
        if (self.path / STATE_FILE).is_file():
            raise DreamwallError(f"{self.path} holds an interrupted one-machine render: continue it without --ray "
                                 "(render --resume), or delete the folder to start over")  # fmt: skip
        finished = self.recorded(plan)
        if finished and not resume:
            raise DreamwallError(f"{self.path} holds {len(finished)} finished chunks of an earlier render; add "
                                 "--resume to continue it, or delete the folder to start over")  # fmt: skip
        if finished:
            self.work.check_manifest(manifest)
            intact = {k for k in finished if self._intact(plan.chunks[k], size)}
            log.info("resuming: %d of %d chunks are finished, %d to dream", len(intact), len(plan.chunks),
                     len(plan.chunks) - len(intact))  # fmt: skip
            return intact
        if resume:
            log.info("nothing to resume in %s; starting from the first chunk", self.path)
        shutil.rmtree(self.chunks, ignore_errors=True)
        self.work.write_manifest(manifest)
        self.chunks.mkdir()
        self._write_state(set())
        return set()

    def _intact(self, chunk: Chunk, size: tuple[int, int]) -> bool:
        lead_ins = [self.undreamt_path(chunk, index) for index in range(chunk.keep_from, chunk.first)]
        for path in [self.frame_path(chunk, index) for index in chunk.kept] + lead_ins:
            problem = kept_image_problem(path, size)
            if problem is not None:
                log.warning("chunk %d is dreamt again: %s", chunk.index, problem)
                return False
        return True

    def undreamt_path(self, chunk: Chunk, index: int) -> Path:
        return self.chunk_path(chunk) / ("undreamt-" + FRAME_PATTERN % index)

    def save(self, chunk: Chunk, index: int, png: bytes, undreamt: bytes | None = None) -> None:
        self.chunk_path(chunk).mkdir(exist_ok=True)
        if undreamt is not None:
            write_encoded(self.undreamt_path(chunk, index), undreamt)
        write_encoded(self.frame_path(chunk, index), png)

    def finish(self, chunk: Chunk, finished: set[int]) -> None:
        """Record `chunk` finished (after all its frames are written: a crash leaves a consistent state)."""
        finished.add(chunk.index)
        self._write_state(finished)

    def _write_state(self, finished: set[int]) -> None:
        atomic_write_text(self.path / CHUNK_STATE, json.dumps({"finished": sorted(finished)}))

    def stitch(self, plan: ChunkPlan) -> Path:
        """The frames of the whole render in order, in `frames/`: a link to the owning chunk's frame (no copy),
        or the crossfade of the two chunks that meet there."""
        frames = self.work.frames
        shutil.rmtree(frames, ignore_errors=True)
        frames.mkdir(parents=True)
        for index in range(plan.total):
            target = frames / (FRAME_PATTERN % index)
            meeting = plan.blend(index)
            if meeting is None:
                _link(self.frame_path(plan.owner(index), index), target)
                continue
            previous, following, share = meeting
            mixed = crossfaded(read_image(self.frame_path(previous, index)),
                               read_image(self.frame_path(following, index)), share,
                               read_image(self.undreamt_path(following, index)))  # fmt: skip
            write_image(target, mixed)
        return frames


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a filesystem without hard links
        shutil.copyfile(source, target)
