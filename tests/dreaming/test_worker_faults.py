"""Faults the dream worker survives, and its own attract loop.

The camera going away (the last dream keeps evolving at a modest rate, without
busy-spinning, until frames return), running out of GPU memory (the processing size
steps down and says so), and attract mode on a still room (the last dream evolves
instead of the camera's). Time jumps come from an injected clock, the worker's waits
are counted and awaited through the fake feed (no sleep-and-hope); the gradient is a
cheap stand-in so only the worker's logic costs time.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import Tensor

from engine.attract import AttractParams
from engine.imageops import to_tensor, to_uint8
from engine.networks import DreamNet
from engine.objectives import Objective, parse_objective
from engine.reactive import MotionParams
from engine.step import GradientFn, StepParams, dream_step
from engine.temporal import FeedbackParams
from installation.dreaming.settings import Dream, DreamSettings
from installation.dreaming.worker import DreamWorker
from installation.sources.capture import Frame

WIDTH, HEIGHT = 64, 48


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def settings(squeezenet: DreamNet) -> DreamSettings:
    return DreamSettings(
        net=squeezenet,
        objective=parse_objective("fire3", squeezenet),
        step=StepParams(lr=0.05, jitter=0),
        steps=1,
        feedback=FeedbackParams(feedback=0.7, flow=False),
        process_size=(WIDTH, HEIGHT),
        label="faults",
    )


def push_from_grey(image: Tensor) -> Tensor:
    """A stand-in gradient (more contrast): cheap, and visible in every frame."""
    return image - 0.5


def cheap_factory(net: DreamNet, objective: Objective, size: tuple[int, int]) -> GradientFn:
    return push_from_grey


def still_image() -> np.ndarray:
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    grey = 0.5 + 0.3 * np.sin(xx / 4.0) * np.cos(yy / 5.0)
    return (np.repeat(grey[..., None], 3, axis=2) * 255).astype(np.uint8)


def moving_image(seq: int) -> np.ndarray:
    image = still_image()
    x = (seq * 7) % (WIDTH - 20)
    image[12:36, x : x + 20] = 250
    return image


class ScriptedFeed:
    """A camera at about 100 fps that a test can unplug (pause), plug back in, and set moving.

    It notes every call, and for each the newest dream the worker had published by then
    (`watch`), so a test can count the worker's waits per dream and wait for the worker
    to go round its loop, instead of sleeping and hoping.
    """

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.moving = False
        self.calls = 0
        self.newest_at_call: list[int] = []  # the worker's newest dream seq at each call
        self._watched: Callable[[], Dream | None] = lambda: None
        self._called = threading.Condition()
        self._plugged = threading.Event()
        self._plugged.set()
        self._seq = 0

    def watch(self, worker: DreamWorker) -> None:
        self._watched = worker.latest

    def unplug(self) -> None:
        self._plugged.clear()

    def plug(self) -> None:
        self._plugged.set()

    @property
    def seq(self) -> int:
        return self._seq

    def wait_calls(self, count: int, timeout: float = 20.0) -> None:
        """Until the worker has called `count` more times (it finished everything before those calls)."""
        with self._called:
            target = self.calls + count
            assert self._called.wait_for(lambda: self.calls >= target, timeout), f"{self.calls} of {target} calls"

    def wait_newer(self, after_seq: int, timeout: float | None = None) -> Frame | None:
        newest = self._watched()
        with self._called:
            self.calls += 1
            self.newest_at_call.append(newest.seq if newest is not None else 0)
            self._called.notify_all()
        if not self._plugged.wait(timeout):
            return None
        time.sleep(self.interval)
        self._seq += 1
        image = moving_image(self._seq) if self.moving else still_image()
        return Frame(image, self._seq, time.monotonic())


class JumpClock:
    """Real time plus jumps: the worker paces itself as usual, and a test can skip ahead."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def jump(self, seconds: float) -> None:
        self.offset += seconds


def next_dream(worker: DreamWorker, after: int, accept: Callable[[Dream], bool] = lambda d: True,
               timeout: float = 20.0) -> Dream:
    """The first dream after seq `after` that `accept`s (fails the test after `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dream = worker.wait_newer(after, timeout=0.5)
        if dream is not None:
            if accept(dream):
                return dream
            after = dream.seq
    raise AssertionError(f"no matching dream within {timeout} s; health {worker.health()}")


# -- attract mode on a still room -----------------------------------------------------------


def test_attract_evolves_the_last_dream_after_the_still_spell_and_someone_arriving_ends_it(
    settings: DreamSettings,
) -> None:
    attract = settings.replace(
        attract=AttractParams(after_s=30, zoom_per_s=1.0, rotate_deg_per_s=0.0, fade_s=0.0, lost_after_s=0.0),
        motion=MotionParams(sensitivity=0.9, smoothing_s=0.1),
    )
    feed, clock = ScriptedFeed(), JumpClock()
    generator = torch.Generator()
    with DreamWorker(feed, attract, gradient_factory=cheap_factory, clock=clock) as worker:
        dream = next_dream(worker, 0)
        dream = next_dream(worker, dream.seq)
        assert dream.mode == "camera" and worker.health().mode == "camera"
        clock.jump(31)  # half a minute of nobody
        dream = next_dream(worker, dream.seq, lambda d: d.mode == "attract")
        for _ in range(3):
            previous = dream
            dream = next_dream(worker, previous.seq)
            assert dream.mode == "attract"
            # the zoom is the identity here, so each frame is one dream step on the last one, not the camera
            expected = to_uint8(dream_step(attract.net, to_tensor(previous.image), attract.objective, attract.step,
                                           generator, push_from_grey))  # fmt: skip
            assert np.abs(dream.image.astype(int) - expected.astype(int)).max() <= 2
        camera_dream = to_uint8(dream_step(attract.net, to_tensor(still_image()), attract.objective, attract.step,
                                           generator, push_from_grey))  # fmt: skip
        assert np.abs(dream.image.astype(int) - camera_dream.astype(int)).mean() > 5  # it is not the camera's
        assert worker.health().mode == "attract"
        assert worker.health().motion_level < 0.1
        feed.moving = True  # someone arrives
        back = next_dream(worker, dream.seq, lambda d: d.mode == "camera")
        health = worker.health()
    assert back.source_seq > dream.source_seq
    assert health.motion_level > 0.1
    assert health.errors == 0


def test_the_way_back_to_the_camera_is_a_crossfade(settings: DreamSettings) -> None:
    attract = settings.replace(
        attract=AttractParams(after_s=30, zoom_per_s=1.2, rotate_deg_per_s=10.0, fade_s=3.0, lost_after_s=0.0),
        motion=MotionParams(sensitivity=0.9, smoothing_s=0.1),
    )
    feed, clock = ScriptedFeed(), JumpClock()
    with DreamWorker(feed, attract, gradient_factory=cheap_factory, clock=clock) as worker:
        dream = next_dream(worker, 0)
        clock.jump(31)
        dream = next_dream(worker, dream.seq, lambda d: d.mode == "attract")
        dream = next_dream(worker, dream.seq, lambda d: d.mode == "attract")
        last_attract = dream
        feed.moving = True
        first_back = next_dream(worker, dream.seq, lambda d: d.mode == "camera")
        clock.jump(3.0)  # the fade is over
        later = next_dream(worker, first_back.seq, lambda d: d.mode == "camera")

    def distance(a: Dream, b: Dream) -> float:
        return float(np.abs(a.image.astype(int) - b.image.astype(int)).mean())

    # just after the switch the picture is still mostly the attract frame; once faded it is the camera's
    assert distance(first_back, last_attract) < 0.5 * distance(later, last_attract)


# -- the camera goes away ---------------------------------------------------------------------


def test_a_lost_camera_keeps_the_dream_alive_and_returning_frames_resume_it(
    settings: DreamSettings, caplog: pytest.LogCaptureFixture
) -> None:
    lost = settings.replace(attract=AttractParams(enabled=False, zoom_per_s=1.2, rotate_deg_per_s=8.0,
                                                  lost_after_s=2.0, lost_fps=10.0))  # fmt: skip
    feed, clock = ScriptedFeed(), JumpClock()
    with caplog.at_level(logging.INFO, logger="installation.dreaming"), \
            DreamWorker(feed, lost, gradient_factory=cheap_factory, clock=clock) as worker:
        feed.watch(worker)
        dream = next_dream(worker, 0)
        dream = next_dream(worker, dream.seq)
        feed.unplug()
        feed.wait_calls(1)  # the worker is waiting on the unplugged camera: the frame in flight has landed
        last_camera = worker.latest()
        assert last_camera is not None and last_camera.mode == "camera"
        clock.jump(3.0)  # no frame for over 2 s
        evolving = [next_dream(worker, last_camera.seq)]
        for _ in range(4):
            evolving.append(next_dream(worker, evolving[-1].seq))
        health = worker.health()
        waits = collections.Counter(feed.newest_at_call)
        waits_per_frame = [waits[d.seq] for d in evolving[:-1]]  # calls between one lost frame and the next
        feed.plug()
        back = next_dream(worker, evolving[-1].seq, lambda d: d.mode == "camera")
        after = worker.health()
    assert all(d.mode == "source-lost" for d in evolving) and health.mode == "source-lost"
    assert all(d.source_seq == last_camera.source_seq for d in evolving)  # no camera frame behind them
    assert all(not np.array_equal(a.image, b.image) for a, b in itertools.pairwise(evolving))
    assert (evolving[-1].timestamp - evolving[0].timestamp) / 4 >= 0.09  # paced at 10 fps, not flat out
    # waits for the camera between frames, never busy-spins: under 40 calls a second at 10 frames a second
    assert max(waits_per_frame) < 4, waits_per_frame
    assert back.source_seq > last_camera.source_seq and after.mode == "camera"
    assert after.errors == 0
    messages = [r.getMessage() for r in caplog.records]
    assert any("no camera frame" in m for m in messages) and any("camera frames are back" in m for m in messages)


def test_a_frozen_worker_stays_frozen_when_the_camera_goes(settings: DreamSettings) -> None:
    lost = settings.replace(attract=AttractParams(enabled=False, lost_after_s=2.0))
    feed, clock = ScriptedFeed(), JumpClock()
    with DreamWorker(feed, lost, gradient_factory=cheap_factory, clock=clock, wait_timeout=0.05) as worker:
        next_dream(worker, 0)
        worker.set_frozen(True)  # asleep: closed hours
        feed.unplug()
        feed.wait_calls(1)  # any frame in flight has landed
        frames = worker.health().frames
        clock.jump(10.0)
        feed.wait_calls(3)  # round the loop at least twice with the camera long gone: a lost frame was due
        assert worker.health().frames == frames
        assert worker.health().state == "frozen"


# -- out of GPU memory --------------------------------------------------------------------------


def oom_factory(make_error: Callable[[], Exception], max_width: int, when: str) -> Callable[..., GradientFn]:
    """Runs out of memory above `max_width`, on building the gradient or on using it."""

    def factory(net: DreamNet, objective: Objective, size: tuple[int, int]) -> GradientFn:
        if when == "build" and size[0] > max_width:
            raise make_error()

        def gradient(image: Tensor) -> Tensor:
            if image.shape[-1] > max_width:
                raise make_error()
            return push_from_grey(image)

        return gradient

    return factory


@pytest.mark.parametrize(
    ("make_error", "when"),
    [
        (lambda: torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), "step"),
        (lambda: RuntimeError("CUDA error: out of memory"), "build"),
    ],
    ids=["OutOfMemoryError-on-step", "RuntimeError-on-build"],
)
def test_out_of_memory_steps_the_size_down_and_says_so(
    settings: DreamSettings,
    make_error: Callable[[], Exception],
    when: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emptied: list[int] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: emptied.append(1))
    big = settings.replace(process_size=(160, 120))
    feed = ScriptedFeed()
    with caplog.at_level(logging.WARNING, logger="installation.dreaming"), \
            DreamWorker(feed, big, gradient_factory=oom_factory(make_error, 100, when)) as worker:  # type: ignore[arg-type]
        dream = next_dream(worker, 0)
        health = worker.health()
    # 160x120 -> 120x90 (still too big) -> 90x68: x0.75 a step
    assert health.process_size == (90, 68) and health.size_steps == 2
    assert dream.image.shape == still_image().shape  # the shown frame keeps the output size (the camera's)
    assert health.notice == "out of GPU memory at 120x90: dreaming at 90x68 now"
    assert health.errors == 0 and health.state in ("running", "stopped")
    assert "out of GPU memory at 160x120: dreaming at 120x90 now" in [r.getMessage() for r in caplog.records]
    assert len(emptied) == 2


def test_out_of_memory_at_the_smallest_size_is_an_ordinary_failure(settings: DreamSettings) -> None:
    small = settings.replace(process_size=(86, 64))  # at the frames' 4:3, 64 px on the short side: nowhere smaller
    worker = DreamWorker(ScriptedFeed(), small, max_consecutive_errors=3,
                         gradient_factory=oom_factory(lambda: torch.cuda.OutOfMemoryError("out of memory"), 10,
                                                      "step")).start()  # fmt: skip
    deadline = time.monotonic() + 20
    while not worker.fatal and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.close()
    health = worker.health()
    assert health.state == "fatal" and health.errors == 3 and health.size_steps == 0
    assert "out of memory" in (health.last_error or "") and health.frames == 0
