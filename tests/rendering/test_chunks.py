"""Cutting a render into chunks: the warm-up rule, every frame owned once, crossfade shares, the default cut,
and the work folder's stitching and resume checks (no Ray here: see test_ray_render.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.errors import DreamwallError
from engine.temporal import FeedbackParams
from installation.outputs.images import encode_image, read_image, write_image
from installation.rendering.split.folder import ChunkFolder
from installation.rendering.split.plan import (
    ChunkPlan,
    crossfaded,
    default_chunk_frames,
    warmup_frames,
)
from installation.rendering.work_folder import WorkFolder


@pytest.mark.parametrize(("feedback", "frames"), [(0.0, 0), (0.5, 7), (0.7, 13), (0.8, 21), (0.9, 44), (0.95, 91)])
def test_warmup_is_where_the_missed_dream_falls_under_half_a_level(feedback, frames):
    params = FeedbackParams(feedback=feedback)
    assert warmup_frames(params) == frames
    if frames:  # the first count that makes it: one frame fewer is not enough
        assert feedback**frames * params.max_detail <= 0.5 / 255 < feedback ** (frames - 1) * params.max_detail


def test_feedback_one_cannot_be_split():
    with pytest.raises(ValueError, match="never forgets"):
        warmup_frames(FeedbackParams(feedback=1.0))


@pytest.mark.parametrize(("total", "chunk_frames", "warmup"), [(36, 12, 7), (37, 12, 30), (5, 2, 3), (1, 10, 5)])
def test_every_frame_is_owned_once_and_chunks_never_start_before_frame_zero(total, chunk_frames, warmup):
    plan = ChunkPlan(total, chunk_frames, warmup)
    owned = [index for chunk in plan.chunks for index in range(chunk.first, chunk.stop)]
    assert owned == list(range(total))
    for chunk in plan.chunks:
        assert 0 <= chunk.dream_from <= chunk.keep_from <= chunk.first < chunk.stop <= total
        assert chunk.crossfade == (0 if chunk.first == 0 else plan.crossfade)
        if chunk.first:
            assert chunk.keep_from - chunk.dream_from == min(warmup, chunk.keep_from)
        assert plan.owner(chunk.first) == chunk


def test_crossfade_shares_rise_to_the_next_chunk_and_stay_inside_the_previous_one():
    plan = ChunkPlan(48, 16, 7)
    assert plan.crossfade == 8
    shares = {index: plan.blend(index) for index in range(48)}
    blended = sorted(index for index, meeting in shares.items() if meeting is not None)
    assert blended == [*range(8, 16), *range(24, 32)]
    previous, following, _ = shares[8]
    assert (previous.index, following.index) == (0, 1)
    assert [shares[index][2] for index in range(8, 16)] == pytest.approx([k / 9 for k in range(1, 9)])
    assert ChunkPlan(10, 3, 0).crossfade == 1 and ChunkPlan(10, 1, 0).crossfade == 0  # short chunks: short seams


def test_default_cut_balances_workers_but_keeps_warmup_under_a_quarter():
    assert default_chunk_frames(600, 2, 13) == 100  # six chunks: three per worker
    frames = default_chunk_frames(500, 8, 44)  # 24 chunks would be 21 frames: mostly warm-up
    assert frames == 250 and (44 + 8) / frames <= 0.25
    assert default_chunk_frames(50, 4, 44) == 50  # too short to split well: one chunk
    plan = ChunkPlan(301, default_chunk_frames(301, 2, 0), 0)
    sizes = [chunk.owned for chunk in plan.chunks]
    assert len(sizes) == 6 and min(sizes) >= max(sizes) - len(sizes)  # evened out: no stub at the end


def test_crossfade_keeps_the_strength_of_two_different_dreams_of_one_frame():
    rng = np.random.default_rng(0)
    undreamt = np.full((64, 64, 3), 120, np.uint8)
    first, second = (np.clip(120 + rng.normal(0, 20, undreamt.shape), 0, 255).astype(np.uint8) for _ in range(2))
    mixed = crossfaded(first, second, 0.5, undreamt)
    strength = np.sqrt(np.mean((mixed.astype(float) - 120) ** 2))
    plain = np.sqrt(np.mean(((first.astype(float) + second) / 2 - 120) ** 2))
    assert strength == pytest.approx(20, rel=0.05) and plain < 15  # a plain blend would soften the seam
    assert np.array_equal(crossfaded(first, first, 0.3, undreamt), first)  # one dream: nothing to fix
    dark, light = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 200, np.uint8)
    assert (crossfaded(dark, light, 0.25, dark) == 50).all()
    assert (crossfaded(dark, light, 0.0, dark) == 0).all() and (crossfaded(dark, light, 1.0, dark) == 200).all()


def _fill(folder: ChunkFolder, plan: ChunkPlan, value_of) -> None:
    for chunk in plan.chunks:
        for index in chunk.kept:
            undreamt = encode_image(np.zeros((4, 6, 3), np.uint8)) if index < chunk.first else None
            folder.save(chunk, index, encode_image(np.full((4, 6, 3), value_of(chunk, index), np.uint8)), undreamt)
        folder.finish(chunk, folder.recorded(plan))


def test_stitch_links_owned_frames_and_crossfades_the_seams(tmp_path):
    plan = ChunkPlan(10, 5, 2)  # crossfade 2: frames 3 and 4 blend chunk 0 into chunk 1
    folder = ChunkFolder(tmp_path / "out.mp4")
    folder.open({"chunks": plan.manifest()}, plan, (6, 4), resume=False)
    _fill(folder, plan, lambda chunk, index: 100 * chunk.index)
    frames = folder.stitch(plan)
    values = [int(read_image(frames / f"{index:06d}.png")[0, 0, 0]) for index in range(10)]
    assert values == [0, 0, 0, 33, 67, 100, 100, 100, 100, 100]
    assert (frames / "000000.png").stat().st_ino == folder.frame_path(plan.chunks[0], 0).stat().st_ino  # no copy


def test_resume_keeps_intact_chunks_and_dreams_a_damaged_one_again(tmp_path):
    plan = ChunkPlan(10, 5, 2)
    manifest = {"network": "squeezenet1_1", "chunks": plan.manifest()}
    folder = ChunkFolder(tmp_path / "out.mp4")
    folder.open(manifest, plan, (6, 4), resume=False)
    _fill(folder, plan, lambda chunk, index: 10)
    with pytest.raises(DreamwallError, match="add --resume"):
        folder.open(manifest, plan, (6, 4), resume=False)
    assert folder.open(manifest, plan, (6, 4), resume=True) == {0, 1}
    folder.frame_path(plan.chunks[1], 7).write_bytes(b"not a png")
    assert folder.open(manifest, plan, (6, 4), resume=True) == {0}
    write_image(folder.frame_path(plan.chunks[1], 7), np.zeros((8, 6, 3), np.uint8))  # wrong size
    assert folder.open(manifest, plan, (6, 4), resume=True) == {0}
    other = {**manifest, "chunks": ChunkPlan(10, 4, 2).manifest()}
    with pytest.raises(DreamwallError, match=r"cannot resume: chunks\.chunk_frames was 5, now 4"):
        folder.open(other, plan, (6, 4), resume=True)


def test_damaged_chunk_state_and_a_one_machine_folder_are_refused_in_one_line(tmp_path):
    plan = ChunkPlan(10, 5, 2)
    folder = ChunkFolder(tmp_path / "out.mp4")
    folder.open({"chunks": plan.manifest()}, plan, (6, 4), resume=False)
    (folder.path / "chunks.json").write_text(json.dumps({"finished": [0, 7]}))
    with pytest.raises(DreamwallError, match=r"says chunks \[0, 7\] are finished, expected numbers from 0 to 1"):
        folder.open({"chunks": plan.manifest()}, plan, (6, 4), resume=True)
    plain = WorkFolder(tmp_path / "plain.mp4")
    plain.start({"frames": 10})
    with pytest.raises(DreamwallError, match="one-machine render: continue it without --ray"):
        ChunkFolder(tmp_path / "plain.mp4").open({}, plan, (6, 4), resume=True)
