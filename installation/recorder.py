"""Recording the dreamed output to MP4 without ever holding up the render loop.

`write` only puts the frame in a small bounded queue; a writer thread feeds the
encoder. If the encoder lags, frames are dropped (and counted) rather than queued
without end. The file is written under a temporary name beside the target and renamed
on `close`, so nothing half-written ever carries the final name. A write error (a full
disk) stops the recording, reports it once through `on_error`, and the show goes on.
"""

from __future__ import annotations

import errno
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from engine.errors import DreamwallError, check_range
from installation.atomic import temporary_beside
from installation.video_io import VideoWriter, check_video_output

log = logging.getLogger(__name__)

Clock = Callable[[], float]
ErrorCallback = Callable[[str], None]


class FrameWriter(Protocol):
    """What the recorder needs from an encoder (VideoWriter; fakes in tests)."""

    def write(self, rgb: np.ndarray) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


WriterFactory = Callable[[Path, float, tuple[int, int]], FrameWriter]

_STOP = object()


def describe_os_error(error: OSError, path: Path) -> str:
    if error.errno == errno.ENOSPC:
        return f"recording stopped: disk full while writing {path.name}"
    return f"recording stopped: cannot write {path.name}: {error.strerror or error}"


class Recorder:
    """One MP4 file being recorded: `write(rgb)` per frame, `close() -> path` at the end.

    realtime: when True, frames are repeated or skipped so the video runs at wall-clock
        speed whatever rate `write` is called at (live output); when False every frame
        written becomes one video frame (offline use, tests).
    """

    def __init__(
        self,
        path: Path,
        fps: float,
        size: tuple[int, int],
        *,
        realtime: bool = False,
        queue_size: int = 8,
        on_error: ErrorCallback | None = None,
        writer_factory: WriterFactory = VideoWriter,
        clock: Clock = time.monotonic,
    ) -> None:
        check_range("recording fps", fps, 1, 240)
        self.path = check_video_output(path, role="recording")
        self.fps = float(fps)
        self.size = (int(size[0]), int(size[1]))
        self.realtime = realtime
        self.frames_written = 0
        self.dropped = 0
        self.error: str | None = None
        self._on_error = on_error
        self._clock = clock
        self._started = clock()
        self._stopped_at: float | None = None
        self._enqueued = 0  # video frames promised to the writer (realtime bookkeeping)
        self._closed = False
        self._temp = temporary_beside(self.path, ".mp4")
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, queue_size))
        self._writer_factory = writer_factory
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

    def write(self, rgb: np.ndarray, block: bool = False) -> bool:
        """Hand over a frame; False when it was dropped or recording has stopped.

        Live output never blocks (a lagging encoder drops frames, counted); `block=True`
        waits for the encoder instead, for runs that promise an exact frame count.
        """
        if not self.active:
            return False
        repeats, due = 1, 0
        if self.realtime:
            due = int(self.elapsed_s * self.fps) + 1
            repeats = min(due - self._enqueued, int(self.fps))  # a long stall is not filled in full
            if repeats <= 0:
                return False  # called faster than the video's fps
        try:
            self._queue.put((rgb, repeats), block=block, timeout=30.0 if block else None)
        except queue.Full:
            self.dropped += 1
            return False
        self._enqueued = due if self.realtime else self._enqueued + 1
        return True

    def close(self, timeout: float = 30.0) -> Path | None:
        """Finish the file and give it its name; the path, or None if the recording failed."""
        if self._closed:
            return None if self.error else self.path
        self._closed = True
        self._stopped_at = self._clock()
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            pass  # the thread is stuck; reported below
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._fail(f"recording stopped: the encoder did not finish {self.path.name} within {timeout:g} s")
        if self.error is not None:
            self._temp.unlink(missing_ok=True)
            return None
        self._temp.replace(self.path)
        log.info("recorded %s: %d frames, %d dropped", self.path, self.frames_written, self.dropped)
        return self.path

    # -- writer thread ---------------------------------------------------------------------

    def _run(self) -> None:
        writer: FrameWriter | None = None
        try:
            writer = self._writer_factory(self._temp, self.fps, self.size)
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                rgb, repeats = item  # type: ignore[misc]
                frame = self._fit(rgb)
                for _ in range(repeats):
                    writer.write(frame)
                    self.frames_written += 1
            writer.close()
        except (OSError, DreamwallError) as error:
            if writer is not None:
                writer.abort()
            message = (describe_os_error(error, self.path) if isinstance(error, OSError)
                       else f"recording stopped: {error}")  # fmt: skip
            self._fail(message)
            self._drain()

    def _fit(self, rgb: np.ndarray) -> np.ndarray:
        """Frames of another size (display resized, preset changed) are scaled to the file's size."""
        if (rgb.shape[1], rgb.shape[0]) == self.size:
            return rgb
        return cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA)

    def _drain(self) -> None:
        """Empty the queue after a failure so no producer waits on it."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _fail(self, message: str) -> None:
        if self.error is not None:
            return
        self.error = message
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
    calls `toggle()` and `write(rgb)`; `hud_text()` is None while not recording.
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

    @property
    def recording(self) -> bool:
        return self._armed

    def toggle(self) -> None:
        if self._armed:
            self.stop()
        else:
            self._armed = True

    def write(self, rgb: np.ndarray) -> None:
        if not self._armed:
            return
        if self.recorder is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / recording_name(self._now())
            self.recorder = self._factory(path, self.fps, (rgb.shape[1], rgb.shape[0]), realtime=True,
                                          on_error=self._message)  # fmt: skip
        if not self.recorder.active:  # failed (disk full): stop, keep the show going
            self.stop()
            return
        self.recorder.write(rgb)

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
        if self.recorder is not None:
            return self.recorder.hud_text()
        return "REC" if self._armed else None

    def _message(self, text: str) -> None:
        if self._on_message is not None:
            self._on_message(text)
