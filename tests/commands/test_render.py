"""Offline render: right frame count from video, GIF and image folders, audio carried over,
exact resume after an interruption, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import run
from engine.errors import DreamwallError
from engine.objectives import parse_objective
from engine.post import PostParams
from engine.step import OctaveParams, StepParams
from engine.temporal import FeedbackParams
from installation.outputs.images import read_image, write_image
from installation.outputs.video_io import count_frames, open_source, probe
from installation.rendering.frame_dreamer import FrameDreamer, RenderSettings
from installation.rendering.offline import render
from installation.rendering.work_folder import WorkFolder, work_folder
from installation.testing.clips import pattern_clip

SIZE = (64, 48)
FRAMES = 4


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A moving test pattern with a sine audio track."""
    return pattern_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", FRAMES)


def moving_square(index: int) -> np.ndarray:
    image = np.full((SIZE[1], SIZE[0], 3), 40, dtype=np.uint8)
    image[10:30, 5 + 6 * index : 25 + 6 * index] = (230, 200, 60)
    return image


@pytest.fixture(scope="module")
def settings(squeezenet) -> RenderSettings:
    objective = parse_objective("fire3", squeezenet)
    return RenderSettings(
        network=squeezenet.name,
        objective=objective.description,
        size=SIZE,
        step=StepParams(lr=0.05, jitter=4),
        octaves=OctaveParams(octaves=1, steps=1),
        feedback=FeedbackParams(feedback=0.8, flow=True),
        post=PostParams(),
        seed=3,
    )


@pytest.fixture
def dreamer(squeezenet, settings) -> FrameDreamer:
    return FrameDreamer(squeezenet, parse_objective("fire3", squeezenet), settings)


def test_video_render_keeps_every_frame_and_the_audio_track(clip, dreamer, tmp_path):
    output = tmp_path / "out.mp4"
    calls: list[tuple[int, int]] = []
    result = render(open_source(clip), output, dreamer, progress=lambda d, t: calls.append((d, t)))
    assert result.finished and result.output == output and result.done == FRAMES
    assert count_frames(output) == FRAMES
    assert probe(output).streams == ("video", "audio")
    assert calls == [(i, FRAMES) for i in range(1, FRAMES + 1)]
    assert not work_folder(output).exists()  # cleaned up after encoding


def test_animated_gif_renders_every_frame(dreamer, tmp_path):
    gif = tmp_path / "anim.gif"
    pictures = [Image.fromarray(moving_square(i)) for i in range(3)]
    pictures[0].save(gif, save_all=True, append_images=pictures[1:], duration=100, loop=0)
    source = open_source(gif)
    assert source.info.kind == "gif" and source.info.frame_count == 3 and source.info.fps == pytest.approx(10)
    output = tmp_path / "gif.mp4"
    render(source, output, dreamer)
    assert count_frames(output) == 3
    assert probe(output).streams == ("video",)


def test_image_folder_renders_in_natural_order(dreamer, tmp_path):
    folder = tmp_path / "shots"
    folder.mkdir()
    for index in (1, 2, 10):  # frame10 must come after frame2
        write_image(folder / f"frame{index}.png", moving_square(index % 5))
    source = open_source(folder, folder_fps=12)
    assert [p.name for p in source.files] == ["frame1.png", "frame2.png", "frame10.png"]
    output = tmp_path / "folder.mp4"
    render(source, output, dreamer)
    assert count_frames(output) == 3


def test_resume_continues_exactly_where_it_stopped(clip, squeezenet, settings, tmp_path):
    objective = parse_objective("fire3", squeezenet)
    whole = tmp_path / "whole.mp4"
    render(open_source(clip), whole, FrameDreamer(squeezenet, objective, settings), keep_frames=True)

    parts = tmp_path / "parts.mp4"
    stopped = render(open_source(clip), parts, FrameDreamer(squeezenet, objective, settings), stop=lambda i: i == 2)
    assert not stopped.finished and stopped.done == 2 and not parts.exists()
    assert WorkFolder(parts).done(FRAMES) == 2
    with pytest.raises(DreamwallError, match="add --resume"):
        render(open_source(clip), parts, FrameDreamer(squeezenet, objective, settings))
    resumed = render(open_source(clip), parts, FrameDreamer(squeezenet, objective, settings), resume=True,
                     keep_frames=True)  # a fresh dreamer: as after a restart
    assert resumed.finished and count_frames(parts) == FRAMES
    for index in range(FRAMES):
        a = read_image(WorkFolder(whole).frame_path(index))
        b = read_image(WorkFolder(parts).frame_path(index))
        assert np.array_equal(a, b), f"frame {index} differs after resuming"
    # and the dream really fed back: the last frame is not the first frame's look on a new image
    assert not np.array_equal(read_image(WorkFolder(whole).frame_path(2)), read_image(WorkFolder(whole).frame_path(3)))


def test_resume_with_other_settings_is_refused(clip, squeezenet, settings, tmp_path):
    objective = parse_objective("fire3", squeezenet)
    output = tmp_path / "x.mp4"
    render(open_source(clip), output, FrameDreamer(squeezenet, objective, settings), stop=lambda i: i == 1)
    other = RenderSettings(**{**settings.__dict__, "seed": 4})
    with pytest.raises(DreamwallError, match="cannot resume: seed was 3, now 4"):
        render(open_source(clip), output, FrameDreamer(squeezenet, objective, other), resume=True)
    more_steps = RenderSettings(**{**settings.__dict__, "octaves": OctaveParams(octaves=1, steps=2)})
    with pytest.raises(DreamwallError, match=r"cannot resume: octaves\.steps was 1, now 2"):
        render(open_source(clip), output, FrameDreamer(squeezenet, objective, more_steps), resume=True)


def test_unreadable_input_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video")
    with pytest.raises(DreamwallError, match=r"cannot read .*junk\.mp4: .*expected a video"):
        open_source(junk)
    with pytest.raises(DreamwallError, match="input not found"):
        open_source(tmp_path / "missing.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DreamwallError, match="has no images"):
        open_source(tmp_path / "empty")
    bad_gif = tmp_path / "bad.gif"
    bad_gif.write_bytes(b"GIF89a broken")
    with pytest.raises(DreamwallError, match="cannot read GIF"):
        open_source(bad_gif)


def test_command_line_renders_and_reports_errors_in_one_line(clip, tmp_path, capsys):
    output = tmp_path / "cli.mp4"
    code = run.main(["render", str(clip), "-o", str(output), "--octaves", "1", "--steps", "1",
                     "--layers", "fire3", "--size", "48x32"])  # fmt: skip
    assert code == 0 and count_frames(output) == FRAMES
    assert probe(output).size == (48, 32)
    captured = capsys.readouterr()
    assert f"{FRAMES}/{FRAMES} frames" in captured.err and "ETA" in captured.err
    assert run.main(["render", str(clip), "-o", str(tmp_path / "out.avi")]) == 2
    assert "needs a video extension" in capsys.readouterr().err
