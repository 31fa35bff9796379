"""Short video clips for tests: ffmpeg's moving test pattern, with a sine tone as the audio track."""

from __future__ import annotations

import subprocess
from pathlib import Path

from installation.outputs.video_io import ffmpeg_exe


def pattern_clip(path: Path, frames: int, fps: int = 10, size: tuple[int, int] = (64, 48),
                 tone_hz: int | None = 440) -> Path:  # fmt: skip
    """`frames` frames of ffmpeg's testsrc at `size` as H.264 in `path`, with `tone_hz` as AAC audio (None: silent)."""
    seconds = frames / fps
    command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
               "-f", "lavfi", "-i", f"testsrc=size={size[0]}x{size[1]}:rate={fps}:duration={seconds}"]  # fmt: skip
    if tone_hz is not None:
        command += ["-f", "lavfi", "-i", f"sine=frequency={tone_hz}:duration={seconds}", "-c:a", "aac", "-shortest"]
    subprocess.run([*command, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path
