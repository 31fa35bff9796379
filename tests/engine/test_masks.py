"""Who dreams: the background mask's shape, its slow adaptation, and masked steps leaving the camera exact."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from engine.errors import DreamwallError
from engine.masks import STILL_FADE_S, BackgroundMask, MaskParams, masked, shape_mask

ROOM = (cv2.GaussianBlur(np.random.default_rng(0).integers(60, 160, (54, 96)).astype(np.uint8), (5, 5), 2))


def with_disc(centre: tuple[int, int], noise: np.random.Generator) -> np.ndarray:
    frame = ROOM.copy()
    cv2.circle(frame, centre, 10, 230, -1)
    return np.clip(frame + noise.normal(0, 1.5, frame.shape), 0, 255).astype(np.uint8)


def test_a_moving_disc_is_the_foreground_and_the_still_room_is_not() -> None:
    noise, model = np.random.default_rng(1), BackgroundMask()
    model.foreground(ROOM, 0.1)
    for x in range(20, 60, 2):
        moving = model.foreground(with_disc((x, 27), noise), 0.1)
    assert moving[27, 58] == 255 and moving[5:15, 5:30].max() == 0


def test_a_visitor_standing_still_fades_into_the_room_over_about_a_minute() -> None:
    noise, model, fps = np.random.default_rng(2), BackgroundMask(), 10
    model.foreground(ROOM, 1 / fps)
    faded_at = None
    for frame in range(int(3 * STILL_FADE_S * fps)):
        if model.foreground(with_disc((48, 27), noise), 1 / fps)[22:33, 43:54].mean() < 128:
            faded_at = frame / fps
            break
    assert faded_at is not None and 0.6 * STILL_FADE_S < faded_at < 1.5 * STILL_FADE_S, faded_at


def test_the_fade_does_not_depend_on_the_frame_rate() -> None:
    def faded_after(fps: int) -> float:
        noise, model = np.random.default_rng(3), BackgroundMask()
        model.foreground(ROOM, 1 / fps)
        for frame in range(int(3 * STILL_FADE_S * fps)):
            if model.foreground(with_disc((48, 27), noise), 1 / fps)[22:33, 43:54].mean() < 128:
                return frame / fps
        return float("inf")

    assert faded_after(5) == pytest.approx(faded_after(20), rel=0.2)


def test_visitors_and_room_are_opposites_and_strength_scales_the_rest() -> None:
    moving = np.zeros((40, 40), np.float32)
    moving[10:30, 10:30] = 1
    visitors = shape_mask(moving, MaskParams("visitors", 1.0, 0.0))
    room = shape_mask(moving, MaskParams("room", 1.0, 0.0))
    np.testing.assert_array_equal(visitors + room, 1)
    half = shape_mask(moving, MaskParams("visitors", 0.5, 0.0))
    assert half[0, 0] == 0.5 and half[20, 20] == 1


def test_the_feather_leaves_no_hard_edge() -> None:
    moving = np.zeros((60, 60), np.float32)
    moving[20:40, 20:40] = 1
    hard = shape_mask(moving, MaskParams("visitors", 1.0, 0.0))
    soft = shape_mask(moving, MaskParams("visitors", 1.0, 4.0))
    assert np.abs(np.diff(hard, axis=1)).max() == 1
    assert np.abs(np.diff(soft, axis=1)).max() < 0.15


def test_masked_keeps_the_base_exactly_where_the_mask_is_zero() -> None:
    base, image = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 4:] = 1
    out = masked(image, base, mask)
    assert torch.equal(out[..., :4], base[..., :4]) and torch.equal(out[..., 4:], image[..., 4:])


def test_bad_mask_settings_are_named() -> None:
    with pytest.raises(DreamwallError, match="did you mean"):
        MaskParams("visitor")
    with pytest.raises(DreamwallError, match="between 0 and 1"):
        MaskParams("room", strength=2)
