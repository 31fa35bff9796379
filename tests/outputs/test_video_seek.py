"""Starting a video at frame k: the seek lands exactly on frame k for constant and variable frame rates,
B-frames, an edit list and other codecs, and a file whose times cannot be trusted is decoded from its start."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from installation.outputs.video_io import VideoSource
from installation.outputs.video_seek import frame_times
from installation.testing.clips import ffmpeg_exe

PATTERN = "testsrc=size=64x36:rate=25:duration=2.4"
CLIPS = {
    "h264 with b-frames and audio.mp4": ["-f", "lavfi", "-i", PATTERN, "-f", "lavfi", "-i", "sine=duration=2.4",
                                         "-c:v", "libx264", "-bf", "3", "-g", "12", "-c:a", "aac", "-shortest"],
    "variable rate.mp4": ["-f", "lavfi", "-i", PATTERN, "-vf", "setpts='N/25/TB + if(gt(mod(N,7),3), 0.013/TB, 0)'",
                          "-c:v", "libx264", "-bf", "2", "-fps_mode", "vfr"],
    "vp8.webm": ["-f", "lavfi", "-i", PATTERN, "-c:v", "libvpx", "-b:v", "300k"],
    "transport stream.ts": ["-f", "lavfi", "-i", PATTERN, "-c:v", "libx264", "-bf", "2", "-f", "mpegts"],
}  # fmt: skip


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("seek")
    made = {}
    for name, args in CLIPS.items():
        ffmpeg(*args, str(folder / name))
        made[name] = folder / name
    cut = made["cut with an edit list.mp4"] = folder / "cut.mp4"  # a stream copy from mid-GOP: leading frames dropped
    ffmpeg("-ss", "0.3", "-i", str(made["h264 with b-frames and audio.mp4"]), "-c", "copy", str(cut))
    return made


@pytest.mark.parametrize("name", [*CLIPS, "cut with an edit list.mp4"])
def test_starting_at_frame_k_gives_frame_k(clips, name):
    source = VideoSource(clips[name])
    every = list(source.frames(0))
    assert len(every) == source.info.frame_count
    for start in (1, 5, 13, len(every) // 2, len(every) - 2):
        first = list(zip(range(3), source.frames(start), strict=False))  # the first three from `start`
        assert [np.array_equal(frame, every[start + i]) for i, frame in first] == [True] * min(3, len(every) - start)
    seeks = frame_times(clips[name], source.info.frame_count) is not None
    assert seeks == (name != "transport stream.ts")  # it starts at 1.4 s: decoded from the first, still exact


def test_a_known_frame_count_is_not_counted_again(clips, monkeypatch):
    path = clips["h264 with b-frames and audio.mp4"]
    counted = VideoSource(path).info.frame_count

    def no_counting(_path):
        raise AssertionError("the video was decoded to count its frames")

    monkeypatch.setattr("installation.outputs.video_io.count_frames", no_counting)
    known = VideoSource(path, frame_count=counted)  # a split render's chunk: the driver counted once
    assert known.info.frame_count == counted
    assert np.array_equal(next(known.frames(7)), list(VideoSource(path, counted).frames(0))[7])
