"""Where frames come from: one small read hook, and the parser for `--source`.

Every source (camera, video file, stream, the demo, a test's synthetic camera) has the
same three calls, so the capture thread and the tests never care which one it is:
`open()` (may raise), `read()` (RGB uint8 HWC, or None / an exception on failure)
and `close()` (idempotent).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import cv2
import numpy as np

from engine.errors import DreamwallError, did_you_mean
from installation.common.cli import c_stderr_quiet
from installation.common.rates import Clock, Pacer

if TYPE_CHECKING:
    from installation.sources.cameras.modes import VideoCaptureLike
    from installation.sources.cameras.settings import CameraSettings

logger = logging.getLogger(__name__)

URL_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")
DEMO = "demo"
NAME_PREFIX = "name:"
CAMERA_PATH_PREFIXES = ("/dev/video", "/dev/v4l/by-id/", "/dev/v4l/by-path/")
SOURCE_HELP = ("a camera index (0, 1, ...), a camera device (/dev/video2, /dev/v4l/by-id/...), 'name:C920', "
               "a video file, a URL (rtsp://, http://...), a GStreamer pipeline or 'demo'")


@runtime_checkable
class FrameSource(Protocol):
    """The read hook (DESIGN.md rule 7)."""

    description: str

    def open(self) -> None: ...

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...


def is_camera_spec(spec: str) -> bool:
    """Whether `--source spec` names a camera (index, /dev/video*, /dev/v4l/by-id|by-path/..., "name:...").

    Cameras differ from files and streams in what a show expects of them (mirror by default,
    mode negotiation, controls); this is the one place that tells them apart by the spec alone.
    """
    text = spec.strip()
    return text.isdigit() or text.startswith(CAMERA_PATH_PREFIXES) or text.lower().startswith(NAME_PREFIX)


def to_rgb(frame: np.ndarray) -> np.ndarray:
    """OpenCV's BGR / grey / BGRA frame -> RGB uint8 HWC."""
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


STREAM_OPEN_TIMEOUT_MS = 5000
STREAM_READ_TIMEOUT_MS = 2000
"""A stream that stops sending without closing (a stalled IP camera) fails a read after this long, and the
capture reconnects with backoff; FFmpeg's default is to wait for ever on a frozen frame."""
STREAM_PARAMS = (cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_OPEN_TIMEOUT_MS,
                 cv2.CAP_PROP_READ_TIMEOUT_MSEC, STREAM_READ_TIMEOUT_MS)  # fmt: skip
MAX_DRAIN = 4  # OpenCV's V4L2 backend queues 4 buffers by default
QUEUED_FRACTION = 0.3
"""A grab that returns within this fraction of a frame interval did not wait for the device: the frame
was already queued (old), so the next one is taken instead."""


def newest_frame(capture: VideoCaptureLike, fps: float, clock: Clock = time.monotonic) -> np.ndarray | None:
    """The newest frame the driver has, not the oldest it queued: grab while grabs return without waiting.

    A capture thread that fell behind for a moment (a busy CPU, a slow decode) otherwise reads
    the driver's queue of old frames one by one and stays that many frames late. Only the
    last grab is decoded (retrieve).
    """
    queued = QUEUED_FRACTION / (fps if 1.0 <= fps <= 240.0 else 30.0)
    for _ in range(MAX_DRAIN):
        started = clock()
        if not capture.grab():
            return None
        if clock() - started > queued:
            break
    ok, frame = capture.retrieve()
    return frame if ok and frame is not None else None


class SharedCapture:
    """One cv2.VideoCapture that a reader thread uses while another may close it.

    Releasing a capture while a read blocks in it (FFmpeg waiting on a stalled stream, a driver
    read) frees what that read still uses; so a close during a read only marks it, and the
    reader releases it when its read returns (bounded by the read timeout).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._capture: VideoCaptureLike | None = None
        self._reading = False
        self._release_after_read = False

    def hold(self, capture: VideoCaptureLike) -> None:
        with self._lock:
            previous, self._capture = self._capture, capture
            self._release_after_read = False
        if previous is not None:
            previous.release()

    @property
    def capture(self) -> VideoCaptureLike | None:
        return self._capture

    def read(self, read: Callable[[VideoCaptureLike], np.ndarray | None], description: str) -> np.ndarray | None:
        with self._lock:
            capture = self._capture
            if capture is None:
                raise ConnectionError(f"{description} is not open")
            self._reading = True
        try:
            return read(capture)
        finally:
            with self._lock:
                self._reading = False
                release = self._release_after_read and self._capture is capture
                if release:
                    self._capture, self._release_after_read = None, False
            if release:
                capture.release()

    def release(self) -> None:
        with self._lock:
            if self._reading:
                self._release_after_read = True
                return
            capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()


class OpenCVSource:
    """A cv2.VideoCapture: video file (looped, paced to its fps), URL or GStreamer pipeline.

    A stream (`newest=True`) opens with `params` (the open and read timeouts) and reads the newest
    frame it has; a file reads every frame at its own rate.
    """

    def __init__(
        self,
        target: int | str,
        description: str,
        api: int = cv2.CAP_ANY,
        loop: bool = False,
        size: tuple[int, int] | None = None,
        pace_fps: float | None = None,
        params: Sequence[int] = (),
        newest: bool = False,
    ) -> None:
        self.target = target
        self.description = description
        self._api = api
        self._loop = loop
        self._size = size
        self._pace_fps = pace_fps
        self._params = list(params)
        self._newest = newest
        self._fps = 0.0
        self._pacer: Pacer | None = None
        self._held = SharedCapture()

    def open(self) -> None:
        self.close()
        capture = cv2.VideoCapture(self.target, self._api, self._params)
        if not capture.isOpened():
            capture.release()
            raise ConnectionError(f"cannot open {self.description}")
        if self._size is not None:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self._size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self._size[1])
        self._fps = capture.get(cv2.CAP_PROP_FPS)
        if self._loop:
            # files decode as fast as the CPU allows: play them at their own rate instead
            fps = self._pace_fps or self._fps
            self._pacer = Pacer(fps if 0 < fps <= 240 else 30.0)
        self._held.hold(capture)

    def _read_from(self, capture: VideoCaptureLike) -> np.ndarray | None:
        if self._newest:
            return newest_frame(capture, self._fps)
        ok, frame = capture.read()
        if not ok and self._loop:
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = capture.read()
        return frame if ok else None

    def read(self) -> np.ndarray | None:
        frame = self._held.read(self._read_from, self.description)
        if frame is None:
            return None
        if self._pacer is not None:
            self._pacer.wait()
        return to_rgb(frame)

    def close(self) -> None:
        self._held.release()


def camera_available(index: int = 0) -> bool:
    """Whether camera `index` opens and delivers a frame (used to fall back to the demo)."""
    if sys.platform.startswith("linux") and not Path(f"/dev/video{index}").exists():
        return False  # skip OpenCV's warnings about a device that is not there
    capture = cv2.VideoCapture(index)
    try:
        return bool(capture.isOpened() and capture.read()[0])
    finally:
        capture.release()


def _gstreamer_source(spec: str, size: tuple[int, int] | None) -> OpenCVSource:
    if not cv2.videoio_registry.hasBackend(cv2.CAP_GSTREAMER):
        raise DreamwallError(
            "source looks like a GStreamer pipeline (it contains '!') but this OpenCV build has no GStreamer "
            "support (the opencv-python wheels do not); use a camera index, a file or a URL"
        )
    return OpenCVSource(spec, f"gstreamer '{spec}'", api=cv2.CAP_GSTREAMER, size=size)


def open_source(
    spec: str,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
    camera: CameraSettings | None = None,
    notify: Callable[[str], None] | None = None,
) -> FrameSource:
    """The source named by `--source` (not yet opened); DreamwallError for what cannot work.

    `size` (width, height) and `fps` apply to the demo; a camera takes its mode and controls from
    `camera` (its notices go to `notify`); files keep their own.
    """
    text = spec.strip()
    if text == DEMO:
        from installation.sources.demo import DemoSource

        return DemoSource(size=size or (640, 360), fps=fps or 30.0)
    if is_camera_spec(text):
        from installation.sources.cameras.settings import CameraSettings
        from installation.sources.cameras.source import CameraSource

        return CameraSource(text, camera or CameraSettings(), notify=notify)
    if text.lower().startswith("ndi:"):  # ndi:NAME and ndi://HOST:PORT
        from installation.sources.ndi import ndi_source

        return ndi_source(text)
    if text.lower().startswith(URL_SCHEMES):
        return OpenCVSource(text, f"stream {text}", api=cv2.CAP_FFMPEG, params=STREAM_PARAMS, newest=True)
    if "!" in text:
        return _gstreamer_source(text, size)
    path = Path(text).expanduser()
    if path.is_file():
        return _video_file_source(path)
    if path.exists():
        raise DreamwallError(f"source {spec!r} is not a file; expected {SOURCE_HELP}")
    if path.suffix or "/" in text:
        raise DreamwallError(f"video file not found: {path}")
    raise DreamwallError(f"unknown source {spec!r}{did_you_mean(text, [DEMO])}; expected {SOURCE_HELP}")


def check_readable(source: FrameSource) -> tuple[int, int]:
    """Open, read one frame and close: the (width, height) of a file or stream, for early errors."""
    try:
        with c_stderr_quiet():  # FFmpeg's own "moov atom not found" and kin: the error below says it
            source.open()
            frame = source.read()
    except ConnectionError as error:
        raise DreamwallError(f"cannot read from {source.description}: {error}") from None
    finally:
        source.close()
    if frame is None:
        raise DreamwallError(f"{source.description} delivered no frame (empty or unsupported format)")
    return frame.shape[1], frame.shape[0]


def _video_file_source(path: Path) -> OpenCVSource:
    """A file source, probed now: a file no frame can be read from never will (unlike a camera that
    drops, which the capture reconnects), so it is a usage error at start instead of an endless retry."""
    source = OpenCVSource(str(path), f"video {path.name}", api=cv2.CAP_FFMPEG, loop=True)
    try:
        check_readable(source)
    except DreamwallError:
        raise DreamwallError(f"source {path}: no video frame can be read from it; expected {SOURCE_HELP}") from None
    return source
