"""`render --ray` on a real local Ray (2 CPUs, no dashboard): a short clip in three chunks, against a
one-machine render of the same clip; a worker killed half-way; an interrupted render resumed.

The one-machine reference runs on one torch thread, as each Ray task does: a feedback dream
amplifies sub-level differences (a different thread count changes a one-machine render by
tens of levels after a few dozen frames), so only a reference computed the same way can be
compared pixel for pixel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.compose import host_resize
from engine.errors import DreamwallError
from engine.objectives import parse_objective
from engine.post import PostParams
from engine.step import OctaveParams, StepParams
from engine.temporal import FeedbackParams
from installation.outputs.images import read_image, write_image
from installation.outputs.video_io import count_frames, open_source, probe
from installation.presets.loader import PresetLibrary, environment_presets_dir
from installation.rendering.frame_dreamer import FrameDreamer, RenderSettings
from installation.rendering.offline import render
from installation.rendering.split.cluster import RayCluster, connect
from installation.rendering.split.driver import farm_render
from installation.rendering.split.folder import ChunkFolder
from installation.rendering.split.plan import ChunkPlan, warmup_frames
from installation.rendering.split.task import ChunkJob
from installation.rendering.work_folder import WorkFolder
from installation.testing.clips import pattern_clip
from installation.testing.faulty_chunks import CrashAlways, CrashOnce, RaisesOnChunk

SIZE = (64, 48)
FRAMES = 48
CHUNK_FRAMES = 16  # three chunks; at feedback 0.5 (7 warm-up frames) chunks 1 and 2 start mid-clip
FPS = 10


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return pattern_clip(tmp_path_factory.mktemp("ray_clip") / "clip.mp4", FRAMES, FPS, SIZE, tone_hz=330)


@pytest.fixture(scope="module")
def cluster() -> RayCluster:
    ray_cluster = connect(None, cpus=2)
    yield ray_cluster
    ray_cluster.close()


def settings_at(squeezenet, feedback: float, lr: float = 0.05) -> RenderSettings:
    return RenderSettings(
        network=squeezenet.name,
        objective=parse_objective("fire3", squeezenet).description,
        size=SIZE,
        step=StepParams(lr=lr, jitter=4),
        octaves=OctaveParams(octaves=1, steps=1),
        feedback=FeedbackParams(feedback=feedback, flow=True),
        post=PostParams(),
        seed=3,
    )


def job_for(clip: Path, settings: RenderSettings) -> ChunkJob:
    preset = PresetLibrary(environment_presets_dir()).load("default")
    return ChunkJob(clip, 25.0, preset, "fire3", settings, FPS, "cpu", "float32", frames=FRAMES)


def plan_for(settings: RenderSettings) -> ChunkPlan:
    return ChunkPlan(FRAMES, CHUNK_FRAMES, warmup_frames(settings.feedback))


def frames_of(work: WorkFolder) -> list[np.ndarray]:
    return [read_image(work.frame_path(index)).astype(np.int16) for index in range(FRAMES)]


def one_machine(clip: Path, squeezenet, settings: RenderSettings, output: Path) -> list[np.ndarray]:
    dreamer = FrameDreamer(squeezenet, parse_objective("fire3", squeezenet), settings)
    render(open_source(clip, folder_fps=FPS), output, dreamer, keep_frames=True)
    return frames_of(WorkFolder(output))


def on_ray(clip: Path, settings: RenderSettings, cluster: RayCluster, output: Path, **options) -> list[np.ndarray]:
    result = farm_render(open_source(clip), output, job_for(clip, settings), plan_for(settings), cluster,
                         keep_frames=True, **options)  # fmt: skip
    assert result.finished and count_frames(output) == FRAMES
    return frames_of(WorkFolder(output))


@pytest.fixture(scope="module")
def dreamt(clip, squeezenet, cluster, one_torch_thread, tmp_path_factory) -> dict[str, list[np.ndarray]]:
    """The clip at feedback 0.5: on one machine, on Ray, and on one machine from a one-level different start."""
    folder = tmp_path_factory.mktemp("dreamt")
    settings = settings_at(squeezenet, 0.5)
    nudged = folder / "nudged"  # the clip as images, its first frame one level brighter
    nudged.mkdir()
    for index, rgb in enumerate(open_source(clip).frames(0)):
        write_image(nudged / f"{index:06d}.png", np.clip(rgb.astype(np.int16) + (index == 0), 0, 255).astype(np.uint8))
    return {
        "one": one_machine(clip, squeezenet, settings, folder / "one.mp4"),
        "ray": on_ray(clip, settings, cluster, folder / "ray.mp4"),
        "nudged": one_machine(nudged, squeezenet, settings, folder / "nudged.mp4"),
    }


def test_without_feedback_the_split_render_is_the_one_machine_render(clip, squeezenet, cluster, one_torch_thread,
                                                                     tmp_path):  # fmt: skip
    settings = settings_at(squeezenet, 0.0)
    assert plan_for(settings).warmup == 0 and len(plan_for(settings).chunks) == 3
    one = one_machine(clip, squeezenet, settings, tmp_path / "one.mp4")
    split = on_ray(clip, settings, cluster, tmp_path / "ray.mp4")
    assert all(np.array_equal(a, b) for a, b in zip(one, split, strict=True))  # every frame, in order
    assert probe(tmp_path / "ray.mp4").streams == ("video", "audio")


def strength(frame: np.ndarray, undreamt: np.ndarray) -> float:
    """RMS of the dream detail: how strongly the frame is dreamt."""
    return float(np.sqrt(np.mean((frame - undreamt) ** 2)))


@pytest.fixture(scope="module")
def undreamt(clip) -> list[np.ndarray]:
    return [host_resize(rgb, SIZE).astype(np.int16) for rgb in open_source(clip).frames(0)]


def mean_difference(a: list[np.ndarray], b: list[np.ndarray], frames: range) -> float:
    return float(np.mean([np.abs(a[index] - b[index]).mean() for index in frames]))


def test_split_render_with_feedback_is_the_one_machine_dream_where_it_can_be_and_as_close_as_itself_elsewhere(
    dreamt, undreamt
):
    one, split, nudged = dreamt["one"], dreamt["ray"], dreamt["nudged"]
    plan = ChunkPlan(FRAMES, CHUNK_FRAMES, 7)
    first_seam = plan.chunks[1].keep_from
    assert first_seam == 8 and plan.chunks[1].dream_from > 0  # chunk 1 really starts mid-clip
    assert all(np.array_equal(one[index], split[index]) for index in range(first_seam))  # chunk 0: exact
    # Elsewhere a feedback dream has no single answer: a one-level change of the first frame moves the one-machine
    # render as far. The split render stays within that spread, and exactly as strongly dreamt, seams included.
    later = range(plan.chunks[1].first, FRAMES)
    spread = mean_difference(one, nudged, later)
    assert spread > 2  # the dream really is that sensitive (else this test would prove nothing)
    assert mean_difference(one, split, later) <= 1.25 * spread
    windows = [index for index in range(FRAMES) if plan.blend(index) is not None]
    assert windows == [*range(8, 16), *range(24, 32)]
    assert mean_difference(one, split, windows) <= 1.25 * spread
    for index in range(FRAMES):
        assert strength(split[index], undreamt[index]) == pytest.approx(strength(one[index], undreamt[index]),
                                                                        rel=0.07), index  # fmt: skip


def test_without_warmup_each_chunk_would_start_undreamt(clip, squeezenet, cluster, undreamt, one_torch_thread,
                                                        tmp_path):  # fmt: skip
    settings = settings_at(squeezenet, 0.8, lr=0.01)  # a gentle dream that builds up over many frames
    cold = ChunkPlan(FRAMES, CHUNK_FRAMES, 0)
    farm_render(open_source(clip), tmp_path / "cold.mp4", job_for(clip, settings), cold, cluster, keep_frames=True)
    one = one_machine(clip, squeezenet, settings, tmp_path / "one.mp4")
    chunk = cold.chunks[2]
    start = chunk.keep_from  # the first frame chunk 2 dreams, with nothing carried into it
    own = read_image(ChunkFolder(tmp_path / "cold.mp4").frame_path(chunk, start)).astype(np.int16)
    assert strength(own, undreamt[start]) < 0.8 * strength(one[start], undreamt[start])


def test_a_chunk_whose_worker_dies_is_dreamt_again_and_the_render_completes(clip, squeezenet, cluster, dreamt,
                                                                            tmp_path):  # fmt: skip
    marker = tmp_path / "crash-once"
    marker.touch()
    split = on_ray(clip, settings_at(squeezenet, 0.5), cluster, tmp_path / "crash.mp4", fn=CrashOnce(marker, 1))
    assert not marker.exists()  # the worker did die half-way through chunk 1
    assert all(np.array_equal(a, b) for a, b in zip(split, dreamt["ray"], strict=True))


def test_resume_dreams_only_the_missing_chunks(clip, squeezenet, cluster, dreamt, tmp_path):
    settings, output = settings_at(squeezenet, 0.5), tmp_path / "resumed.mp4"
    job, plan = job_for(clip, settings), plan_for(settings)
    stopped = farm_render(open_source(clip), output, job, plan, cluster, stop=lambda ended: ended == 1)
    assert not stopped.finished and not output.exists() and len(stopped.dreamt) == 1
    kept = ChunkFolder(output).recorded(plan)
    assert kept == set(stopped.dreamt)
    with pytest.raises(DreamwallError, match="add --resume"):
        farm_render(open_source(clip), output, job, plan, cluster)
    resumed = farm_render(open_source(clip), output, job, plan, cluster, resume=True, keep_frames=True)
    assert resumed.finished and set(resumed.dreamt) == {0, 1, 2} - kept
    split = frames_of(WorkFolder(output))
    assert all(np.array_equal(a, b) for a, b in zip(split, dreamt["ray"], strict=True))
    other = job_for(clip, settings_at(squeezenet, 0.6))
    with pytest.raises(DreamwallError, match=r"cannot resume: feedback\.feedback was 0\.5, now 0\.6"):
        farm_render(open_source(clip), output, other, plan, cluster, resume=True)


def test_a_chunk_that_fails_by_itself_stops_the_render_in_one_line_and_keeps_what_is_finished(
    clip, squeezenet, cluster, tmp_path
):
    settings, output = settings_at(squeezenet, 0.5), tmp_path / "fails.mp4"
    job, plan = job_for(clip, settings), plan_for(settings)
    finish_first = farm_render(open_source(clip), output, job, plan, cluster, stop=lambda ended: ended == 1)
    kept = ChunkFolder(output).recorded(plan)
    failing = ({0, 1, 2} - kept).pop()
    with pytest.raises(DreamwallError, match=rf"^chunk {failing} \(frames \d+-\d+\): node-7 cannot see /clips/in.mp4$"):
        farm_render(open_source(clip), output, job, plan, cluster, resume=True,
                    fn=RaisesOnChunk(failing, "node-7 cannot see /clips/in.mp4"))  # fmt: skip
    assert not output.exists() and kept <= ChunkFolder(output).recorded(plan) and finish_first.dreamt


def test_a_chunk_whose_worker_always_dies_fails_after_rays_retries(clip, squeezenet, cluster, tmp_path):
    settings, output = settings_at(squeezenet, 0.0), tmp_path / "dies.mp4"
    with pytest.raises(DreamwallError, match=r"^chunk 2 failed after 3 retries: "):
        farm_render(open_source(clip), output, job_for(clip, settings), plan_for(settings), cluster, fn=CrashAlways(2))
    assert not output.exists()
