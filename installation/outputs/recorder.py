"""Recording the dreamed output to MP4 without ever holding up the render loop.

`write` hands a frame to the recorder's own thread through a one-frame slot: the
newest frame wins, so a lagging encoder replaces (and counts) frames it has not taken
yet instead of queueing them. A frame can be a finished RGB array or a `LazyFrame`
(e.g. the renderer's grab of its screen), converted to RGB on the recorder thread, so
the display thread only pays for a surface copy. The file is written under a
temporary name beside the target and renamed on `close`, so nothing half-written ever
carries the final name; a show that crashes keeps what was written, playable, as
NAME.partial.mp4 (`close_partial`, logged with its path). A write error (a full disk) stops the recording, reports it
once through `on_error`, and the show goes on.
"""

from __future__ import annotations

import errno
import functools
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from engine.errors import DreamwallError, check_range
from engine.framing import check_fit, frame_into
from installation.common.atomic import temporary_beside
from installation.outputs.video_writer import VideoWriter, check_video_output

log = logging.getLogger(__name__)

Clock = Callable[[], float]
ErrorCallback = Callable[[str], None]


class FrameWriter(Protocol):
    """What the recorder needs from an encoder (VideoWriter; fakes in tests)."""

    def write(self, rgb: np.ndarray) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


@runtime_checkable
class LazyFrame(Protocol):
    """A frame whose RGB conversion is left to the recorder thread (the display thread only copies)."""

    @property
    def size(self) -> tuple[int, int]: ...  # (width, height)

    def __call__(self) -> np.ndarray: ...  # RGB uint8 HxWx3


FrameLike = np.ndarray | LazyFrame
WriterFactory = Callable[[Path, float, tuple[int, int]], FrameWriter]


def frame_size(frame: FrameLike) -> tuple[int, int]:
    """(width, height) without converting a lazy frame."""
    if isinstance(frame, np.ndarray):
        return int(frame.shape[1]), int(frame.shape[0])
    return frame.size


def describe_os_error(error: OSError, path: Path) -> str:
    if error.errno == errno.ENOSPC:
        return f"recording stopped: disk full while writing {path.name}"
    return f"recording stopped: cannot write {path.name}: {error.strerror or error}"


class Recorder:
    """One MP4 file being recorded: `write(frame)` per frame, `close() -> path` at the end.

    realtime: when True, frames are repeated or skipped so the video runs at wall-clock
        speed whatever rate `write` is called at (live output); when False every frame
        taken by the encoder becomes one video frame (offline use: write with block=True).
    fit: how a frame of another size than the file's (a resized window, a replugged camera)
        meets it (engine.framing): fill crops, fit bars, stretch changes its aspect.
    """

    def __init__(
        self,
        path: Path,
        fps: float,
        size: tuple[int, int],
        *,
        realtime: bool = False,
        on_error: ErrorCallback | None = None,
        writer_factory: WriterFactory | None = None,
        clock: Clock = time.monotonic,
        fit: str = "fill",
    ) -> None:
        check_range("recording fps", fps, 1, 240)
        self.fit = check_fit(fit)
        self.path = check_video_output(path, role="recording")
        self.fps = float(fps)
        self.size = (int(size[0]), int(size[1]))
        self.realtime = realtime
        self.frames_written = 0
        self.dropped = 0  # frames replaced by a newer one before the encoder took them
        self.conversions = 0  # lazy frames converted (on the recorder thread)
        self.error: str | None = None
        self.codec: str | None = None  # the encoder the writer chose (VideoWriter.codec), once started
        self.kept: Path | None = None  # the finished file's path, once closed
        self._on_error = on_error
        self._clock = clock
        self._started = clock()
        self._stopped_at: float | None = None
        self._enqueued = 0  # video frames promised to the writer (realtime bookkeeping)
        self._closed = False
        self._stopping = False
        self._temp = temporary_beside(self.path, ".mp4")
        self._slot: tuple[FrameLike, int] | None = None  # (frame, repeats): the newest frame wins
        self._changed = threading.Condition()
        # live output takes the fast encoder settings (and a hardware encoder where one opens)
        self._writer_factory = writer_factory or functools.partial(VideoWriter, live=realtime)
        self._thread = threading.Thread(target=self._run, name=f"recorder-{self.path.name}", daemon=True)
        self._thread.start()
        log.info("recording to %s (%dx%d, %g fps)", self.path, *self.size, self.fps)

    @property
    def active(self) -> bool:
        return not self._closed and self.error is None

    @property
    def elapsed_s(self) -> float:
        """Wall-clock time since the recording started (the HUD's counter)."""
        end = self._stopped_at if self._stopped_at is not None else self._clock()
        return max(0.0, end - self._started)

    def hud_text(self) -> str:
        seconds = int(self.elapsed_s)
        text = f"REC {self.path.name} {seconds // 60:02d}:{seconds % 60:02d}"
        return f"{text} ({self.dropped} dropped)" if self.dropped else text

    def _due(self) -> int:
        """Video frames owed by now (realtime), at most one second's worth after a stall."""
        due = int(self.elapsed_s * self.fps) + 1
        return min(due - self._enqueued, int(self.fps))

    def wants_frame(self) -> bool:
        """Whether a frame written now would be used: lets the live loop grab at most at `fps`."""
        return self.active and (not self.realtime or self._due() > 0)

    def write(self, frame: FrameLike, block: bool = False) -> bool:
        """Hand over a frame; False when it is not needed (faster than fps) or recording stopped.

        Live output never blocks: a frame the encoder has not taken yet is replaced
        (counted in `dropped`; in realtime mode its video time goes to the newer frame).
        `block=True` waits until the encoder took the previous frame instead, for runs
        that promise an exact frame count.
        """
        if not self.active:
            return False
        repeats = 1
        if self.realtime:
            repeats = self._due()
            if repeats <= 0:
                return False  # called faster than the video's fps
        with self._changed:
            if block:
                self._changed.wait_for(lambda: self._slot is None or self.error is not None, timeout=30.0)
            if self.error is not None:
                return False
            self._enqueued += repeats
            if self._slot is not None:
                self.dropped += 1
                if self.realtime:  # the replaced frame's video time goes to this one
                    repeats = min(repeats + self._slot[1], int(self.fps))
            self._slot = (frame, repeats)
            self._changed.notify_all()
        return True

    @property
    def partial_path(self) -> Path:
        """Where `close_partial` keeps a recording cut short by a crash: clip.mp4 -> clip.partial.mp4."""
        return self.path.with_name(f"{self.path.stem}.partial{self.path.suffix}")

    def close(self, timeout: float = 30.0) -> Path | None:
        """Finish the file and give it its name; the path, or None if the recording failed."""
        if self._closed:
            return self.kept
        if self._finish(self.path, timeout):
            log.info("recorded %s: %d frames, %d dropped", self.path, self.frames_written, self.dropped)
            return self.path
        return None

    def close_partial(self, timeout: float = 30.0) -> Path | None:
        """The show crashed: finish what was written (it plays) beside the asked name, and log where it is.

        Not under the asked name, which promises the whole run; None when nothing was written.
        """
        if self._closed:
            return None
        path = self.partial_path
        if self._finish(path, timeout) and self.frames_written == 0:  # nothing to see: no file
            path.unlink()
            self.kept = None
        if self.kept is not None:
            log.warning("the show stopped on an error: the partial recording (%d frames) is kept in %s",
                        self.frames_written, path)  # fmt: skip
            return path
        return None

    def _finish(self, target: Path, timeout: float) -> bool:
        """Close the encoder and rename the file to `target`; False (file removed) when the recording failed."""
        self._closed = True
        self._stopped_at = self._clock()
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._fail(f"recording stopped: the encoder did not finish {self.path.name} within {timeout:g} s")
        if self.error is not None:
            self._temp.unlink(missing_ok=True)
            return False
        self._temp.replace(target)
        self.kept = target
        return True

    # -- writer thread ---------------------------------------------------------------------

    def _take(self) -> tuple[FrameLike, int] | None:
        """The newest frame, or None once closing with nothing left to write."""
        with self._changed:
            self._changed.wait_for(lambda: self._slot is not None or self._stopping)
            item, self._slot = self._slot, None
            self._changed.notify_all()  # a blocked writer may go on
            return item

    def _run(self) -> None:
        writer: FrameWriter | None = None
        try:
            writer = self._writer_factory(self._temp, self.fps, self.size)
            self.codec = getattr(writer, "codec", None)
            while (item := self._take()) is not None:
                frame, repeats = item
                rgb = self._fit(self._convert(frame))
                for _ in range(repeats):
                    writer.write(rgb)
                    self.frames_written += 1
            writer.close()
        except (OSError, DreamwallError) as error:
            if writer is not None:
                writer.abort()
            message = (describe_os_error(error, self.path) if isinstance(error, OSError)
                       else f"recording stopped: {error}")  # fmt: skip
            self._fail(message)

    def _convert(self, frame: FrameLike) -> np.ndarray:
        if isinstance(frame, np.ndarray):
            return frame
        self.conversions += 1
        return frame()

    def _fit(self, rgb: np.ndarray) -> np.ndarray:
        """Frames of another size (display resized, camera replugged) meet the file's size by the fit rule."""
        if (rgb.shape[1], rgb.shape[0]) == self.size:
            return rgb
        return frame_into(rgb, self.size, self.fit)

    def _fail(self, message: str) -> None:
        with self._changed:
            if self.error is not None:
                return
            self.error = message
            self._slot = None
            self._changed.notify_all()  # nobody waits on a dead encoder
        log.error("%s", message)
        if self._on_error is not None:
            try:
                self._on_error(message)
            except Exception:  # a broken HUD callback must not take the recorder thread down
                log.exception("recording error callback failed")


def recording_name(now: datetime | None = None, prefix: str = "dreamwall", suffix: str = ".mp4") -> str:
    """dreamwall-20250131-183005.mp4: sorts by time, safe on every file system."""
    return f"{prefix}-{(now or datetime.now()).strftime('%Y%m%d-%H%M%S')}{suffix}"


class RecordToggle:
    """The `record` action: toggles a Recorder on and off, naming files by time in `folder`.

    The size is taken from the first frame after switching on, so the live loop only
    calls `toggle()` and `capture(grab)` each tick; `hud_text()` is None while not recording.
    """

    def __init__(
        self,
        folder: Path,
        fps: float,
        *,
        on_message: ErrorCallback | None = None,
        recorder_factory: Callable[..., Recorder] = Recorder,
        now: Callable[[], datetime] = datetime.now,
    ) -> None:
        self.folder = Path(folder)
        self.fps = fps
        self._on_message = on_message
        self._factory = recorder_factory
        self._now = now
        self._armed = False
        self.recorder: Recorder | None = None
        self.last_path: Path | None = None
        self.grabs = 0  # frames taken from the display (at most `fps` a second)

    @property
    def recording(self) -> bool:
        return self._armed

    def toggle(self) -> None:
        if self._armed:
            self.stop()
        else:
            self._armed = True

    def capture(self, grab: Callable[[], FrameLike]) -> bool:
        """Once per display tick: call `grab` only when the video needs a frame now.

        The display runs at 40-60 fps and the video at `fps`; grabbing every tick would
        copy a full-size screen for frames the encoder then skips. True when grabbed.
        """
        if not self._armed or (self.recorder is not None and not self.recorder.wants_frame()):
            if self.recorder is not None and not self.recorder.active:
                self.stop()  # failed (disk full): stop, keep the show going
            return False
        self.grabs += 1
        self.write(grab())
        return True

    def write(self, frame: FrameLike) -> None:
        if not self._armed:
            return
        if self.recorder is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / recording_name(self._now())
            self.recorder = self._factory(path, self.fps, frame_size(frame), realtime=True, on_error=self._message)
        if not self.recorder.active:  # failed (disk full): stop, keep the show going
            self.stop()
            return
        self.recorder.write(frame)

    def stop(self) -> Path | None:
        self._armed = False
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return None
        path = recorder.close()
        if path is not None:
            self.last_path = path
            self._message(f"saved {path.name} ({recorder.frames_written} frames)")
        return path

    def hud_text(self) -> str | None:
        """For the status file: "REC name 01:15" (with drops), "REC" before the first frame."""
        if self.recorder is not None:
            return self.recorder.hud_text()
        return "REC" if self._armed else None

    def hud_state(self) -> tuple[str, float, int] | None:
        """(file name, seconds, dropped) for the HUD's REC line; None when not recording."""
        if self.recorder is not None:
            return self.recorder.path.name, self.recorder.elapsed_s, self.recorder.dropped
        return ("starting", 0.0, 0) if self._armed else None

    def _message(self, text: str) -> None:
        if self._on_message is not None:
            self._on_message(text)
