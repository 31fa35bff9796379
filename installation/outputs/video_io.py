"""Video in and out through the ffmpeg that imageio-ffmpeg bundles (no system ffmpeg needed).

Reading: a video file, an animated GIF or a folder of images, all as RGB uint8 frames
with one `frames(start)` hook so the renderer can resume in the middle. Writing: raw
RGB piped into ffmpeg (H.264 when the binary has libx264, else MPEG-4 part 2), and
PNG frame folders encoded with the source's audio track carried over.
"""

from __future__ import annotations

import errno
import logging
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Protocol

import cv2
import numpy as np

from engine.errors import DreamwallError
from installation.common.atomic import atomic_path, check_output_path
from installation.common.userfile import check_regular_file
from installation.outputs.images import check_pixels, read_image
from installation.outputs.video_seek import frame_times, seek_input

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
FRAME_PATTERN = "%06d.png"  # frame files of a work folder: 000000.png, 000001.png, ...
DEFAULT_FOLDER_FPS = 25.0
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov")  # the writers here make MP4 files: the name must say so


def check_video_output(
    path: Path, role: str = "output", inputs: tuple[Path, ...] = (), overwrite: bool = False
) -> Path:
    """The output-path rule (common.atomic.check_output_path) for every video written: render, live, REC."""
    return check_output_path(path, VIDEO_SUFFIXES, "a video", role, inputs=inputs, overwrite=overwrite)


@cache
def ffmpeg_exe() -> str:
    """Path of the bundled ffmpeg binary; a DreamwallError if imageio-ffmpeg is missing or broken."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise DreamwallError("video needs imageio-ffmpeg: pip install imageio-ffmpeg==0.8.1") from None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as error:
        raise DreamwallError(f"no ffmpeg binary found: {error}") from None


@cache
def video_codec() -> str:
    """'libx264' (H.264, plays everywhere) when the ffmpeg build has it, else 'mpeg4'."""
    result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-encoders"], capture_output=True, text=True, check=False)
    if re.search(r"^\s*V\S*\s+libx264\s", result.stdout, flags=re.MULTILINE):
        return "libx264"
    log.warning("this ffmpeg has no H.264 encoder (libx264); writing MPEG-4 part 2 video instead")
    return "mpeg4"


def _codec_args(codec: str) -> list[str]:
    quality = ["-preset", "veryfast", "-crf", "18"] if codec == "libx264" else ["-q:v", "3"]
    # yuv420p needs even sides; pad odd sizes by one pixel rather than fail
    return ["-c:v", codec, *quality, "-pix_fmt", "yuv420p", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"]


def _stderr_reason(text: str) -> str:
    """The last meaningful line of ffmpeg's stderr (its own summary of what went wrong)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "ffmpeg failed without a message"


def _os_error(stderr: str, path: Path) -> OSError:
    """ffmpeg's failure as an OSError; ENOSPC when it ran out of disk so callers can say so.

    ffmpeg's last line is often a consequence ("Nothing was written"), so a full disk is
    looked for anywhere in its output.
    """
    full = next((line.strip() for line in stderr.splitlines() if "No space left on device" in line), None)
    if full is not None:
        return OSError(errno.ENOSPC, full, str(path))
    return OSError(errno.EIO, _stderr_reason(stderr), str(path))


class VideoWriter:
    """Raw RGB frames piped into an ffmpeg process that writes an MP4.

    Writes exactly `path` (callers choose a temp name and rename); a failed write or
    exit raises OSError with ffmpeg's reason and `errno.ENOSPC` for a full disk.
    """

    def __init__(self, path: Path, fps: float, size: tuple[int, int], codec: str | None = None) -> None:
        self.path = Path(path)
        self.size = size
        self.codec = codec or video_codec()
        width, height = size
        command = [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", f"{fps:g}", "-i", "-",
            "-an", *_codec_args(self.codec), "-movflags", "+faststart", "-f", "mp4", str(self.path),
        ]  # fmt: skip
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr)

    def write(self, rgb: np.ndarray) -> None:
        height, width = rgb.shape[:2]
        if (width, height) != self.size:
            raise ValueError(f"frame is {width}x{height}, the video is {self.size[0]}x{self.size[1]}")
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
        except OSError:  # BrokenPipe: ffmpeg died, its stderr says why
            self._process.kill()
            self._process.wait()
            raise _os_error(self._read_stderr(), self.path) from None

    def close(self) -> None:
        """Finish the file; OSError if ffmpeg could not."""
        assert self._process.stdin is not None
        try:
            self._process.stdin.close()
        except OSError:
            pass  # already broken; the exit code below tells
        code = self._process.wait()
        stderr = self._read_stderr()
        self._stderr.close()
        if code != 0:
            raise _os_error(stderr, self.path)

    def abort(self) -> None:
        """Stop ffmpeg without finishing the file (the caller deletes it)."""
        self._process.kill()
        self._process.wait()
        if self._process.stdin is not None:
            try:
                self._process.stdin.close()
            except OSError:
                pass
        self._stderr.close()

    def _read_stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceInfo:
    path: Path
    kind: str  # "video", "gif" or "folder"
    fps: float
    size: tuple[int, int]  # width, height
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
    size: tuple[int, int] | None


def probe(path: Path) -> Probe:
    """What ffmpeg sees in a media file (ffprobe is not bundled, so `ffmpeg -i` is parsed)."""
    command = [ffmpeg_exe(), "-hide_banner", "-i", str(path)]
    text = subprocess.run(command, capture_output=True, text=True, check=False).stderr
    streams = tuple(m.group(1).lower() for m in re.finditer(r"Stream #\d+:\d+\S*: (\w+):", text))
    if not streams:
        opening = re.search(r"Error opening input files?: (.+)", text)
        reason = opening.group(1).strip() if opening else "ffmpeg finds no audio or video in it"
        raise DreamwallError(f"cannot read {path}: {reason}; expected a video, an animated GIF or an image folder")
    video_line = next((line for line in text.splitlines() if re.search(r"Stream #.*: Video:", line)), "")
    size_match = re.search(r"[ ,](\d{2,5})x(\d{2,5})[ ,]", video_line)
    fps_match = re.search(r"([\d.]+) (?:fps|tbr)", video_line)
    return Probe(
        streams=streams,
        fps=float(fps_match.group(1)) if fps_match else None,
        size=(int(size_match.group(1)), int(size_match.group(2))) if size_match else None,
    )


def count_frames(path: Path) -> int:
    """Exact number of video frames: ffmpeg decodes the whole file (as slow as reading every frame)."""
    import imageio_ffmpeg

    try:
        frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    except (OSError, RuntimeError, ValueError) as error:
        raise DreamwallError(f"cannot count frames of {path}: {str(error).splitlines()[0]}") from None
    return frames


class VideoSource:
    """A video file decoded by ffmpeg; starting at frame k seeks to it (installation.outputs.video_seek), or
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
        self.info = SourceInfo(path, "video", fps, found.size, count, "audio" in found.streams)
        self._times: list[float] | None = None
        self._timed = False

    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        import imageio_ffmpeg

        if start > 0 and not self._timed:
            self._times, self._timed = frame_times(ffmpeg_exe(), self.info.path, self.info.frame_count), True
        seek = seek_input(self._times, start)
        # passthrough: every decoded frame once (ffmpeg's default would duplicate or drop to a constant rate)
        reader = imageio_ffmpeg.read_frames(str(self.info.path), pix_fmt="rgb24", input_params=seek,
                                            output_params=["-fps_mode", "passthrough"])  # fmt: skip
        skip = 0 if seek else start
        try:
            meta = next(reader)
            width, height = meta["size"]
            for index, raw in enumerate(reader):
                if index >= skip:
                    yield np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3).copy()
        finally:
            reader.close()


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
    check_regular_file(path, "render input")  # ffmpeg and OpenCV would wait for ever on a FIFO
    if path.suffix.lower() == ".gif":
        return GifSource(path)
    return VideoSource(path, frame_count)


# -- encoding a folder of frames -------------------------------------------------------------


def encode_frames(folder: Path, fps: float, output: Path, audio_from: Path | None = None) -> None:
    """PNG frames (FRAME_PATTERN) -> MP4 at `output`, atomically, with `audio_from`'s audio if it has any.

    `-map 1:a?` makes the audio optional, so a silent source still gives a video.
    """
    command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
               "-framerate", f"{fps:g}", "-i", str(Path(folder) / FRAME_PATTERN)]  # fmt: skip
    if audio_from is not None:
        command += ["-i", str(audio_from), "-map", "0:v:0", "-map", "1:a?", "-c:a", "aac", "-shortest"]
    with atomic_path(Path(output), suffix=".mp4") as temp:
        command += [*_codec_args(video_codec()), "-movflags", "+faststart", "-f", "mp4", str(temp)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise DreamwallError(f"cannot encode {output}: {_stderr_reason(result.stderr)}")
