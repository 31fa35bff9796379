"""Starting to decode a video at frame k without decoding the k frames before it.

ffmpeg's input seek (`-ss T` before `-i`) jumps to the keyframe before T and decodes,
discarding frames, up to the first frame shown at or after T: exact, when T is known in
the file's own time. The frames' presentation times come from demuxing the packets
(ffmpeg's framecrc muxer with stream copy: no decoding, milliseconds for a long file),
sorted into display order, without the packets an edit list discards. T is the midpoint
between frame k-1 and frame k, so rounding cannot land on a neighbour, and variable
frame rates are no different from constant ones.

Both the seek and the times are relative to the file's start; where ffmpeg says the file
starts later than 0 (an MPEG transport stream), or the packets do not add up to the
counted frames, the times are not trusted and a start at frame k decodes and skips k
frames, as before: slower, never wrong.
"""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

DISCARD = 0x4  # framecrc's packet flag for a frame an edit list drops


def frame_times(ffmpeg: str, path: Path, frame_count: int) -> list[float] | None:
    """Display times in seconds of the `frame_count` frames, from the file's start; None when not exact."""
    command = [ffmpeg, "-hide_banner", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    base = re.search(r"^#tb 0: (\d+)/(\d+)", result.stdout, flags=re.MULTILINE)
    start = re.search(r"start: (-?[\d.]+)", result.stderr)
    if result.returncode != 0 or base is None or start is None or float(start.group(1)) != 0.0:
        log.debug("%s: no exact seek (start %s); frames are decoded from the first", path, start and start.group(1))
        return None
    unit = int(base.group(1)) / int(base.group(2))
    times = []
    for line in result.stdout.splitlines():
        fields = [field.strip() for field in line.split(",")]
        if line.startswith("#") or len(fields) < 6:
            continue
        flags = next((int(field[2:], 16) for field in fields[6:] if field.startswith("F=")), 0)
        if not flags & DISCARD:
            times.append(int(fields[2]) * unit)
    if len(times) != frame_count:
        log.debug("%s: %d packets for %d frames; frames are decoded from the first", path, len(times), frame_count)
        return None
    return sorted(times)


def seek_input(times: list[float] | None, start: int) -> list[str]:
    """ffmpeg input options that make decoding begin at frame `start` ([] to begin at the first)."""
    if start <= 0 or times is None:
        return []
    return ["-ss", f"{(times[start - 1] + times[start]) / 2:.6f}"]
