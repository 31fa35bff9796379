"""Attract mode: starts after the still period and stops at the first motion (injected clock);
the zoom/rotate transform zooms, rotates without distorting, and feeds the dream."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.attract import MAX_FRAME_S, AttractMode, AttractParams, ZoomParams, attract_frame, zoom_rotate
from engine.errors import DreamwallError
from engine.imageops import to_tensor


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_attract_mode_starts_after_the_still_period_and_stops_when_someone_moves():
    clock = FakeClock()
    mode = AttractMode(after_s=30, clock=clock, threshold=0.1)
    for _ in range(29):
        clock.now += 1
        assert mode.update(0.0) is False
    clock.now += 1
    assert mode.update(0.02) is True  # 30 s of (almost) nothing
    clock.now += 100
    assert mode.update(0.05) is True
    assert mode.update(0.6) is False  # someone arrived: back to the camera at once
    clock.now += 29
    assert mode.update(0.0) is False  # the stillness timer started again
    clock.now += 1
    assert mode.update(0.0) is True


def test_motion_during_the_wait_restarts_the_timer():
    clock = FakeClock()
    mode = AttractMode(after_s=10, clock=clock)
    clock.now += 9
    assert not mode.update(0.5)
    clock.now += 9
    assert not mode.update(0.0)
    clock.now += 1
    assert mode.update(0.0)


def test_zero_delay_disables_attract_mode_and_reset_restarts():
    clock = FakeClock()
    off = AttractMode(after_s=0, clock=clock)
    clock.now += 10_000
    assert off.update(0.0) is False
    mode = AttractMode(after_s=5, clock=clock)
    clock.now += 6
    assert mode.update(0.0)
    mode.reset()
    assert not mode.active and not mode.update(0.0)
    with pytest.raises(DreamwallError, match="attract after_s must be between"):
        AttractMode(after_s=-1, clock=clock)


def disc(width: int = 64, height: int = 48, radius: float = 10.0) -> torch.Tensor:
    yy, xx = np.mgrid[0:height, 0:width]
    inside = ((xx - (width - 1) / 2) ** 2 + (yy - (height - 1) / 2) ** 2) <= radius**2
    image = np.where(inside[..., None], 0.9, 0.1).repeat(3, axis=2).astype(np.float32)
    return to_tensor(image)


def test_identity_transform_leaves_the_image_alone():
    image = disc()
    assert torch.allclose(zoom_rotate(image, ZoomParams(zoom=1.0, rotate_deg=0.0)), image, atol=1e-5)


def test_zoom_flies_into_the_picture():
    image = disc()
    zoomed = zoom_rotate(image, ZoomParams(zoom=1.5, rotate_deg=0.0))
    bright_before = float((image > 0.5).float().sum())
    bright_after = float((zoomed > 0.5).float().sum())
    assert bright_after == pytest.approx(bright_before * 1.5**2, rel=0.15)


def test_rotation_of_a_wide_frame_keeps_a_circle_round():
    """On a non-square frame a wrong aspect correction would shear the disc into an ellipse."""
    image = disc()
    rotated = zoom_rotate(image, ZoomParams(zoom=1.0, rotate_deg=40.0))
    assert (rotated - image).abs().mean() < 0.01
    bar = torch.full_like(image, 0.1)
    bar[..., 22:26, 8:56] = 0.9  # a horizontal bar does move
    assert (zoom_rotate(bar, ZoomParams(zoom=1.0, rotate_deg=40.0)) - bar).abs().mean() > 0.05


def test_attract_frame_dreams_the_transformed_previous_frame():
    image = disc()
    params = ZoomParams(zoom=1.1, rotate_deg=3.0)
    seen: list[torch.Tensor] = []

    def dream(x: torch.Tensor) -> torch.Tensor:
        seen.append(x)
        return x * 0.5

    out = attract_frame(image, params, dream)
    assert torch.equal(seen[0], zoom_rotate(image, params))
    assert torch.equal(out, seen[0] * 0.5)


def test_rates_per_second_become_per_frame_steps():
    per_frame = ZoomParams.per_frame(zoom_per_s=1.21, rotate_deg_per_s=3.0, dt=0.5)
    assert per_frame.zoom == pytest.approx(1.1) and per_frame.rotate_deg == pytest.approx(1.5)
    two = zoom_rotate(zoom_rotate(disc(), per_frame), per_frame)
    once = zoom_rotate(disc(), ZoomParams.per_frame(1.21, 3.0, dt=1.0))
    assert (two - once).abs().mean() < 0.02  # two half-second frames ~ one second


def test_a_new_delay_keeps_the_stillness_timer_running():
    clock = FakeClock()
    mode = AttractMode(after_s=60, clock=clock)
    clock.now += 40
    assert not mode.update(0.0)
    mode.set_after(30)  # a playlist moved on to a preset with a shorter delay
    assert mode.update(0.0)  # 40 s of stillness already count
    mode.set_after(0)
    assert not mode.active and not mode.update(0.0)


def test_attract_params_follow_the_preset_and_cap_a_stalled_frame():
    params = AttractParams(after_s=20, zoom_per_s=1.21, rotate_deg_per_s=4.0)
    assert params.still_after_s == 20 and AttractParams(enabled=False).still_after_s == 0
    assert params.zoom_for(0.5) == ZoomParams.per_frame(1.21, 4.0, 0.5)
    assert params.zoom_for(30.0) == params.zoom_for(MAX_FRAME_S)  # a stall does not jump the zoom
    assert params.zoom_for(0.0) == ZoomParams(zoom=1.0, rotate_deg=0.0)
    with pytest.raises(DreamwallError, match=r"attract zoom must be between 0\.8 and 1\.25, got 3"):
        AttractParams(zoom_per_s=3.0)
    with pytest.raises(DreamwallError, match="source lost fps must be between"):
        AttractParams(lost_fps=0.0)
