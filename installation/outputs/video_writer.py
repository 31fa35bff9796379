"""Video out through PyAV: RGB frames encoded in this process, and PNG frame folders with the source's audio.

RGB frames are encoded on the caller's thread (H.264 when the build has libx264, else MPEG-4
part 2; live recordings take a hardware H.264 encoder when one opens here); a folder of frames
is encoded with the source's audio packets copied over as they are.
"""

from __future__ import annotations

import errno
import logging
from contextlib import suppress
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import cv2
import numpy as np
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.video.stream import VideoStream

from engine.errors import DreamwallError
from installation.common.atomic import atomic_path, check_output_path
from installation.outputs.images import read_image
from installation.outputs.video_io import FRAME_PATTERN

log = logging.getLogger(__name__)

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
