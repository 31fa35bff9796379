"""Video through PyAV: the source's audio packets reach the output unchanged, a turned phone video is read
turned as ffmpeg shows it, audio MP4 cannot hold is re-encoded, and the live encoder is one that opens."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from engine.errors import DreamwallError
from installation.outputs.video_io import open_source, probe
from installation.outputs.video_writer import VideoWriter, live_codec
from installation.testing.clips import ffmpeg_exe, pattern_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return pattern_clip(tmp_path_factory.mktemp("io") / "clip.mp4", 20)


def copy_of(source: Path, output: Path) -> Path:
    writer = VideoWriter(output, 10, (64, 48), audio_from=source)
    for frame in open_source(source).frames():
        writer.write(frame)
    writer.close()
    return output


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def test_the_audio_packets_are_copied_not_re_encoded(clip, tmp_path):
    output = copy_of(clip, tmp_path / "out.mp4")
    assert probe(output).streams == ("video", "audio")
    assert audio_packets(output) == audio_packets(clip)


def test_audio_mp4_cannot_hold_is_re_encoded_to_aac(clip, tmp_path):
    pcm = tmp_path / "pcm.mov"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(clip), "-c:v", "copy", "-c:a", "pcm_s16le",
                    str(pcm)], check=True)  # fmt: skip
    output = copy_of(pcm, tmp_path / "out.mp4")
    with av.open(str(output)) as container:
        assert [s.codec_context.name for s in container.streams] == ["h264", "aac"]


def test_a_turned_video_is_read_as_shown(clip, tmp_path):
    turned = tmp_path / "turned.mp4"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-display_rotation", "90", "-i", str(clip), "-c", "copy",
                    str(turned)], check=True)  # fmt: skip
    source = open_source(turned)
    assert probe(turned).rotation == 90 and source.info.size == (48, 64)
    upright = next(open_source(clip).frames())
    assert np.array_equal(next(source.frames()), np.rot90(upright))


def test_a_truncated_video_is_refused_in_one_line(clip, tmp_path):
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size * 2 // 3])
    with pytest.raises(DreamwallError, match=r"^cannot read .*cut\.mp4: [^\n]*expected a video[^\n]*$"):
        open_source(cut)


def test_the_live_encoder_opens_here():
    writer = VideoWriter(Path("/dev/null"), 25, (320, 180), live=True)
    assert writer.codec == live_codec()
    writer.write(np.zeros((180, 320, 3), np.uint8))
    writer.close()


def test_a_video_larger_than_the_limit_is_refused_before_a_frame_is_decoded(tmp_path, monkeypatch):
    huge = tmp_path / "huge.mp4"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "color=size=8192x4352:duration=0.04",
                    "-c:v", "libx264", "-preset", "ultrafast", str(huge)], check=True)  # fmt: skip

    def no_decoding(*_args):
        raise AssertionError("a frame was decoded")

    monkeypatch.setattr("installation.outputs.video_io._decoded", no_decoding)
    with pytest.raises(DreamwallError, match=r"huge\.mp4 is 8192x4352 = 35\.7 Mpx, more than the limit"):
        open_source(huge)
