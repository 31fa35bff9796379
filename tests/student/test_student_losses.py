"""The objective sees frame and dream through one random scale and roll, as the teacher's octaves and jitter do."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.student.losses import seen_as


def test_frame_and_dream_are_seen_through_the_same_scale_and_roll() -> None:
    frames = torch.rand(2, 3, 64, 96)
    seen_frames, seen_dreams = seen_as(frames, frames.clone(), 0.5, torch.Generator().manual_seed(3))
    assert torch.equal(seen_frames, seen_dreams)  # the same picture in both: the same transform
    assert seen_frames.shape[:2] == (2, 3)
    assert 32 <= seen_frames.shape[-2] <= 64 and 48 <= seen_frames.shape[-1] <= 96


def test_the_scale_varies_between_draws_and_stays_in_range() -> None:
    frames, generator = torch.rand(1, 3, 100, 100), torch.Generator().manual_seed(0)
    sides = {seen_as(frames, frames, 0.6, generator)[0].shape[-1] for _ in range(20)}
    assert len(sides) > 3 and min(sides) >= 60 and max(sides) <= 100


def test_a_one_pixel_mesh_does_not_survive_being_seen_smaller() -> None:
    """What the transform is for: a pattern at the pixel grid's phase fades when seen at 3/4 size or less, a large
    pattern stays."""
    mesh = torch.zeros(1, 3, 96, 96)
    mesh[..., ::2, ::2] = 1.0
    blob = F.interpolate(torch.rand(1, 3, 6, 6, generator=torch.Generator().manual_seed(0)), size=(96, 96),
                         mode="bilinear", align_corners=False)  # fmt: skip
    mesh, blob = mesh - mesh.mean(), blob - blob.mean()
    checked = 0
    for seed in range(20):
        mesh_seen = seen_as(mesh, mesh, 0.5, torch.Generator().manual_seed(seed))[0]
        blob_seen = seen_as(blob, blob, 0.5, torch.Generator().manual_seed(seed))[0]
        if mesh_seen.shape[-1] <= 72:
            checked += 1
            assert mesh_seen.std() < 0.2 * mesh.std()
            assert blob_seen.std() > 0.8 * blob.std()
    assert checked >= 3
