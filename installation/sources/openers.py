"""Where frames come from: one small read hook, and the parser for `--source`.

Every source (camera, video file, stream, the demo, a test's synthetic camera) has the
same three calls, so the capture thread and the tests never care which one it is:
`open()` (may raise), `read()` (RGB uint8 HWC, or None / an exception on failure)
and `close()` (idempotent).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from engine.errors import DreamwallError, did_you_mean
from installation.common.cli import c_stderr_quiet
from installation.common.rates import Pacer

logger = logging.getLogger(__name__)

URL_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")
DEMO = "demo"
NAME_PREFIX = "name:"
CAMERA_PATH_PREFIXES = ("/dev/video", "/dev/v4l/by-id/", "/dev/v4l/by-path/")
SOURCE_HELP = "a camera index (0, 1, ...), a video file, a URL (rtsp://, http://...), a GStreamer pipeline or 'demo'"


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


class OpenCVSource:
    """A cv2.VideoCapture: camera index, video file (looped, paced to its fps), URL or GStreamer pipeline."""

    def __init__(
        self,
        target: int | str,
        description: str,
        api: int = cv2.CAP_ANY,
        loop: bool = False,
        size: tuple[int, int] | None = None,
        pace_fps: float | None = None,
    ) -> None:
        self.target = target
        self.description = description
        self._api = api
        self._loop = loop
        self._size = size
        self._pace_fps = pace_fps
        self._pacer: Pacer | None = None
        self._capture: cv2.VideoCapture | None = None

    def open(self) -> None:
        self.close()
        capture = cv2.VideoCapture(self.target, self._api)
        if not capture.isOpened():
            capture.release()
            raise ConnectionError(f"cannot open {self.description}")
        if self._size is not None:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self._size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self._size[1])
        if self._loop:
            # files decode as fast as the CPU allows: play them at their own rate instead
            fps = self._pace_fps or capture.get(cv2.CAP_PROP_FPS)
            self._pacer = Pacer(fps if 0 < fps <= 240 else 30.0)
        self._capture = capture

    def read(self) -> np.ndarray | None:
        if self._capture is None:
            raise ConnectionError(f"{self.description} is not open")
        ok, frame = self._capture.read()
        if not ok and self._loop:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._capture.read()
        if not ok or frame is None:
            return None
        if self._pacer is not None:
            self._pacer.wait()
        return to_rgb(frame)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


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


def open_source(spec: str, size: tuple[int, int] | None = None, fps: float | None = None) -> FrameSource:
    """The source named by `--source` (not yet opened); DreamwallError for what cannot work.

    `size` (width, height) and `fps` apply to cameras and the demo; files keep their own.
    """
    text = spec.strip()
    if text == DEMO:
        from installation.sources.demo import DemoSource

        return DemoSource(size=size or (640, 360), fps=fps or 30.0)
    if text.isdigit():
        return OpenCVSource(int(text), f"camera {int(text)}", size=size)
    if text.lower().startswith("ndi:"):  # ndi:NAME and ndi://HOST:PORT
        from installation.sources.ndi import ndi_source

        return ndi_source(text)
    if text.lower().startswith(URL_SCHEMES):
        return OpenCVSource(text, f"stream {text}", api=cv2.CAP_FFMPEG)
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
