"""Video in through PyAV: FFmpeg's libraries in this process, no ffmpeg binary, no text to parse.

A video file, an animated GIF or a folder of images, all as RGB uint8 frames with one
`frames(start)` hook so the renderer can resume in the middle (a video seeks there
exactly: installation.outputs.video_seek). Writing lives in installation.outputs.video_writer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import av
import cv2
import numpy as np
from av.container import InputContainer
from av.video.stream import VideoStream

from engine.errors import DreamwallError
from installation.common.userfile import check_regular_file
from installation.outputs.images import check_pixels, read_image
from installation.outputs.video_seek import frame_times

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
FRAME_PATTERN = "%06d.png"  # frame files of a work folder: 000000.png, 000001.png, ...
DEFAULT_FOLDER_FPS = 25.0


@dataclass(frozen=True)
class SourceInfo:
    path: Path
    kind: str  # "video", "gif" or "folder"
    fps: float
    size: tuple[int, int]  # width, height (as shown: after the file's rotation)
    frame_count: int
    has_audio: bool


class FrameSource(Protocol):
    """Every input kind: what it is, and its frames from any index on (for resuming)."""

    info: SourceInfo

    def frames(self, start: int = 0) -> Iterator[np.ndarray]: ...


@dataclass(frozen=True)
class Probe:
    streams: tuple[str, ...]  # "video", "audio", ... in file order
    fps: float | None
    size: tuple[int, int] | None  # as shown: width and height swapped for a quarter turn
    rotation: int = 0  # degrees counter-clockwise the stored picture is turned to be shown (0, 90, 180, 270)


def _open_input(path: Path) -> InputContainer:
    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise DreamwallError(f"cannot read {path}: {reason}; expected a video, an animated GIF or an image "
                             "folder") from None  # fmt: skip


def _decoded(container: InputContainer, stream: VideoStream, path: Path) -> Iterator[av.VideoFrame]:
    """Every frame the file holds; a damaged stretch ends the video there, as a truncated file does."""
    try:
        for packet in container.demux(stream):
            yield from stream.decode(packet)
    except av.FFmpegError as error:
        log.warning("%s is damaged after its readable frames: %s", path, getattr(error, "strerror", error))


def _rotation(frame: av.VideoFrame) -> int:
    """The frame's display-matrix turn, in quarter turns counter-clockwise (as ffmpeg's autorotate)."""
    return round(frame.rotation / 90) % 4 * 90


def probe(path: Path) -> Probe:
    """What FFmpeg sees in a media file: streams, rate, shown size and rotation (from its first frame)."""
    with _open_input(path) as container:
        streams = tuple(stream.type for stream in container.streams)
        if not streams:
            raise DreamwallError(f"cannot read {path}: FFmpeg finds no audio or video in it; expected a video, "
                                 "an animated GIF or an image folder")  # fmt: skip
        if not container.streams.video:
            return Probe(streams, None, None)
        video = container.streams.video[0]
        rate = video.average_rate or video.guessed_rate or video.base_rate
        size = (video.codec_context.width, video.codec_context.height)
        check_pixels(size, f"video {path}")  # before a frame is decoded: a hostile header cannot claim memory
        first = next(_decoded(container, video, path), None)
        rotation = 0 if first is None else _rotation(first)
    if rotation in (90, 270):
        size = (size[1], size[0])
    return Probe(streams, float(rate) if rate else None, size if min(size) > 0 else None, rotation)


def count_frames(path: Path) -> int:
    """Exact number of video frames: every frame is decoded (not converted), as a render will read them."""
    with _open_input(path) as container:
        if not container.streams.video:
            raise DreamwallError(f"cannot count frames of {path}: it has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in _decoded(container, stream, path))


class VideoSource:
    """A video file decoded in process; starting at frame k seeks to it (installation.outputs.video_seek), or
    decodes and skips k frames where the file's times cannot be trusted; exact either way."""

    def __init__(self, path: Path, frame_count: int | None = None) -> None:
        found = probe(path)
        if "video" not in found.streams or found.size is None:
            raise DreamwallError(f"{path} has no video stream (streams: {', '.join(found.streams)})")
        check_pixels(found.size, f"video {path}")
        count = count_frames(path) if frame_count is None else frame_count
        if count < 1:
            raise DreamwallError(f"{path} has no video frames")
        fps = found.fps or DEFAULT_FOLDER_FPS
        self.info = SourceInfo(Path(path), "video", fps, found.size, count, "audio" in found.streams)
        self._turns = found.rotation // 90
        self._times: list[int] | None = None
        self._timed = False

    def _rgb(self, frame: av.VideoFrame) -> np.ndarray:
        rgb = frame.to_ndarray(format="rgb24")
        return np.ascontiguousarray(np.rot90(rgb, self._turns)) if self._turns else rgb

    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        if start > 0 and not self._timed:
            self._times, self._timed = frame_times(self.info.path, self.info.frame_count), True
        if start > 0 and self._times is not None:
            target = self._times[start]
            with _open_input(self.info.path) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                container.seek(target, stream=stream, backward=True)
                frames = (f for f in _decoded(container, stream, self.info.path) if f.pts is None or f.pts >= target)
                first = next(frames, None)
                if first is not None and first.pts == target:
                    yield self._rgb(first)
                    yield from map(self._rgb, frames)
                    return
            log.debug("%s: the seek to frame %d missed; decoding from the first", self.info.path, start)
        with _open_input(self.info.path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for index, frame in enumerate(_decoded(container, stream, self.info.path)):
                if index >= start:
                    yield self._rgb(frame)


class GifSource:
    """An animated GIF through Pillow, which composes partial frames and knows their durations."""

    def __init__(self, path: Path) -> None:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as image:
                count = getattr(image, "n_frames", 1)
                durations = []
                for index in range(count):
                    image.seek(index)
                    durations.append(image.info.get("duration", 100) or 100)
                size = image.size
        except (OSError, UnidentifiedImageError) as error:
            raise DreamwallError(f"cannot read GIF {path}: {error}") from None
        check_pixels(size, f"GIF {path}")
        fps = 1000.0 / float(np.median(durations))
        self.info = SourceInfo(Path(path), "gif", fps, size, count, False)

    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        from PIL import Image, ImageSequence

        with Image.open(self.info.path) as image:
            for index, frame in enumerate(ImageSequence.Iterator(image)):
                if index >= start:
                    yield np.array(frame.convert("RGB"))


def _natural_key(path: Path) -> list[object]:
    """frame2.png before frame10.png."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


class FolderSource:
    """The images of a folder in natural name order, all brought to the first one's size."""

    def __init__(self, path: Path, fps: float = DEFAULT_FOLDER_FPS) -> None:
        files = sorted((p for p in Path(path).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)
        if not files:
            raise DreamwallError(f"folder {path} has no images ({', '.join(IMAGE_SUFFIXES)})")
        first = read_image(files[0])
        self.files = files
        self.info = SourceInfo(Path(path), "folder", fps, (first.shape[1], first.shape[0]), len(files), False)

    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        width, height = self.info.size
        for file in self.files[start:]:
            image = read_image(file)
            if image.shape[:2] != (height, width):
                image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
            yield image


def open_source(path: Path, folder_fps: float = DEFAULT_FOLDER_FPS, frame_count: int | None = None) -> FrameSource:
    """A video file, an animated GIF or a folder of images; DreamwallError if none of these.

    frame_count: a video's frame count when it is already known (a split render's chunks get the
    driver's), so the video is not decoded once more to count it.
    """
    path = Path(path)
    if not path.exists():
        raise DreamwallError(f"input not found: {path}")
    if path.is_dir():
        return FolderSource(path, folder_fps)
    check_regular_file(path, "render input")  # FFmpeg and OpenCV would wait for ever on a FIFO
    if path.suffix.lower() == ".gif":
        return GifSource(path)
    return VideoSource(path, frame_count)
