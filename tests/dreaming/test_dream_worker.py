"""Dream worker: newest frame in, newest dream out; settings swaps, freeze, failures, seeding;
motion scaling the lr it really uses, grading only what is shown, presets mapped into settings.

Camera loss, out-of-memory and attract mode are in test_worker_faults.py."""

from __future__ import annotations

import itertools
import logging
import time

import cv2
import numpy as np
import pytest
import torch
from torch import Tensor

from engine.attract import AttractParams
from engine.errors import DreamwallError
from engine.imageops import to_tensor
from engine.networks import DreamNet
from engine.objectives import Objective, parse_objective
from engine.post import PostParams
from engine.reactive import MotionParams
from engine.step import GradientFn, StepParams, autograd_gradient, dream_step
from engine.temporal import FeedbackParams, dis_flow
from installation.common.rates import Pacer
from installation.dreaming.looks import dream_settings
from installation.dreaming.settings import DreamSettings
from installation.dreaming.size_governor import auto_process_size
from installation.dreaming.worker import DreamWorker
from installation.presets.loader import PresetLibrary
from installation.sources.capture import Capture, Frame, NewestSlot
from installation.testing.feeds import ListFeed
from installation.testing.waiting import wait_until

SIZE = (64, 48)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def photo(chelsea: np.ndarray) -> np.ndarray:
    return cv2.resize(chelsea, (96, 72), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def settings(squeezenet: DreamNet) -> DreamSettings:
    return DreamSettings(
        net=squeezenet,
        objective=parse_objective("fire3", squeezenet),
        step=StepParams(lr=0.03, jitter=4),
        steps=1,
        feedback=FeedbackParams(feedback=0.7, flow=True),
        process_size=SIZE,
        label="test",
    )


class PhotoCamera:
    """A synthetic camera: the photo with a changing noise pattern, at `fps`."""

    description = "photo camera"

    def __init__(self, photo: np.ndarray, fps: float = 200.0) -> None:
        self.photo = photo
        self.pacer = Pacer(fps)
        self.rng = np.random.default_rng(0)

    def open(self) -> None:
        self.pacer.reset()

    def read(self) -> np.ndarray:
        self.pacer.wait()
        noise = self.rng.integers(-3, 4, self.photo.shape)
        return np.clip(self.photo.astype(int) + noise, 0, 255).astype(np.uint8)

    def close(self) -> None:
        pass


def collect(worker: DreamWorker, count: int, timeout: float = 20.0) -> list:
    dreams, last = [], 0
    deadline = time.monotonic() + timeout
    while len(dreams) < count and time.monotonic() < deadline:
        dream = worker.wait_newer(last, timeout=1.0)
        if dream is not None:
            dreams.append(dream)
            last = dream.seq
    return dreams


def slow_factory(net: DreamNet, objective: Objective, size: tuple[int, int]) -> GradientFn:
    """Autograd plus 20 ms, so the dreamer is surely slower than the 200 fps camera."""
    gradient = autograd_gradient(net, objective)

    def slow(image: Tensor) -> Tensor:
        time.sleep(0.02)
        return gradient(image)

    return slow


def test_dreams_the_newest_camera_frame(photo: np.ndarray, settings: DreamSettings) -> None:
    capture = Capture(PhotoCamera(photo))
    with capture, DreamWorker(capture, settings, gradient_factory=slow_factory) as worker:
        dreams = collect(worker, 5)
        health = worker.health()
    assert len(dreams) == 5
    assert [d.seq for d in dreams] == sorted({d.seq for d in dreams})
    sources = [d.source_seq for d in dreams]
    assert sources == sorted(set(sources))
    assert max(b - a for a, b in itertools.pairwise(sources)) > 1  # stale frames were skipped
    assert capture.health().dropped > 0  # the camera outruns the dreamer, stale frames are skipped
    # composed at the camera's own size (no output size set), dreamt at SIZE
    assert all(d.image.shape == photo.shape and d.image.dtype == np.uint8 for d in dreams)
    assert all(d.timestamp >= d.source_timestamp for d in dreams)
    assert health.errors == 0
    assert health.latency_ms is not None and 20.0 <= health.latency_ms < 5000.0  # at least the 20 ms step
    assert health.state == "running"


def test_the_dream_changes_the_frame(photo: np.ndarray, settings: DreamSettings) -> None:
    feed = ListFeed([photo] * 3)
    with DreamWorker(feed, settings) as worker:
        assert wait_until(lambda: worker.health().frames == 3)
    dream = worker.latest()
    assert dream is not None
    assert dream.image.shape == photo.shape  # shown at the camera's size
    assert np.abs(dream.image.astype(int) - photo.astype(int)).mean() > 1.0


def test_same_seed_and_frames_give_the_same_dream(photo: np.ndarray, settings: DreamSettings) -> None:
    rng = np.random.default_rng(5)
    images = [np.clip(photo.astype(int) + rng.integers(-5, 6, photo.shape), 0, 255).astype(np.uint8)
              for _ in range(4)]

    def final(seed: int) -> np.ndarray:
        with DreamWorker(ListFeed(images), settings, seed=seed) as worker:
            assert wait_until(lambda: worker.health().frames == len(images))
        dream = worker.latest()
        assert dream is not None
        return dream.image

    first = final(7)
    assert np.array_equal(first, final(7))
    assert not np.array_equal(first, final(8))


def test_settings_swap_applies_from_the_next_frame(photo: np.ndarray, settings: DreamSettings) -> None:
    built: list[tuple[str, tuple[int, int]]] = []

    def factory(net: DreamNet, objective: Objective, size: tuple[int, int]) -> GradientFn:
        built.append((objective.description, size))
        return autograd_gradient(net, objective)

    with Capture(PhotoCamera(photo)) as capture, DreamWorker(capture, settings, gradient_factory=factory) as worker:
        assert collect(worker, 2)
        other = settings.replace(objective=parse_objective("fire5", settings.net), label="other", process_size=(48, 36))
        worker.set_settings(other)
        assert worker.settings is other
        assert wait_until(lambda: worker.latest().label == "other")  # type: ignore[union-attr]
        dream = collect(worker, 1)[0]
    assert dream.label == "other"
    assert worker.health().process_size == (48, 36)
    assert dream.image.shape == photo.shape  # dreamt smaller, still shown at the camera's size
    assert built[0] == ("fire3", SIZE)
    assert built[-1] == ("fire5", (48, 36))
    assert len(built) == 2  # built once per settings, not per frame


def test_freeze_keeps_the_last_dream(photo: np.ndarray, settings: DreamSettings) -> None:
    with Capture(PhotoCamera(photo)) as capture, DreamWorker(capture, settings) as worker:
        assert collect(worker, 2)
        worker.set_frozen(True)
        frozen_at = worker.health().frames
        frames_then = capture.health().frames
        assert wait_until(lambda: capture.health().frames > frames_then + 20)
        assert worker.health().frames <= frozen_at + 1  # at most the frame being dreamt when frozen
        assert worker.health().state == "frozen"
        assert worker.latest() is not None
        worker.set_frozen(False)
        assert wait_until(lambda: worker.health().frames > frozen_at)
        assert worker.health().state == "running"


def failing_factory(failures: dict[str, int]) -> object:
    def factory(net: DreamNet, objective: Objective, size: tuple[int, int]) -> GradientFn:
        def gradient(image: Tensor) -> Tensor:
            if failures["left"] > 0:
                failures["left"] -= 1
                raise RuntimeError("step failed (simulated)")
            return autograd_gradient(net, objective)(image)

        return gradient

    return factory


def test_a_failing_step_is_logged_counted_and_survived(
    photo: np.ndarray, settings: DreamSettings, caplog: pytest.LogCaptureFixture
) -> None:
    failures = {"left": 3}
    feed = ListFeed([photo] * 6)
    with caplog.at_level(logging.WARNING, logger="installation.dreaming"), \
            DreamWorker(feed, settings, gradient_factory=failing_factory(failures)) as worker:  # type: ignore[arg-type]
        assert wait_until(lambda: worker.health().frames == 3)
        health = worker.health()
    assert health.errors == 3
    assert health.consecutive_errors == 0
    assert health.state in ("running", "stopped")
    assert "step failed" in (health.last_error or "")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "frame 1" in errors[0].getMessage() and "fire3" in errors[0].getMessage()
    assert errors[0].exc_info is not None and errors[0].exc_info[0] is RuntimeError  # the traceback is logged


def test_repeated_failures_are_fatal(photo: np.ndarray, settings: DreamSettings) -> None:
    feed = ListFeed([photo] * 20)
    worker = DreamWorker(feed, settings, gradient_factory=failing_factory({"left": 100}),  # type: ignore[arg-type]
                         max_consecutive_errors=4).start()
    assert wait_until(lambda: worker.fatal)
    worker.close()
    worker.close()
    health = worker.health()
    assert health.state == "fatal"
    assert health.errors == 4
    assert health.frames == 0


def test_close_is_idempotent_and_prompt(settings: DreamSettings) -> None:
    slot: NewestSlot[Frame] = NewestSlot()  # a camera that never delivers
    worker = DreamWorker(slot, settings).start()
    started = time.monotonic()
    worker.close()
    worker.close()
    assert time.monotonic() - started < 5.0
    assert worker.health().state == "stopped"
    assert not worker._thread.is_alive()  # type: ignore[union-attr]


def test_process_size_auto_depends_on_the_device() -> None:
    assert auto_process_size("cpu") == (320, 180)
    assert auto_process_size("cuda:0") == (960, 540)


def test_settings_are_checked(settings: DreamSettings) -> None:
    with pytest.raises(DreamwallError, match="steps must be between 1 and 50, got 500"):
        settings.replace(steps=500)


# -- motion, grading, presets -------------------------------------------------------------


def cheap_factory(net: DreamNet, objective: Objective, size: tuple[int, int]) -> GradientFn:
    """A stand-in gradient (more contrast): the worker's logic without the network's cost."""
    return lambda image: image - 0.5


class StepLog:
    """engine.step.dream_step, remembering each step's start image and parameters."""

    def __init__(self) -> None:
        self.calls: list[tuple[Tensor, StepParams]] = []

    def __call__(self, net: DreamNet, image: Tensor, objective: Objective, params: StepParams,
                 generator: torch.Generator, gradient: GradientFn | None) -> Tensor:
        self.calls.append((image, params))
        return dream_step(net, image, objective, params, generator, gradient)


class TickingClock:
    """Each reading is 20 ms after the last: frame-to-frame times that do not depend on the machine."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.02
        return self.now


def square_frames(moving: bool, count: int = 12) -> list[np.ndarray]:
    yy, xx = np.mgrid[0 : SIZE[1], 0 : SIZE[0]]
    grey = 0.5 + 0.3 * np.sin(xx / 4.0) * np.cos(yy / 5.0)
    rng = np.random.default_rng(3)
    frames = []
    for i in range(count):
        image = np.repeat(grey[..., None], 3, axis=2) * 255 + rng.integers(-2, 3, (SIZE[1], SIZE[0], 3))
        x = 4 + (6 * i % 42 if moving else 0)  # stays inside the frame
        image[14:30, x : x + 16] = 250
        frames.append(np.clip(image, 0, 255).astype(np.uint8))  # with sensor noise: no two frames alike
    return frames


@pytest.mark.parametrize("measure", ["difference", "flow"])
def test_motion_scales_the_lr_the_worker_really_uses(settings: DreamSettings, measure: str) -> None:
    lr = 0.05
    melt = settings.replace(
        step=StepParams(lr=lr, jitter=0),
        motion=MotionParams("grow-when-still", measure=measure, sensitivity=0.9, smoothing_s=0.1, floor=0.2),
    )

    def run(moving: bool) -> tuple[list[float], object, int]:
        steps, flows, inner = StepLog(), [], dis_flow()

        def flow(new: np.ndarray, prev: np.ndarray) -> np.ndarray:
            flows.append(1)
            return inner(new, prev)

        frames = square_frames(moving)
        with DreamWorker(ListFeed(frames), melt, gradient_factory=cheap_factory, step_fn=steps, flow_fn=flow,
                         clock=TickingClock()) as worker:  # fmt: skip
            assert wait_until(lambda: worker.health().frames == len(frames))
            health = worker.health()
        return [params.lr for _, params in steps.calls], health, len(flows)

    still_lrs, still, still_flows = run(moving=False)
    moving_lrs, moving, moving_flows = run(moving=True)
    assert still_lrs == [lr] * 12  # a still room dreams at the preset's lr
    assert moving_lrs[0] == lr  # nothing to compare the first frame with
    assert max(moving_lrs[3:]) < 0.5 * lr  # people moving melt the dream...
    assert min(moving_lrs) >= 0.2 * lr - 1e-9  # ...down to the floor, never below
    assert still.motion_level == 0.0 and still.reactive_scale == 1.0
    assert moving.motion_level > 0.5 and moving.reactive_scale < 0.5
    assert still_flows == moving_flows == 11  # one optical flow per frame, shared by motion and feedback


def test_grading_is_only_on_what_is_shown_never_on_what_is_fed_back(
    photo: np.ndarray, settings: DreamSettings
) -> None:
    camera_only = settings.replace(
        step=StepParams(lr=0.05, jitter=0),
        feedback=FeedbackParams(feedback=1.0, flow=False),
        post=PostParams(gamma=2.0, saturation=1.5, mix=0.0),  # mix 0 shows the raw camera
    )
    steps = StepLog()
    with DreamWorker(ListFeed([photo] * 3), camera_only, gradient_factory=cheap_factory, step_fn=steps) as worker:
        assert wait_until(lambda: worker.health().frames == 3)
    dream = worker.latest()
    assert dream is not None
    assert np.array_equal(dream.image, photo)  # the camera itself, at its own resolution
    raw = cv2.resize(photo, SIZE, interpolation=cv2.INTER_AREA)
    # yet the dream went on growing underneath: the third frame starts from the camera plus carried detail
    third_start = steps.calls[2][0]
    assert float((third_start - to_tensor(raw)).abs().mean()) > 0.005


def test_a_preset_fills_motion_attract_and_all_of_post(squeezenet: DreamNet) -> None:
    library = PresetLibrary()
    for name in ("melt", "neon"):
        preset = library.load(name)
        looks = dream_settings(preset, squeezenet)
        assert looks.motion == MotionParams(preset.motion.mode, preset.motion.measure, preset.motion.sensitivity,
                                            preset.motion.smoothing, preset.motion.floor)  # fmt: skip
        assert looks.attract == AttractParams(enabled=preset.attract.enabled, after_s=preset.attract.after,
                                              zoom_per_s=preset.attract.zoom, rotate_deg_per_s=preset.attract.rotate,
                                              fade_s=preset.attract.fade)  # fmt: skip
        assert (looks.post.gamma, looks.post.mix) == (preset.post.gamma, preset.post.mix)
        assert looks.post.saturation == preset.post.saturation
    assert dream_settings(library.load("melt"), squeezenet).motion.mode == "grow-when-still"  # type: ignore[union-attr]
