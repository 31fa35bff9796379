"""Starting to decode a video at frame k without decoding the k frames before it.

The frames' presentation times come from demuxing the video stream's packets (no
decoding, milliseconds for a long file), without the packets an edit list discards,
sorted into display order: frame k is shown at the k-th of them. A seek asks the
demuxer for the keyframe at or before that time, in the stream's own time base, and the
decoder then drops every frame shown earlier: exact for constant and variable rates,
B-frames and edit lists alike. The first frame kept must carry exactly frame k's time;
if it does not, the caller decodes from the start instead.

Where the file starts later than 0 (an MPEG transport stream: no index, the demuxer
searches by guessing byte offsets) or the packets do not add up to the counted frames,
the times are not trusted and a start at frame k decodes and skips k frames: slower,
never wrong.
"""

from __future__ import annotations

import logging
from pathlib import Path

import av

log = logging.getLogger(__name__)


def frame_times(path: Path, frame_count: int) -> list[int] | None:
    """Display times (the stream's time-base units) of the `frame_count` frames; None when not exact."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            if container.start_time not in (None, 0):
                log.debug("%s starts at %s us: frames are decoded from the first", path, container.start_time)
                return None
            times = [packet.pts for packet in container.demux(stream)
                     if packet.pts is not None and packet.size and not packet.is_discard]  # fmt: skip
    except av.FFmpegError as error:
        log.debug("%s: no exact seek (%s); frames are decoded from the first", path, error)
        return None
    if len(times) != frame_count:
        log.debug("%s: %d packets for %d frames; frames are decoded from the first", path, len(times), frame_count)
        return None
    return sorted(times)
