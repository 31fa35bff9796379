"""The offline render's loop: dream every frame not yet finished, keep it, then encode with the audio.

Finished frames are kept in the work folder as they come, so an interrupted render
continues with `--resume` exactly where it stopped; at the end the frames are encoded
with the source's audio track and the work folder is removed.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import DreamwallError
from installation.common.cli import start_done
from installation.outputs.video_io import FrameSource
from installation.outputs.video_writer import encode_frames
from installation.rendering.frame_dreamer import FrameDreamer
from installation.rendering.work_folder import WorkFolder, render_manifest

log = logging.getLogger(__name__)

StopFn = Callable[[int], bool]
"""Asked before each frame with its index; True interrupts the render (tests, signals)."""
ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class RenderResult:
    done: int
    total: int
    output: Path | None  # None while unfinished

    @property
    def finished(self) -> bool:
        return self.output is not None


def _open_work(work: WorkFolder, manifest: dict[str, object], dreamer: FrameDreamer, total: int,
               resume: bool) -> int:  # fmt: skip
    """Frames already finished (checked against this render's settings), or a fresh work folder (0)."""
    work.check_real()
    if work.is_chunked():
        raise DreamwallError(f"{work.path} holds an interrupted render split into chunks: continue it with --ray "
                             "--resume, or delete the folder to start over")  # fmt: skip
    done = work.done(total)
    if done and not resume:
        raise DreamwallError(
            f"{work.path} holds {done} finished frames of an earlier render; add --resume to continue it, "
            "or delete the folder to start over"
        )
    if done:
        work.check_manifest(manifest)
        work.check_frames(done, dreamer.settings.size, dreamer.dream_size)
        log.info("resuming at frame %d of %d", done + 1, total)
        return done
    if resume:
        log.info("nothing to resume in %s; starting from the first frame", work.path)
    work.start(manifest)
    return 0


def _dream_frames(frames: Iterator[np.ndarray], work: WorkFolder, dreamer: FrameDreamer, done: int, total: int,
                  stop: StopFn | None, progress: ProgressFn | None) -> int | None:  # fmt: skip
    """Dream and keep frames `done`.. of `frames` (which starts one earlier when resuming); None when stopped."""
    if done:
        previous = next(frames, None)
        if previous is None:
            raise DreamwallError(f"cannot resume: the input has no frame {done} any more; delete {work.path} "
                                 "and render again")  # fmt: skip
        dreamer.continue_from(dreamer.take(previous), work.last_dream())
    for index, rgb in enumerate(frames, start=done):
        if index >= total:
            break
        if stop is not None and stop(index):
            return None
        shown, dreamed = dreamer(index, dreamer.take(rgb))
        try:
            work.save(index, shown, dreamed)
        except DreamwallError as error:  # a full disk: what is kept can be continued
            if index == 0:
                raise
            raise DreamwallError(f"{error}; {index} finished frames are kept in {work.path}: make room and "
                                 "run the same command with --resume") from None  # fmt: skip
        if progress is not None:
            progress(index + 1, total)
    return work.done(total)


def render(
    source: FrameSource,
    output: Path,
    dreamer: FrameDreamer,
    *,
    resume: bool = False,
    stop: StopFn | None = None,
    progress: ProgressFn | None = None,
    keep_frames: bool = False,
) -> RenderResult:
    """Dream every frame not yet finished, then encode; returns early (unfinished) when `stop` says so."""
    total = source.info.frame_count
    manifest = render_manifest(source.info.path, total, dreamer.settings.manifest())
    work = WorkFolder(output)
    done = _open_work(work, manifest, dreamer, total, resume)
    start_done()
    frames = source.frames(max(0, done - 1))
    try:
        finished = _dream_frames(frames, work, dreamer, done, total, stop, progress)
    except BaseException:
        if work.done(total) == 0:  # nothing finished: leave nothing behind
            shutil.rmtree(work.path, ignore_errors=True)
        raise
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
    if finished is None:
        return RenderResult(work.done(total), total, None)
    if finished < total:  # the source held fewer frames than counted (a truncated file)
        log.warning("the input ended after %d of %d counted frames", finished, total)
    audio = source.info.path if source.info.has_audio else None
    encode_frames(work.frames, source.info.fps, output, audio_from=audio)
    if not keep_frames:
        shutil.rmtree(work.path)
    return RenderResult(finished, total, output)
