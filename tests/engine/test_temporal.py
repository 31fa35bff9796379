"""Temporal feedback: detail follows motion, occlusions restart, and the loop never runs away."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import cv2
import numpy as np
import pytest
import torch
from torch import Tensor

from engine.errors import DreamwallError
from engine.imageops import gaussian_blur, to_tensor
from engine.networks import DreamNet
from engine.objectives import parse_objective
from engine.post import PostParams, apply_post, luma, saturation
from engine.step import StepParams, autograd_gradient, dream_step
from engine.temporal import (
    FeedbackParams,
    TemporalFeedback,
    cap_energy,
    carried_start,
    dis_flow,
    trust_mask,
    warp,
    warp_each,
    zero_mean,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def scene(chelsea: np.ndarray) -> Tensor:
    return to_tensor(cv2.resize(chelsea, (64, 48), interpolation=cv2.INTER_AREA))


def texture(seed: int, height: int = 48, width: int = 64) -> Tensor:
    """Smooth random colour texture: something optical flow can lock onto."""
    noise = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(seed))
    smooth = gaussian_blur(noise, 2.0)
    return (smooth - smooth.amin()) / (smooth.amax() - smooth.amin())


def shifted(image: Tensor, dx: int) -> Tensor:
    return image.roll(dx, dims=3)


def correlation(a: Tensor, b: Tensor) -> float:
    a, b = a.flatten() - a.mean(), b.flatten() - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()))


# -- single-frame properties ----------------------------------------------------


def test_no_feedback_starts_from_the_raw_frame() -> None:
    source = texture(0)
    out = carried_start(texture(1), texture(2), source, FeedbackParams(feedback=0.0), dis_flow())
    assert torch.equal(out, source)


def test_static_scene_carries_the_detail_in_place() -> None:
    source = texture(0) * 0.6 + 0.2
    detail = (texture(1) - 0.5) * 0.1
    params = FeedbackParams(feedback=0.8, flow=False)
    carried = carried_start(source + detail, source, source, params) - source
    assert torch.allclose(carried, 0.8 * zero_mean(detail), atol=1e-3)


def test_detail_follows_the_motion_of_the_scene() -> None:
    prev_source = texture(0) * 0.6 + 0.2
    detail = (texture(1) - 0.5) * 0.1
    source = shifted(prev_source, 3)  # the scene moved 3 pixels right
    params = FeedbackParams(feedback=1.0, flow=True, occlusion=0.2)
    carried = carried_start(prev_source + detail, prev_source, source, params, dis_flow()) - source
    inner = (..., slice(6, -6), slice(8, -8))  # away from the borders the roll wrapped
    followed = correlation(carried[inner], shifted(detail, 3)[inner])
    stayed = correlation(carried[inner], detail[inner])
    assert followed > 0.8
    assert followed > stayed + 0.3


def test_without_flow_the_detail_does_not_move() -> None:
    prev_source = texture(0) * 0.6 + 0.2
    detail = (texture(1) - 0.5) * 0.1
    source = shifted(prev_source, 1)
    params = FeedbackParams(feedback=1.0, flow=False, occlusion=1.0)
    carried = carried_start(prev_source + detail, prev_source, source, params) - source
    assert torch.allclose(carried, zero_mean(detail), atol=1e-3)


def test_occluded_regions_restart_from_the_raw_frame() -> None:
    prev_source = texture(0) * 0.5 + 0.25
    detail = (texture(1) - 0.5) * 0.1
    source = prev_source.clone()
    source[..., 10:30, 20:44] = 0.95  # something new (and brighter than anything before) appeared here
    params = FeedbackParams(feedback=1.0, flow=True, occlusion=0.1)
    start = carried_start(prev_source + detail, prev_source, source, params, dis_flow())
    carried = (start - source).abs().mean(dim=1)[0]
    assert float(carried[14:26, 24:40].max()) < 1e-3  # inside: exactly the new frame
    assert float(carried[35:, :].mean()) > 0.01  # elsewhere the dream is still there


def test_flow_feedback_needs_an_estimator() -> None:
    with pytest.raises(ValueError, match="flow estimator"):
        carried_start(texture(1), texture(0), texture(0), FeedbackParams(flow=True), None)


def test_warp_with_zero_flow_is_the_identity() -> None:
    image = texture(3)
    assert torch.allclose(warp(image, torch.zeros(48, 64, 2)), image, atol=1e-5)


def test_warp_samples_each_pixel_at_its_flow() -> None:
    image, other = texture(3), texture(5)
    flow = torch.zeros(48, 64, 2)
    flow[..., 0], flow[..., 1] = 3.0, -2.0  # every pixel reads from 3 px right and 2 px up
    moved, other_moved = warp_each((image, other), flow)
    torch.testing.assert_close(moved[..., 2:, :-3], image[..., :-2, 3:])
    torch.testing.assert_close(other_moved[..., 2:, :-3], other[..., :-2, 3:])
    torch.testing.assert_close(moved, warp(image, flow))
    half = torch.full((48, 64, 2), 0.5)  # between four pixels: their mean
    corners = (image[..., :-1, :-1] + image[..., :-1, 1:] + image[..., 1:, :-1] + image[..., 1:, 1:]) / 4
    torch.testing.assert_close(warp(image, half)[..., :-1, :-1], corners)


@pytest.mark.parametrize("wrap", [False, True])
def test_the_carried_start_is_the_documented_sum(wrap: bool) -> None:
    """The fused arithmetic of carried_start against the formula written one step at a time."""
    prev_source = texture(0)
    prev_output = (prev_source + 0.3 * (texture(2) - 0.5)).clamp(0, 1)
    flow = torch.randn(2, 12, 16, generator=torch.Generator().manual_seed(0))
    flow = torch.nn.functional.interpolate(flow[None], size=(48, 64), mode="bilinear")[0].permute(1, 2, 0) * 2
    source = warp(prev_source, flow, wrap)
    source[..., 10:30, 20:40] = texture(1)[..., 10:30, 20:40]  # something new: restarts from the raw frame
    params = FeedbackParams(feedback=0.9, occlusion=0.08, max_detail=0.02, wrap=wrap)
    detail, aligned = (warp(image, flow, wrap) for image in (prev_output - prev_source, prev_source))
    mask = trust_mask(aligned, source, params.occlusion)
    carried = cap_energy(zero_mean(detail) * mask, params.max_detail)
    want = (source + params.feedback * carried).clamp(0.0, 1.0)
    got = carried_start(prev_output, prev_source, source, params, flow=flow)
    assert mask.amin() < 0.01 and mask.amax() > 0.99  # carried and restarted pixels both
    assert not torch.equal(carried, zero_mean(detail) * mask)  # the cap is reached
    torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)


def test_energy_cap_scales_down_but_never_up() -> None:
    loud = (texture(4) - 0.5) * 2
    quiet = loud * 0.01
    assert float(cap_energy(loud, 0.1).pow(2).mean().sqrt()) == pytest.approx(0.1, rel=1e-4)
    assert torch.equal(cap_energy(quiet, 0.1), quiet)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"feedback": 1.5}, "feedback must be between 0 and 1, got 1.5"),
        ({"occlusion": -0.1}, "occlusion threshold must be between 0 and 1, got -0.1"),
    ],
)
def test_feedback_params_are_range_checked(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(DreamwallError) as error:
        FeedbackParams(**kwargs)  # type: ignore[arg-type]
    assert str(error.value) == message


# -- the loop stays bounded -----------------------------------------------------

Step = Callable[[Tensor], Tensor]


def brighten(image: Tensor) -> Tensor:
    """A cheap stand-in for a dream step that always pushes the image brighter."""
    return (image + 0.02).clamp(0, 1)


def saturate(image: Tensor) -> Tensor:
    """A stand-in that always pushes colours away from grey."""
    grey = luma(image)
    return (grey + 1.05 * (image - grey)).clamp(0, 1)


def run_loop(scene: Tensor, step: Step, params: FeedbackParams, frames: int) -> tuple[list[float], list[float]]:
    """Feed a static, slightly noisy scene through feedback + `step`; brightness and saturation per frame."""
    feedback = TemporalFeedback(dis_flow())
    generator = torch.Generator().manual_seed(0)
    brightness, colour = [], []
    for _ in range(frames):
        source = (scene + 0.01 * torch.randn(scene.shape, generator=generator)).clamp(0, 1)
        out = step(step(feedback.start(source, params)))
        feedback.remember(source, out)
        brightness.append(float(luma(out).mean()))
        colour.append(float(saturation(out).mean()))
    return brightness, colour


def test_the_stand_in_steps_do_run_away_without_the_bounds(scene: Tensor) -> None:
    """Sanity check of the test below: naive feedback (start from last output) drifts away."""
    image = scene
    for _ in range(100):
        image = brighten(brighten(image))
    assert float(luma(image).mean()) > float(luma(scene).mean()) + 0.3


@pytest.mark.parametrize("step", [brighten, saturate], ids=["brighten", "saturate"])
@pytest.mark.parametrize("flow", [True, False], ids=["flow", "no-flow"])
def test_feedback_loop_stays_bounded_over_many_frames(scene: Tensor, step: Step, flow: bool) -> None:
    params = FeedbackParams(feedback=1.0, flow=flow, max_detail=0.1)
    brightness, colour = run_loop(scene, step, params, frames=1000)
    once = step(step(scene))  # what the step does to a single frame, with no feedback at all
    assert max(brightness) < float(luma(once).mean()) + 0.05
    assert max(colour) < float(saturation(once).mean()) + 2 * params.max_detail
    settled = brightness[500:], colour[500:]
    assert max(settled[0]) - min(settled[0]) < 0.02  # no slow creep once settled
    assert max(settled[1]) - min(settled[1]) < 0.02


def test_real_dream_feedback_stays_bounded_and_steadies_the_picture(squeezenet: DreamNet, scene: Tensor) -> None:
    objective = parse_objective("fire7", squeezenet)
    gradient = autograd_gradient(squeezenet, objective)
    step_params = StepParams(lr=0.03, jitter=4)

    def run(params: FeedbackParams) -> tuple[list[float], list[float], float]:
        feedback = TemporalFeedback(dis_flow())
        generator = torch.Generator().manual_seed(1)
        brightness, colour, changes, previous = [], [], [], None
        for _ in range(200):
            source = (scene + 0.01 * torch.randn(scene.shape, generator=generator)).clamp(0, 1)
            image = feedback.start(source, params)
            for _ in range(2):
                image = dream_step(squeezenet, image, objective, step_params, generator, gradient)
            feedback.remember(source, image)
            brightness.append(float(luma(image).mean()))
            colour.append(float(saturation(image).mean()))
            if previous is not None:
                changes.append(float((image - previous).abs().mean()))
            previous = image
        return brightness, colour, float(np.mean(changes[50:]))

    brightness, colour, change_with = run(FeedbackParams(feedback=0.9))
    _, _, change_without = run(FeedbackParams(feedback=0.0))
    assert max(abs(b - float(luma(scene).mean())) for b in brightness) < 0.05
    assert max(colour) < float(saturation(scene).mean()) + 0.2
    assert max(colour[100:]) - min(colour[100:]) < 0.03
    assert change_with < change_without  # the dream persists instead of restarting every frame


# -- post -----------------------------------------------------------------------


def test_post_identity_and_grading(scene: Tensor) -> None:
    assert apply_post(scene, PostParams()) is scene
    grey = apply_post(scene, PostParams(saturation=0.0))
    assert float(saturation(grey).max()) < 1e-5
    flat = apply_post(scene, PostParams(contrast=0.0))
    assert torch.allclose(flat, torch.full_like(scene, 0.5))
    brighter = apply_post(scene, PostParams(brightness=0.1))
    assert float(luma(brighter).mean()) > float(luma(scene).mean())
    with pytest.raises(DreamwallError, match="saturation must be between 0 and 3, got 4"):
        PostParams(saturation=4.0)


@pytest.mark.parametrize("gamma", [0.5, 0.8, 1.5, 2.2])
def test_gamma_moves_mid_tones_keeps_black_white_and_order(gamma: float) -> None:
    ramp = torch.linspace(0, 1, 64).repeat(1, 3, 48, 1)
    out = apply_post(ramp, PostParams(gamma=gamma))
    assert torch.allclose(out[..., 0], ramp[..., 0]) and torch.allclose(out[..., -1], ramp[..., -1])
    assert bool((out[..., 1:] >= out[..., :-1]).all())  # still a ramp: no tone is inverted
    middle = out[..., 1:-1] - ramp[..., 1:-1]
    assert bool((middle > 0).all()) if gamma > 1 else bool((middle < 0).all())  # above 1 lifts the mid-tones


@pytest.mark.parametrize("seed", range(3))
def test_mix_blends_the_graded_dream_with_the_raw_frame(seed: int) -> None:
    raw, dream = texture(seed), texture(seed + 10)
    graded = PostParams(saturation=1.5, gamma=1.3)
    assert torch.equal(apply_post(dream, PostParams(mix=0.0), raw), raw)  # 0 = the camera as it is
    assert torch.allclose(apply_post(dream, graded, raw), apply_post(dream, PostParams(saturation=1.5, gamma=1.3)))
    mixes = [0.0, 0.25, 0.5, 0.75, 1.0]
    outs = [apply_post(dream, PostParams(saturation=1.5, gamma=1.3, mix=m), raw) for m in mixes]
    target = apply_post(dream, graded)
    distances = [float((o - target).abs().mean()) for o in outs]
    assert all(a > b for a, b in itertools.pairwise(distances))  # more mix, closer to the dream
    assert torch.allclose(outs[2], (raw + target) / 2, atol=1e-6)
    with pytest.raises(ValueError, match="needs the raw camera frame"):
        apply_post(dream, PostParams(mix=0.5))
    with pytest.raises(DreamwallError, match=r"gamma must be between 0\.2 and 5, got 9"):
        PostParams(gamma=9.0)
