"""The dream worker thread: newest camera frame in, newest dream out, feedback in between.

It never queues: it waits for a frame newer than the last one it dreamt, dreams a
single octave of a few steps starting from the frame plus the carried detail of the
previous dream (engine.temporal), and publishes the result into a newest-dream-wins
slot for the renderer. Settings (from presets, keyboard, MIDI) are swapped as one
immutable value, so a frame is always dreamt with one consistent set. A failing step
is logged with context and skipped; a run of failures is reported as fatal so the
app can exit non-zero and systemd restarts it.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import cv2
import numpy as np
import torch
from torch import Tensor

from engine.errors import check_range
from engine.imageops import to_tensor, to_uint8
from engine.networks import DreamNet
from engine.objectives import Objective
from engine.post import PostParams, apply_post
from engine.step import GradientFn, StepParams, autograd_gradient, dream_step
from engine.temporal import FeedbackParams, FlowFn, TemporalFeedback
from installation.capture import Frame, NewestSlot
from installation.rates import Clock, RateMeter, RollingMean

logger = logging.getLogger(__name__)

GradientFactory = Callable[[DreamNet, Objective, tuple[int, int]], GradientFn]
"""(net, objective, process size (width, height)) -> gradient function; size for backends that build per size."""
WorkerState = Literal["starting", "running", "frozen", "fatal", "stopped"]

CPU_PROCESS_SIZE = (320, 180)
GPU_PROCESS_SIZE = (960, 540)


def autograd_factory(net: DreamNet, objective: Objective, size: tuple[int, int]) -> GradientFn:
    """The default gradient: plain autograd, any size."""
    return autograd_gradient(net, objective)


def auto_process_size(device: torch.device | str) -> tuple[int, int]:
    """(width, height) to dream at when the preset says "auto": small on a CPU, larger on a GPU."""
    return CPU_PROCESS_SIZE if torch.device(device).type == "cpu" else GPU_PROCESS_SIZE


class FrameFeed(Protocol):
    """What the worker needs from capture (installation.capture.Capture has it)."""

    def wait_newer(self, after_seq: int, timeout: float | None = None) -> Frame | None: ...


@dataclass(frozen=True)
class DreamSettings:
    """Everything that decides how a frame is dreamt; replaced as a whole by `set_settings`.

    process_size: (width, height), or None for `auto_process_size` of the net's device.
    """

    net: DreamNet
    objective: Objective
    step: StepParams = field(default_factory=lambda: StepParams(lr=0.02, jitter=8))
    steps: int = 2
    feedback: FeedbackParams = field(default_factory=FeedbackParams)
    post: PostParams = field(default_factory=PostParams)
    process_size: tuple[int, int] | None = None
    label: str = ""

    def __post_init__(self) -> None:
        check_range("steps", self.steps, 0, 100)
        if self.process_size is not None:
            check_range("process width", self.process_size[0], 16, 4096)
            check_range("process height", self.process_size[1], 16, 4096)

    def replace(self, **changes: object) -> DreamSettings:
        """A copy with some fields changed (e.g. intensity from a MIDI knob)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Dream:
    """One dreamt frame: graded RGB uint8 HWC at the process size, plus timing for latency."""

    image: np.ndarray
    seq: int
    timestamp: float
    source_seq: int
    source_timestamp: float
    label: str


@dataclass(frozen=True)
class WorkerHealth:
    state: WorkerState
    fps: float
    frames: int
    dropped: int
    errors: int
    consecutive_errors: int
    last_error: str | None
    step_ms: float | None
    latency_ms: float | None


class DreamWorker:
    """Dreams the newest frame of `feed` on its own thread.

    gradient_factory builds the gradient function for (net, objective, process size):
    autograd by default, an accelerated backend's otherwise (e.g.
    `lambda net, obj, size: select_backend("auto", net, obj, size, device)[0].gradient`).
    It is called on the worker thread, again whenever the settings or the size change.
    """

    def __init__(
        self,
        feed: FrameFeed,
        settings: DreamSettings,
        gradient_factory: GradientFactory = autograd_factory,
        flow_fn: FlowFn | None = None,
        seed: int = 0,
        max_consecutive_errors: int = 10,
        wait_timeout: float = 0.25,
        clock: Clock = time.monotonic,
        join_timeout: float = 5.0,
    ) -> None:
        self._feed = feed
        self._gradient_factory = gradient_factory
        self._temporal = TemporalFeedback(flow_fn)
        self._seed = seed
        self._max_consecutive = max_consecutive_errors
        self._wait_timeout = wait_timeout
        self._clock = clock
        self._join_timeout = join_timeout
        self._slot: NewestSlot[Dream] = NewestSlot()
        self._rate = RateMeter(clock=clock)
        self._step_ms = RollingMean()
        self._latency_ms = RollingMean()
        self._lock = threading.Lock()
        self._settings = settings
        self._settings_version = 0
        self._frozen = False
        self._state: WorkerState = "starting"
        self._errors = 0
        self._consecutive = 0
        self._last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # owned by the worker thread
        self._generator: torch.Generator | None = None
        self._gradient: GradientFn | None = None
        self._gradient_key: tuple[int, tuple[int, int]] | None = None

    # -- control (any thread) --------------------------------------------------------

    def set_settings(self, settings: DreamSettings) -> None:
        """Use `settings` from the next frame on (the carried dream detail is kept, for smooth changes)."""
        with self._lock:
            self._settings = settings
            self._settings_version += 1

    @property
    def settings(self) -> DreamSettings:
        with self._lock:
            return self._settings

    def set_frozen(self, frozen: bool) -> None:
        """Frozen: stop dreaming, the last dream stays the newest (and keeps being shown)."""
        with self._lock:
            self._frozen = frozen
            if self._state in ("running", "frozen"):
                self._state = "frozen" if frozen else "running"

    @property
    def frozen(self) -> bool:
        with self._lock:
            return self._frozen

    # -- output (any thread) -------------------------------------------------------

    def wait_newer(self, after_seq: int, timeout: float | None = None) -> Dream | None:
        return self._slot.wait_newer(after_seq, timeout)

    def latest(self) -> Dream | None:
        return self._slot.latest()

    @property
    def fatal(self) -> bool:
        """True after `max_consecutive_errors` failed frames in a row: the app should exit non-zero."""
        with self._lock:
            return self._state == "fatal"

    def health(self) -> WorkerHealth:
        with self._lock:
            state, errors, consecutive, last = self._state, self._errors, self._consecutive, self._last_error
        return WorkerHealth(
            state=state,
            fps=self._rate.rate(),
            frames=self._slot.seq,
            dropped=self._slot.dropped,
            errors=errors,
            consecutive_errors=consecutive,
            last_error=last,
            step_ms=self._step_ms.mean(),
            latency_ms=self._latency_ms.mean(),
        )

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> DreamWorker:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="dream", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop after the current frame; idempotent."""
        self._stop.set()
        self._slot.wake_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self._join_timeout)
            if thread.is_alive():
                logger.warning("dream worker did not stop within %.1f s", self._join_timeout)
        with self._lock:
            if self._state != "fatal":
                self._state = "stopped"

    def __enter__(self) -> DreamWorker:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the thread ----------------------------------------------------------------

    def _run(self) -> None:
        with self._lock:
            self._state = "frozen" if self._frozen else "running"
        last_seq = 0
        while not self._stop.is_set():
            try:
                frame = self._feed.wait_newer(last_seq, self._wait_timeout)
            except Exception:  # a broken feed is the capture's to report; do not spin on it
                logger.exception("waiting for a frame failed")
                self._stop.wait(self._wait_timeout)
                continue
            if frame is None or self._stop.is_set():
                continue
            last_seq = frame.seq
            with self._lock:
                settings, version, frozen = self._settings, self._settings_version, self._frozen
            if frozen:
                continue
            try:
                self._dream_frame(frame, settings, version)
            except Exception as error:  # noqa: BLE001 - one bad frame must not end the show
                if self._failed(frame, settings, error):
                    return
            else:
                with self._lock:
                    self._consecutive = 0

    def _failed(self, frame: Frame, settings: DreamSettings, error: Exception) -> bool:
        """Log and count a failed frame; True when it is time to give up."""
        with self._lock:
            self._errors += 1
            self._consecutive += 1
            self._last_error = f"{error.__class__.__name__}: {error}"
            consecutive = self._consecutive
            fatal = consecutive >= self._max_consecutive
            if fatal:
                self._state = "fatal"
        context = (f"frame {frame.seq} ({frame.image.shape[1]}x{frame.image.shape[0]}), "
                   f"preset {settings.label or '?'}, objective {settings.objective.description}")
        if consecutive == 1:
            logger.error("dreaming %s failed", context, exc_info=error)
        else:
            logger.warning("dreaming %s failed again (%d in a row): %s", context, consecutive, error)
        if fatal:
            logger.critical("dream worker gave up after %d failed frames in a row", consecutive)
            self._slot.wake_all()
        return fatal

    def _prepare(
        self, settings: DreamSettings, version: int, device: torch.device, size: tuple[int, int]
    ) -> tuple[GradientFn, torch.Generator]:
        if self._generator is None:
            # on the CPU whatever the net's device: engine.step draws its jitter with it on the CPU
            self._generator = torch.Generator()
            self._generator.manual_seed(self._seed)
        if self._gradient is None or self._gradient_key != (version, size):
            self._gradient = self._gradient_factory(settings.net, settings.objective, size)
            self._gradient_key = (version, size)
        return self._gradient, self._generator

    def _dream_frame(self, frame: Frame, settings: DreamSettings, version: int) -> None:
        started = self._clock()
        parameter = next(settings.net.parameters())
        device, dtype = parameter.device, parameter.dtype
        width, height = settings.process_size or auto_process_size(device)
        gradient, generator = self._prepare(settings, version, device, (width, height))
        image = frame.image
        if image.shape[:2] != (height, width):
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        source = to_tensor(image, device=device, dtype=dtype)
        dreamed = self._dream(source, settings, gradient, generator)
        self._temporal.remember(source, dreamed)
        shown = to_uint8(apply_post(dreamed, settings.post))
        now = self._clock()
        self._slot.publish(lambda seq: Dream(shown, seq, now, frame.seq, frame.timestamp, settings.label))
        self._rate.tick()
        self._step_ms.add((now - started) * 1000)
        self._latency_ms.add((now - frame.timestamp) * 1000)

    def _dream(self, source: Tensor, settings: DreamSettings, gradient: GradientFn,
               generator: torch.Generator) -> Tensor:
        image = self._temporal.start(source, settings.feedback)
        for _ in range(settings.steps):
            image = dream_step(settings.net, image, settings.objective, settings.step, generator, gradient)
        return image
