"""The warping error on a pure translation, where the answer is known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.consistency import FramePair, consistency, consistent_mask, source_pairs, warping_error
from engine.temporal import dis_flow

SHIFT = 2  # pixels per frame to the right
FRAMES = 5
HEIGHT, WIDTH = 64, 96


def smooth_texture(seed: int, height: int, width: int) -> np.ndarray:
    noise = np.random.default_rng(seed).random((height, width, 3)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 2.0)
    return (smooth - smooth.min()) / (smooth.max() - smooth.min())


def panned(big: np.ndarray, frame: int) -> np.ndarray:
    """A window onto `big` moving left, so the content moves SHIFT pixels right per frame."""
    x = (FRAMES - frame) * SHIFT
    return np.ascontiguousarray(big[:HEIGHT, x:x + WIDTH])


@pytest.fixture(scope="module")
def clip() -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """(source frames, a dream whose pattern moves with them, a dream whose pattern is redrawn every frame)."""
    scene = smooth_texture(0, HEIGHT, WIDTH + FRAMES * SHIFT) * 0.6 + 0.2
    pattern = (smooth_texture(1, HEIGHT, WIDTH + FRAMES * SHIFT) - 0.5) * 0.2
    sources = [panned(scene, t) for t in range(FRAMES)]
    moving = [s + panned(pattern, t) for t, s in enumerate(sources)]
    redrawn = [s + (smooth_texture(10 + t, HEIGHT, WIDTH) - 0.5) * 0.2 for t, s in enumerate(sources)]
    return sources, moving, redrawn


def exact_pairs() -> list[FramePair]:
    """The true flow of the pan: new(x) = prev(x - SHIFT); the first SHIFT columns came into view."""
    flow = np.zeros((HEIGHT, WIDTH, 2), np.float32)
    flow[..., 0] = -SHIFT
    return [FramePair(flow, consistent_mask(flow, -flow)) for _ in range(FRAMES - 1)]


def test_the_true_flow_trusts_all_but_what_came_into_view() -> None:
    (pair, *_) = exact_pairs()
    assert not pair.trusted[:, :SHIFT].any()
    assert pair.trusted[:, SHIFT:].all()


def test_a_dream_that_moves_with_the_scene_has_no_warping_error(clip) -> None:
    sources, moving, redrawn = clip
    pairs = exact_pairs()
    assert warping_error(sources, pairs) < 1e-6
    assert warping_error(moving, pairs) < 1e-6
    assert warping_error(redrawn, pairs) > 0.03


def test_estimated_flow_tells_a_steady_dream_from_a_flickering_one(clip) -> None:
    sources, moving, redrawn = clip
    greys = [cv2.cvtColor((s * 255).round().astype(np.uint8), cv2.COLOR_RGB2GRAY) for s in sources]
    pairs = source_pairs(greys, dis_flow(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM))
    steady, flickering = consistency(moving, sources, pairs), consistency(redrawn, sources, pairs)
    assert steady.source < 0.01  # DIS recovers the pan
    assert abs(steady.flicker) < 0.01
    assert flickering.flicker > 5 * max(steady.flicker, 0.003)
    assert steady.strength == pytest.approx(flickering.strength, rel=0.3)  # same strength: only the flicker differs
    assert flickering.flicker_per_strength > 0.5


def test_frames_and_pairs_must_match() -> None:
    with pytest.raises(ValueError, match="3 frames need 2 flow pairs, got 4"):
        warping_error([np.zeros((4, 4, 3))] * 3, exact_pairs())
