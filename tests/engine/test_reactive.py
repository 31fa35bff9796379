"""Motion-reactive dreaming: a moving square vs. a still scene, by frame difference and by flow;
the preset mappings; and the audio analysis behind the optional audio-reactive mode."""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pytest
import torch

from engine.errors import DreamwallError
from engine.imageops import to_tensor
from engine.reactive import (
    MotionLevel,
    MotionParams,
    MotionTracker,
    ReactiveMapping,
    SharedFlow,
    flow_motion,
    frame_motion,
    measure_motion,
)
from engine.temporal import dis_flow, grey_uint8
from installation.controls.audio import AudioAnalyzer, AudioReactive

WIDTH, HEIGHT = 64, 48


def scene(square_x: int | None, noise: float = 0.0, seed: int = 0) -> torch.Tensor:
    """Grey textured background with an optional bright square at x = square_x."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    base = 0.4 + 0.1 * np.sin(xx / 3.0) * np.cos(yy / 4.0)
    image = np.repeat(base[..., None], 3, axis=2)
    if square_x is not None:
        image[14:30, square_x : square_x + 16] = 0.9
    image = image + rng.normal(0, noise, image.shape)
    return to_tensor(np.clip(image, 0, 1).astype(np.float32))


def square_sequence(moving: bool, count: int = 8) -> list[torch.Tensor]:
    return [scene(8 + (4 * i if moving else 0), noise=0.01, seed=i) for i in range(count)]


def test_frame_difference_sees_the_moving_square_and_not_sensor_noise():
    still = square_sequence(moving=False)
    moving = square_sequence(moving=True)
    still_motion = [frame_motion(a, b) for a, b in itertools.pairwise(still)]
    moving_motion = [frame_motion(a, b) for a, b in itertools.pairwise(moving)]
    assert max(still_motion) < 0.01
    assert min(moving_motion) > 0.02
    assert max(moving_motion) < 0.5  # only the square's edges changed, not the whole picture


def test_optical_flow_measure_agrees_with_frame_difference():
    flow_fn = dis_flow()

    def flows(frames):
        return [
            flow_motion(torch.from_numpy(flow_fn(grey_uint8(b), grey_uint8(a))))
            for a, b in itertools.pairwise(frames)
        ]

    assert max(flows(square_sequence(moving=False))) < 0.01
    assert min(flows(square_sequence(moving=True))) > 0.02


def test_flow_motion_accepts_both_layouts_and_counts_the_fast_share():
    flow = torch.zeros(HEIGHT, WIDTH, 2)
    flow[:12, :, 0] = 3.0  # a quarter of the picture moves 3 px right
    assert flow_motion(flow) == pytest.approx(0.25)
    assert flow_motion(flow.permute(2, 0, 1).unsqueeze(0)) == pytest.approx(0.25)
    assert flow_motion(flow, threshold_px=5.0) == 0.0
    with pytest.raises(ValueError, match="flow must be"):
        flow_motion(torch.zeros(3, HEIGHT, WIDTH))


def test_measure_motion_follows_the_preset_choice():
    a, b = scene(8), scene(20)
    assert measure_motion("difference", a, b) == frame_motion(a, b)
    flow = torch.ones(1, 2, HEIGHT, WIDTH) * 2
    assert measure_motion("flow", a, b, flow) == 1.0
    with pytest.raises(ValueError, match="needs the optical flow"):
        measure_motion("flow", a, b)
    with pytest.raises(DreamwallError, match="did you mean 'flow'"):
        measure_motion("flwo", a, b)


def test_motion_level_rises_fast_when_people_move_and_settles_slowly():
    level = MotionLevel(sensitivity=0.5, smoothing_s=1.0)
    moving = square_sequence(moving=True)
    for a, b in itertools.pairwise(moving):
        level.update(frame_motion(a, b) * 10, dt=0.1)  # a busy room: ten squares
    risen = level.level
    assert risen > 0.5
    level.update(0.0, dt=0.1)
    after_short_stillness = level.level
    assert 0.5 * risen < after_short_stillness < risen  # falls, but slowly
    for _ in range(100):
        level.update(0.0, dt=0.1)
    assert level.level < 0.01


def test_higher_sensitivity_counts_less_movement_as_full_motion():
    calm, keen = MotionLevel(sensitivity=0.2, smoothing_s=0), MotionLevel(sensitivity=0.9, smoothing_s=0)
    assert calm.update(0.06, 0.1) < keen.update(0.06, 0.1) == 1.0


def test_grow_when_still_melts_the_dream_when_people_move():
    mapping = ReactiveMapping("grow-when-still", floor=0.2)
    still, busy = mapping(0.0), mapping(1.0)
    assert still.intensity == still.feedback == 1.0
    assert busy.intensity == busy.feedback == pytest.approx(0.2)
    levels = np.linspace(0, 1, 11)
    values = [mapping(x).intensity for x in levels]
    assert all(a >= b for a, b in itertools.pairwise(values))  # more motion, less dream


def test_grow_when_moving_is_the_opposite_and_off_is_neutral():
    opposite = ReactiveMapping("grow-when-moving", floor=0.3)
    assert opposite(0.0).intensity == pytest.approx(0.3) and opposite(1.0).intensity == 1.0
    off = ReactiveMapping("off")
    assert off(0.0) == off(1.0) == off(0.5)
    assert off(1.0).intensity == off(1.0).feedback == 1.0


def test_unknown_mode_suggests_the_closest():
    with pytest.raises(DreamwallError, match="did you mean 'grow-when-still'"):
        ReactiveMapping("grow-when-stil")
    with pytest.raises(DreamwallError, match="motion floor must be between 0 and 1, got 2"):
        ReactiveMapping("off", floor=2.0)


def counting_flow() -> tuple[list[int], object]:
    calls: list[int] = []
    inner = dis_flow()

    def flow(new_grey: np.ndarray, prev_grey: np.ndarray) -> np.ndarray:
        calls.append(1)
        return inner(new_grey, prev_grey)

    return calls, flow


def test_shared_flow_estimates_each_pair_once_and_never_reuses_a_stale_one():
    calls, flow_fn = counting_flow()
    shared = SharedFlow(flow_fn)  # type: ignore[arg-type]
    frames = square_sequence(moving=True, count=5)
    for previous, current in itertools.pairwise(frames):
        first = shared.between(previous, current)
        again = shared(grey_uint8(current), grey_uint8(previous))  # what the temporal feedback asks next
        assert np.array_equal(first.numpy(), again)
    assert len(calls) == shared.estimates == len(frames) - 1
    reverse = shared.between(frames[-1], frames[-2])  # another pair: estimated anew
    assert len(calls) == len(frames) and not np.array_equal(reverse.numpy(), first.numpy())


@pytest.mark.parametrize("measure", ["difference", "flow"])
def test_motion_tracker_levels_a_moving_square_above_a_still_scene(measure: str):
    def final_level(frames: list[torch.Tensor]) -> float:
        tracker = MotionTracker(MotionParams(measure=measure, sensitivity=0.9, smoothing_s=0.2))
        for frame in frames:
            tracker.update(frame, dt=0.1, flow=SharedFlow())
        return tracker.level

    assert final_level(square_sequence(moving=False)) < 0.05
    assert final_level(square_sequence(moving=True)) > 0.5


def test_motion_tracker_starts_over_on_a_new_size_or_after_forget():
    tracker = MotionTracker(MotionParams(sensitivity=1.0, smoothing_s=0.0))
    assert tracker.update(scene(8), 0.1) == 0.0  # a first frame is no motion
    assert tracker.update(scene(30), 0.1) == 1.0
    small = torch.nn.functional.interpolate(scene(8), size=(24, 32))
    assert tracker.update(small, 0.1) == 1.0  # another size: nothing to compare, the level stays
    tracker.forget()
    assert tracker.update(small * 0.2, 0.1) == 1.0 and tracker.previous is not None
    tracker.configure(MotionParams(sensitivity=1.0, smoothing_s=0.0))
    assert tracker.update(small * 0.2, 0.1) == 0.0
    with pytest.raises(ValueError, match="needs a flow estimator"):
        flow_tracker = MotionTracker(MotionParams(measure="flow"))
        flow_tracker.update(scene(8), 0.1)
        flow_tracker.update(scene(9), 0.1)


def test_motion_params_are_checked_like_the_preset():
    with pytest.raises(DreamwallError, match="did you mean 'flow'"):
        MotionParams(measure="flwo")
    with pytest.raises(DreamwallError, match="did you mean 'grow-when-moving'"):
        MotionParams(mode="grow-when-movin")
    with pytest.raises(DreamwallError, match="motion sensitivity must be between 0 and 1, got 3"):
        MotionParams(sensitivity=3.0)
    assert MotionParams("grow-when-still", floor=0.4).mapping(1.0).intensity == pytest.approx(0.4)


# -- audio (optional extra) ----------------------------------------------------------------


def sine(amplitude: float, samples: int = 1024) -> np.ndarray:
    return (amplitude * np.sin(np.linspace(0, 60 * np.pi, samples))).astype(np.float32)[:, None]


def test_audio_level_follows_loudness_and_onsets_pulse():
    analyzer = AudioAnalyzer()
    analyzer.feed(np.zeros((1024, 1), np.float32))
    assert analyzer.level == 0.0 and analyzer.intensity() == 1.0
    for _ in range(20):
        analyzer.feed(sine(0.001))  # quiet room tone
    quiet, onsets = analyzer.level, analyzer.onsets
    analyzer.feed(sine(0.8))  # a drum hit
    assert analyzer.level > quiet + 0.3 and analyzer.onsets == onsets + 1
    boosted = analyzer.intensity()
    for _ in range(10):
        analyzer.feed(sine(0.001))
    assert analyzer.intensity() < boosted  # the pulse decays back


def test_audio_without_backend_is_off_with_one_log_line(caplog):
    def missing():
        raise OSError("PortAudio library not found")

    with caplog.at_level(logging.WARNING, logger="installation.controls.audio"):
        assert AudioReactive.open(importer=missing) is None
    assert len(caplog.records) == 1 and "audio-reactive off" in caplog.records[0].message
