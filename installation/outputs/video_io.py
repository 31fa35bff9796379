"""Video in and out through PyAV: FFmpeg's libraries in this process, no ffmpeg binary, no text to parse.

Reading: a video file, an animated GIF or a folder of images, all as RGB uint8 frames
with one `frames(start)` hook so the renderer can resume in the middle (a video seeks
there exactly: installation.outputs.video_seek). Writing: RGB frames encoded on the
caller's thread (H.264 when the build has libx264, else MPEG-4 part 2; live recordings
take a hardware H.264 encoder when one opens here), and PNG frame folders encoded with
the source's audio packets copied over as they are.
"""

from __future__ import annotations

import errno
import logging
import re
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Protocol

import av
import cv2
import numpy as np
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.video.stream import VideoStream

from engine.errors import DreamwallError
from installation.common.atomic import atomic_path, check_output_path
from installation.common.userfile import check_regular_file
from installation.outputs.images import check_pixels, read_image
from installation.outputs.video_seek import frame_times

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
FRAME_PATTERN = "%06d.png"  # frame files of a work folder: 000000.png, 000001.png, ...
DEFAULT_FOLDER_FPS = 25.0
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov")  # the writers here make MP4 files: the name must say so
HARDWARE_H264 = ("h264_nvenc", "h264_qsv", "h264_vaapi")  # tried in this order for live recording
COPIED_AUDIO = frozenset({"aac", "mp3", "opus", "ac3", "eac3", "flac", "alac"})  # MP4 takes these as they are
ENCODER_OPTIONS = {  # (render, live): render keeps detail; live must keep up on 2 cores at 1080p
    "libx264": ({"preset": "veryfast", "crf": "18"}, {"preset": "ultrafast", "crf": "23"}),
    "mpeg4": ({"qscale": "3"}, {"qscale": "4"}),
    "h264_nvenc": ({"preset": "p5", "cq": "19"}, {"preset": "p1", "tune": "ll", "cq": "21"}),
    "h264_qsv": ({"preset": "medium", "global_quality": "20"}, {"preset": "veryfast", "global_quality": "22"}),
    "h264_vaapi": ({"qp": "20"}, {"qp": "22"}),
}


def check_video_output(
    path: Path, role: str = "output", inputs: tuple[Path, ...] = (), overwrite: bool = False
) -> Path:
    """The output-path rule (common.atomic.check_output_path) for every video written: render, live, REC."""
    return check_output_path(path, VIDEO_SUFFIXES, "a video", role, inputs=inputs, overwrite=overwrite)


def _opens(codec: str) -> bool:
    """Whether `codec` is in this build and opens here (a hardware encoder needs its device and driver)."""
    if codec not in av.codecs_available:
        return False
    try:
        context = av.CodecContext.create(codec, "w")
        context.width, context.height, context.pix_fmt = 256, 144, "yuv420p"
        context.time_base = Fraction(1, 25)
        context.open()
    except (av.FFmpegError, ValueError) as error:  # no device, no driver, or frames it cannot take
        log.debug("encoder %s does not open here: %s", codec, error)
        return False
    return True


@cache
def video_codec() -> str:
    """'libx264' (H.264, plays everywhere) when this build has it, else 'mpeg4'."""
    if _opens("libx264"):
        return "libx264"
    log.warning("this FFmpeg build has no H.264 encoder (libx264); writing MPEG-4 part 2 video instead")
    return "mpeg4"


@cache
def live_codec() -> str:
    """The first hardware H.264 encoder that opens here, else video_codec(); chosen once per process."""
    codec = next((name for name in HARDWARE_H264 if _opens(name)), None) or video_codec()
    log.info("live recordings encode with %s", codec)
    return codec


def _os_error(error: av.FFmpegError | OSError, path: Path) -> OSError:
    """An encoder or muxer failure as an OSError (errno.ENOSPC for a full disk, so callers can say so)."""
    if isinstance(error, OSError):
        return error
    return OSError(errno.EIO, getattr(error, "strerror", None) or str(error), str(path))


def _rate(fps: float) -> Fraction:
    """29.97 -> 2997/100, 30000/1001 stays itself: a time base the muxer can keep exactly."""
    return Fraction(fps).limit_denominator(1001)


class _AudioTrack:
    """The source's first audio track carried into an output, interleaved with the video as it is written.

    Packets are copied as they are when MP4 takes the codec; others (PCM, Vorbis) are decoded and
    encoded to AAC. Times are kept relative to the source's first video frame, and the track ends
    with the video (as ffmpeg's -shortest).
    """

    def __init__(self, source: InputContainer, output: OutputContainer) -> None:
        self._source = source
        audio = source.streams.audio[0]
        self._input = audio
        video = source.streams.video[0] if source.streams.video else None
        start = video.start_time * video.time_base if video is not None and video.start_time else 0
        self._shift = round(start / audio.time_base) if audio.time_base else 0
        self._copy = audio.codec_context.name in COPIED_AUDIO & output.supported_codecs
        if self._copy:
            self.stream: AudioStream = output.add_stream_from_template(audio)
        else:
            self.stream = output.add_stream("aac", rate=audio.rate, layout=audio.layout.name)
        self._output = output
        self._packets = (packet for packet in source.demux(audio) if packet.pts is not None)
        self._pending: av.Packet | None = None
        self._done = False

    def until(self, seconds: float) -> None:
        """Write the source's audio shown before `seconds` of the output."""
        while not self._done:
            if self._pending is None:
                self._pending = next(self._packets, None)
                if self._pending is None:
                    self._done = True
                    break
            packet = self._pending
            assert packet.time_base is not None and packet.pts is not None
            if float((packet.pts - self._shift) * packet.time_base) >= seconds:
                return
            self._pending = None
            self._write(packet)

    def _write(self, packet: av.Packet) -> None:
        if self._copy:
            packet.pts -= self._shift
            if packet.dts is not None:
                packet.dts -= self._shift
            packet.stream = self.stream
            self._output.mux(packet)
            return
        for frame in self._input.decode(packet):
            frame.pts = None  # the encoder numbers its own samples
            self._output.mux(self.stream.encode(frame))

    def close(self, seconds: float) -> None:
        self.until(seconds)
        self._done = True
        if not self._copy:
            self._output.mux(self.stream.encode(None))
        self._source.close()

    def abort(self) -> None:
        with suppress(av.FFmpegError, OSError):
            self._source.close()


class VideoWriter:
    """RGB frames encoded in this process into an MP4, optionally with another file's audio track.

    Writes exactly `path` (callers choose a temp name and rename); a failed write or close
    raises OSError with FFmpeg's reason and `errno.ENOSPC` for a full disk. `live` chooses the
    fast settings (and a hardware encoder where one opens) for recording a running show.
    """

    def __init__(self, path: Path, fps: float, size: tuple[int, int], codec: str | None = None, *,
                 live: bool = False, audio_from: Path | None = None) -> None:  # fmt: skip
        self.path = Path(path)
        self.size = size
        self.codec = codec or (live_codec() if live else video_codec())
        self.frames = 0
        self._fps = _rate(fps)
        self._audio: _AudioTrack | None = None
        source: InputContainer | None = None
        try:
            self._container = av.open(str(self.path), "w", format="mp4", options={"movflags": "+faststart"})
            # yuv420p needs even sides: an odd size is padded by one black pixel rather than refused
            self._stream: VideoStream = self._container.add_stream(self.codec, rate=self._fps)
            self._stream.width, self._stream.height = (side + side % 2 for side in size)
            self._stream.pix_fmt = "nv12" if self.codec in ("h264_qsv", "h264_vaapi") else "yuv420p"
            self._stream.options = ENCODER_OPTIONS.get(self.codec, ({}, {}))[live]
            if audio_from is not None:
                source = av.open(str(audio_from))
                if source.streams.audio:
                    self._audio = _AudioTrack(source, self._container)
                else:
                    source.close()
        except (av.FFmpegError, OSError) as error:
            if source is not None:
                source.close()
            raise _os_error(error, self.path) from None

    def write(self, rgb: np.ndarray) -> None:
        height, width = rgb.shape[:2]
        if (width, height) != self.size:
            raise ValueError(f"frame is {width}x{height}, the video is {self.size[0]}x{self.size[1]}")
        if width % 2 or height % 2:
            rgb = np.pad(rgb, ((0, height % 2), (0, width % 2), (0, 0)))
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        if self._stream.pix_fmt == "yuv420p":  # OpenCV's SIMD conversion: 1.6 ms where swscale took 13 at 1080p
            frame = av.VideoFrame.from_ndarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420), format="yuv420p")
        else:
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = self.frames
        self.frames += 1
        try:
            self._container.mux(self._stream.encode(frame))
            if self._audio is not None:
                self._audio.until(float(self.frames / self._fps))
        except (av.FFmpegError, OSError) as error:
            self.abort()
            raise _os_error(error, self.path) from None

    def close(self) -> None:
        """Finish the file; OSError if FFmpeg could not."""
        try:
            self._container.mux(self._stream.encode(None))
            if self._audio is not None:
                self._audio.close(float(self.frames / self._fps))
            self._container.close()
        except (av.FFmpegError, OSError) as error:
            self.abort()
            raise _os_error(error, self.path) from None

    def abort(self) -> None:
        """Stop without finishing the file (the caller deletes it)."""
        if self._audio is not None:
            self._audio.abort()
        with suppress(av.FFmpegError, OSError):
            self._container.close()


# -- reading ---------------------------------------------------------------------------------


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


# -- encoding a folder of frames -------------------------------------------------------------


def encode_frames(folder: Path, fps: float, output: Path, audio_from: Path | None = None) -> None:
    """PNG frames (FRAME_PATTERN, numbered from 0) -> MP4 at `output`, atomically, with `audio_from`'s audio
    track if it has one (copied as it is where MP4 takes its codec)."""
    files = []
    while (file := Path(folder) / (FRAME_PATTERN % len(files))).is_file():
        files.append(file)
    if not files:
        raise DreamwallError(f"cannot encode {output}: no frames in {folder}")
    first = read_image(files[0])
    with atomic_path(Path(output), suffix=".mp4") as temp:
        try:
            writer = VideoWriter(temp, fps, (first.shape[1], first.shape[0]), audio_from=audio_from)
            writer.write(first)
            for file in files[1:]:
                writer.write(read_image(file))
            writer.close()
        except OSError as error:
            raise DreamwallError(f"cannot encode {output}: {error.strerror or error}") from None
