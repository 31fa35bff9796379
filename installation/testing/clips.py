"""Short video clips for tests and benches: FFmpeg's moving test pattern with a sine tone, made and encoded
through PyAV (its lavfi sources run in process).

`ffmpeg_exe` is kept for the clips only the ffmpeg command line makes in one line (an edit
list cut from mid-GOP by stream copy, a filter-graph variable frame rate): the seek tests
and the split-render bench; nothing Dreamwall ships runs the binary.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import av

from engine.errors import DreamwallError


@cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary imageio-ffmpeg bundles (tests and benches only)."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise DreamwallError("these test clips need imageio-ffmpeg: pip install imageio-ffmpeg==0.8.1") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def lavfi(source: str, options: str) -> Iterator[av.VideoFrame | av.AudioFrame]:
    """The frames of one FFmpeg source filter (testsrc, sine, ...) until it ends."""
    graph = av.filter.Graph()
    made = graph.add(source, options)
    sink = graph.add("abuffersink" if source in ("sine", "anullsrc") else "buffersink")
    made.link_to(sink)
    graph.configure()
    while True:
        try:
            yield sink.pull()
        except av.EOFError:
            return


def pattern_clip(path: Path, frames: int, fps: int = 10, size: tuple[int, int] = (64, 48),
                 tone_hz: int | None = 440) -> Path:  # fmt: skip
    """`frames` frames of FFmpeg's testsrc at `size` as H.264 in `path`, with `tone_hz` as AAC audio (None:
    silent)."""
    seconds = frames / fps
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        audio = container.add_stream("aac", rate=44100, layout="mono") if tone_hz is not None else None
        for frame in lavfi("testsrc", f"size={size[0]}x{size[1]}:rate={fps}:duration={seconds}"):
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if audio is not None:
            for frame in lavfi("sine", f"frequency={tone_hz}:duration={seconds}"):
                container.mux(audio.encode(frame))
            container.mux(audio.encode(None))
    return path
