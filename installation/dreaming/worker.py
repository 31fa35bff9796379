"""The dream worker thread: newest camera frame in, newest dream out, feedback in between.

It never queues: it waits for a frame newer than the last one it dreamt, dreams a
single octave of a few steps starting from the frame plus the carried detail of the
previous dream (engine.temporal), and publishes the result into a newest-dream-wins
slot for the renderer. Settings (from presets, keyboard, MIDI) are swapped as one
immutable value, so a frame is always dreamt with one consistent set. A failing step
is logged with context and skipped; a run of failures is reported as fatal so the
app can exit non-zero and systemd restarts it.

Each camera frame is also measured for motion (engine.reactive): the preset's mapping
scales lr and feedback by it, and after a long still spell attract mode evolves the
last dream (engine.attract's infinite zoom) instead of dreaming the camera, fading
back when someone moves. When the camera stops delivering (unplugged), the same loop
keeps the screen alive at a modest rate until frames return. Running out of GPU
memory steps the processing size down instead of failing.

Everything per frame runs on the settings' device in their dtype: the camera frame
goes up once (installation.dreaming.host_link), is resized there to the processing size and to
the output size, dreamt, graded, composed (engine.compose: the camera at output size
plus the dream's detail) and converted to uint8 there; the shown frame comes down once.
Optical flow and motion are measured on a small grey copy made on the host from the
camera frame the host already has, so they cost no transfer.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import torch
from torch import Tensor

from engine.attract import AttractMode, AttractParams, attract_frame
from engine.bounds import check_bound
from engine.compose import COMPOSE_MODES
from engine.errors import check_range, unknown_name
from engine.imageops import resize
from engine.networks import DreamNet
from engine.objectives import Objective
from engine.post import PostParams, apply_post
from engine.reactive import Modulation, MotionParams, MotionTracker, SharedFlow
from engine.step import GradientFn, JitterWalk, StepParams, autograd_gradient, dream_step
from engine.temporal import FeedbackParams, FlowFn, TemporalFeedback, flow_size, host_grey, upscale_flow
from installation.common.rates import Clock, RateMeter, RollingMean
from installation.display.crossfade import ease
from installation.dreaming.host_link import Camera, HostLink
from installation.dreaming.stage_timer import StageTimer
from installation.sources.capture import Frame, NewestSlot

logger = logging.getLogger(__name__)

GradientFactory = Callable[[DreamNet, Objective, tuple[int, int]], GradientFn]
"""(net, objective, process size (width, height)) -> gradient function; size for backends that build per size."""
StepFn = Callable[[DreamNet, Tensor, Objective, StepParams, torch.Generator, GradientFn | None], Tensor]
"""engine.step.dream_step's signature; injectable so tests can see the parameters each step got."""
WorkerState = Literal["starting", "running", "frozen", "fatal", "stopped"]
DreamMode = Literal["camera", "attract", "source-lost"]
"""What the newest dream shows: the camera dreamt, the last dream evolving (still room), or the same with no camera."""

CPU_PROCESS_SIZE = (320, 180)
GPU_PROCESS_SIZE = (960, 540)
OOM_STEP = 0.75  # each out-of-memory error shrinks both sides by this
MIN_SHORT_SIDE = 64  # ...but never below this many pixels on the short side


def autograd_factory(net: DreamNet, objective: Objective, size: tuple[int, int]) -> GradientFn:
    """The default gradient: plain autograd, any size."""
    return autograd_gradient(net, objective)


def auto_process_size(device: torch.device | str) -> tuple[int, int]:
    """(width, height) to dream at when the preset says "auto": small on a CPU, larger on a GPU."""
    return CPU_PROCESS_SIZE if torch.device(device).type == "cpu" else GPU_PROCESS_SIZE


def is_out_of_memory(error: BaseException) -> bool:
    """CUDA's out-of-memory error, or a backend's RuntimeError saying the same."""
    return isinstance(error, torch.cuda.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower()
    )


def scaled_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def smaller_scale(size: tuple[int, int], scale: float) -> float | None:
    """The next scale of `size` after running out of memory; None when already at the smallest."""
    smaller = max(scale * OOM_STEP, MIN_SHORT_SIDE / min(size))
    return smaller if smaller < scale else None


class FrameFeed(Protocol):
    """What the worker needs from capture (installation.sources.capture.Capture has it)."""

    def wait_newer(self, after_seq: int, timeout: float | None = None) -> Frame | None: ...


@dataclass(frozen=True)
class DreamSettings:
    """Everything that decides how a frame is dreamt; replaced as a whole by `set_settings`.

    process_size: (width, height), or None for `auto_process_size` of the device.
    motion: how visitors' movement scales lr and feedback; None = not at all.
    attract: attract mode and the camera-lost loop; None = neither (the last dream just stays).
    device, dtype: where and in what precision every per-frame operation runs; the
        network must already live there (installation.dreaming.looks.NetworkCache).
    compose: "detail" (camera at output size + the dream's detail) or "upscale".
    """

    net: DreamNet
    objective: Objective
    step: StepParams = field(default_factory=lambda: StepParams(lr=0.02, jitter=8))
    steps: int = 2
    feedback: FeedbackParams = field(default_factory=FeedbackParams)
    post: PostParams = field(default_factory=PostParams)
    process_size: tuple[int, int] | None = None
    label: str = ""
    motion: MotionParams | None = None
    attract: AttractParams | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    dtype: torch.dtype = torch.float32
    compose: str = "detail"

    def __post_init__(self) -> None:
        check_bound("steps", self.steps)
        if self.compose not in COMPOSE_MODES:
            raise unknown_name("compose mode", self.compose, COMPOSE_MODES)
        parameter = next(self.net.parameters())
        if (parameter.device, parameter.dtype) != (self.device, self.dtype):
            raise ValueError(f"the network lives on {parameter.device} {parameter.dtype}, "
                             f"the settings say {self.device} {self.dtype}")  # fmt: skip
        if self.process_size is not None:
            check_range("process width", self.process_size[0], 16, 4096)
            check_range("process height", self.process_size[1], 16, 4096)

    def replace(self, **changes: object) -> DreamSettings:
        """A copy with some fields changed (e.g. intensity from a MIDI knob)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Dream:
    """One dreamt frame: graded, composed RGB uint8 HWC at the output size, plus timing for latency."""

    image: np.ndarray
    seq: int
    timestamp: float
    source_seq: int
    source_timestamp: float
    label: str
    mode: DreamMode = "camera"


@dataclass(frozen=True)
class WorkerHealth:
    """For the status file and the HUD.

    motion_level: smoothed motion, 0 (still) to 1; reactive_scale: the multiplier it put
    on lr and feedback; process_size: (width, height) dreamt at now (smaller than asked
    after running out of memory); notice: the last out-of-memory step-down message;
    size_steps: how many step-downs so far.
    """

    state: WorkerState
    fps: float
    frames: int
    dropped: int
    errors: int
    consecutive_errors: int
    last_error: str | None
    step_ms: float | None
    latency_ms: float | None
    mode: DreamMode = "camera"
    motion_level: float = 0.0
    reactive_scale: float = 1.0
    process_size: tuple[int, int] | None = None
    notice: str | None = None
    size_steps: int = 0


class DreamWorker:
    """Dreams the newest frame of `feed` on its own thread.

    gradient_factory builds the gradient function for (net, objective, process size):
    autograd by default, an accelerated backend's otherwise (e.g.
    `lambda net, obj, size: select_backend("auto", net, obj, size, device)[0].gradient`).
    It is called on the worker thread, again whenever the settings or the size change.
    step_fn is engine.step.dream_step unless a test wants to watch the steps.
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
        step_fn: StepFn = dream_step,
        stage_timer: StageTimer | None = None,
    ) -> None:
        self._feed = feed
        self._gradient_factory = gradient_factory
        self._step_fn = step_fn
        self._stages = stage_timer
        self._flow = SharedFlow(flow_fn)  # one flow per frame for both the motion measure and the feedback
        self._temporal = TemporalFeedback(self._flow)
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
        self._mode: DreamMode = "camera"
        self._motion_level = 0.0
        self._reactive_scale = 1.0
        self._process_size: tuple[int, int] | None = None
        self._notice: str | None = None
        self._size_steps = 0
        self._output_size: tuple[int, int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # owned by the worker thread
        self._link: HostLink | None = None
        self._prev_grey: np.ndarray | None = None  # host grey copy of the frame the temporal feedback remembers
        self._generator: torch.Generator | None = None
        self._walk = JitterWalk(seed)  # the preset's jitter_walk: rolls that drift across steps and frames
        self._walk_step = 0
        self._gradient: GradientFn | None = None
        self._gradient_key: tuple[int, tuple[int, int]] | None = None
        self._configured = -1  # settings version the motion tracker and attract timer follow
        self._motion = MotionTracker()
        self._attract = AttractMode(0.0, clock)
        self._measured_at: float | None = None
        self._base_size: tuple[int, int] | None = None
        self._size_scale = 1.0  # below 1 after running out of memory
        self._size: tuple[int, int] | None = None
        self._last_frame: Frame | None = None
        self._last_frame_at = clock()
        self._last_source: Tensor | None = None
        self._last_output: Tensor | None = None  # ungraded, what attract mode evolves
        self._shown_at: float | None = None
        self._next_lost_at = 0.0
        self._fade: tuple[Tensor, float, float] | None = None  # (from image, start, seconds)

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

    def set_output_size(self, size: tuple[int, int] | None) -> None:
        """Compose shown frames at (width, height): the screen's, or the video's; None = the camera's own."""
        with self._lock:
            self._output_size = size

    @property
    def host_link(self) -> HostLink | None:
        """The uploads/downloads counters of the current device (None before the first frame)."""
        return self._link

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
            return WorkerHealth(
                state=self._state,
                fps=self._rate.rate(),
                frames=self._slot.seq,
                dropped=self._slot.dropped,
                errors=self._errors,
                consecutive_errors=self._consecutive,
                last_error=self._last_error,
                step_ms=self._step_ms.mean(),
                latency_ms=self._latency_ms.mean(),
                mode=self._mode,
                motion_level=self._motion_level,
                reactive_scale=self._reactive_scale,
                process_size=self._process_size,
                notice=self._notice,
                size_steps=self._size_steps,
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
        self._last_frame_at = self._clock()
        was_frozen = False
        while not self._stop.is_set():
            try:
                frame = self._feed.wait_newer(last_seq, self._wait_for())
            except Exception:  # a broken feed is the capture's to report; do not spin on it
                logger.exception("waiting for a frame failed")
                self._stop.wait(self._wait_timeout)
                continue
            if self._stop.is_set():
                break
            if frame is not None:
                last_seq = frame.seq
            with self._lock:
                settings, version, frozen = self._settings, self._settings_version, self._frozen
            if frozen:
                was_frozen = True
                continue
            if was_frozen:
                was_frozen = False
                self._restart_timers()
            if frame is not None:
                self._last_frame_at = self._clock()
            elif not self._lost_frame_due(settings):
                continue
            if not self._attempt(frame, settings, version):
                return

    def _wait_for(self) -> float:
        """How long to wait for a camera frame: until the next camera-lost frame is due, at most."""
        with self._lock:
            attract, frozen = self._settings.attract, self._frozen
        if frozen or attract is None or attract.lost_after_s == 0 or self._last_output is None:
            return self._wait_timeout
        due = max(self._last_frame_at + attract.lost_after_s, self._next_lost_at)
        return min(self._wait_timeout, max(0.0, due - self._clock()))

    def _lost_frame_due(self, settings: DreamSettings) -> bool:
        attract = settings.attract
        if attract is None or attract.lost_after_s == 0 or self._last_output is None:
            return False
        now = self._clock()
        return now - self._last_frame_at >= attract.lost_after_s and now >= self._next_lost_at

    def _restart_timers(self) -> None:
        """After a freeze (or sleep): neither the pause nor the camera's return counts as stillness or motion."""
        self._last_frame_at = self._clock()
        self._measured_at = None
        self._motion.forget()
        self._attract.reset()

    def _attempt(self, frame: Frame | None, settings: DreamSettings, version: int) -> bool:
        """Dream the camera frame (None: evolve the last dream, camera lost); False when it is time to give up."""
        try:
            if frame is not None:
                self._dream_frame(frame, settings, version)
            else:
                self._dream_lost(settings, version)
        except Exception as error:  # noqa: BLE001 - one bad frame must not end the show
            if is_out_of_memory(error) and self._step_down():
                return True
            return not self._failed(self._describe(settings, frame), error)
        with self._lock:
            self._consecutive = 0
        return True

    @staticmethod
    def _describe(settings: DreamSettings, frame: Frame | None) -> str:
        what = (f"frame {frame.seq} ({frame.image.shape[1]}x{frame.image.shape[0]})" if frame is not None
                else "an evolving frame (camera lost)")  # fmt: skip
        return f"{what}, preset {settings.label or '?'}, objective {settings.objective.description}"

    def _failed(self, context: str, error: Exception) -> bool:
        """Log and count a failed frame; True when it is time to give up."""
        with self._lock:
            self._errors += 1
            self._consecutive += 1
            self._last_error = f"{error.__class__.__name__}: {error}"
            consecutive = self._consecutive
            fatal = consecutive >= self._max_consecutive
            if fatal:
                self._state = "fatal"
        if consecutive == 1:
            logger.error("dreaming %s failed", context, exc_info=error)
        else:
            logger.warning("dreaming %s failed again (%d in a row): %s", context, consecutive, error)
        if fatal:
            logger.critical("dream worker gave up after %d failed frames in a row", consecutive)
            self._slot.wake_all()
        return fatal

    def _step_down(self) -> bool:
        """Out of memory: dream smaller from the next frame on; False when already at the smallest size."""
        base = self._base_size
        scale = smaller_scale(base, self._size_scale) if base is not None else None
        if base is None or scale is None:
            return False
        old, new = scaled_size(base, self._size_scale), scaled_size(base, scale)
        self._size_scale = scale
        self._gradient = self._gradient_key = None  # let go of whatever the old size held
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        notice = f"out of GPU memory at {old[0]}x{old[1]}: dreaming at {new[0]}x{new[1]} now"
        logger.warning("%s", notice)
        with self._lock:
            self._notice = notice
            self._size_steps += 1
            self._process_size = new
        return True

    def _set_mode(self, mode: DreamMode) -> None:
        with self._lock:
            self._mode = mode

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

    def _setup(
        self, settings: DreamSettings, version: int
    ) -> tuple[HostLink, tuple[int, int], GradientFn, torch.Generator]:
        """Host link, size and gradient for this frame; follows a settings change."""
        device, dtype = settings.device, settings.dtype
        link = self._link
        if link is None or (link.device, link.dtype) != (device, dtype):
            link = self._link = HostLink(device, dtype)
            self._temporal.reset()  # the remembered frames live on the old device
            self._last_output = self._last_source = self._fade = None
        if version != self._configured:
            self._configured = version
            self._motion.configure(settings.motion or MotionParams())
            self._attract.set_after(settings.attract.still_after_s if settings.attract is not None else 0.0)
        self._base_size = settings.process_size or auto_process_size(device)
        size = self._size = scaled_size(self._base_size, self._size_scale)
        with self._lock:
            self._process_size = size
        gradient, generator = self._prepare(settings, version, device, size)
        return link, size, gradient, generator

    def _mark(self, stage: str | None) -> None:
        """A stage boundary for the benchmarks' StageTimer (None: the frame begins); nothing without one."""
        if self._stages is None:
            return
        if stage is None:
            self._stages.begin()
        else:
            self._stages.mark(stage)

    def _output_for(self, frame: Frame | None) -> tuple[int, int]:
        with self._lock:
            size = self._output_size
        if size is not None:
            return size
        if frame is not None:
            return frame.image.shape[1], frame.image.shape[0]
        return self._size or CPU_PROCESS_SIZE

    def _dream_frame(self, frame: Frame, settings: DreamSettings, version: int) -> None:
        started = self._clock()
        link, (width, height), gradient, generator = self._setup(settings, version)
        self._mark(None)
        out_w, out_h = self._output_for(frame)
        wants_camera = settings.compose == "detail"
        source, camera = link.upload(frame.image, (width, height), (out_w, out_h) if wants_camera else None)
        self._mark("upload")
        grey = host_grey(frame.image, flow_size((width, height)))
        with self._lock:
            previous_mode = self._mode
        if previous_mode == "source-lost":
            logger.info("camera frames are back: dreaming the camera again")
            self._motion.forget()
            self._attract.reset()
        level = self._measure(grey, started)
        if settings.attract is not None and self._attract.update(level) and self._last_output is not None:
            if previous_mode != "attract":
                logger.info("nobody moved for %.0f s: attract mode", settings.attract.after_s)
            mode: DreamMode = "attract"
            self._mark("flow")
            dreamed = self._evolve(settings, gradient, generator, (width, height), started)
            camera = None  # the evolving dream is not of this camera frame
        else:
            mode = "camera"
            if previous_mode != "camera":  # someone arrived, or the camera came back
                self._begin_fade(settings, started)
                self._temporal.reset()
            modulation = self._modulation(settings, level)
            flow = self._flow_to(grey, settings.feedback, (width, height), link)
            self._mark("flow")
            dreamed = self._dream(source, settings, gradient, generator, modulation, flow)
            self._temporal.remember(source, dreamed)
            self._prev_grey = grey
        self._last_frame, self._last_source = frame, source
        self._mark("steps")
        self._show(dreamed, source, camera, (out_w, out_h), settings, mode, started)
        self._latency_ms.add((self._clock() - frame.timestamp) * 1000)

    def _flow_to(self, grey: np.ndarray, feedback: FeedbackParams, size: tuple[int, int],
                 link: HostLink) -> Tensor | None:  # fmt: skip
        """The flow from the remembered frame to this one at processing size, on the device; None when unused."""
        previous = self._prev_grey
        if not (feedback.flow and feedback.feedback > 0 and self._temporal.primed):
            return None
        if previous is None or previous.shape != grey.shape:
            return None
        return upscale_flow(self._flow(grey, previous), size, link.device, link.dtype)

    def _dream_lost(self, settings: DreamSettings, version: int) -> None:
        """No camera frame for a while: evolve the last dream so the screen stays alive."""
        started = self._clock()
        attract = settings.attract
        if attract is None:
            return
        self._next_lost_at = started + 1.0 / attract.lost_fps  # first, so a failing frame cannot spin
        with self._lock:
            previous_mode = self._mode
        if previous_mode != "source-lost":
            logger.warning("no camera frame for %.1f s: the last dream evolves on its own until the camera returns",
                           started - self._last_frame_at)  # fmt: skip
        _, size, gradient, generator = self._setup(settings, version)
        dreamed = self._evolve(settings, gradient, generator, size, started)
        source = self._last_source if self._last_source is not None else dreamed
        self._show(dreamed, fit(source, size), None, self._output_for(self._last_frame), settings, "source-lost",
                   started)  # fmt: skip

    def _measure(self, grey: np.ndarray, now: float) -> float:
        """Motion from the host's small grey copy: a host tensor view, so no device work or sync."""
        dt = now - self._measured_at if self._measured_at is not None else 0.0
        self._measured_at = now
        view = torch.from_numpy(grey).to(torch.float32).div_(255.0).expand(1, 3, *grey.shape)
        level = self._motion.update(view, dt, self._flow)
        with self._lock:
            self._motion_level = level
        return level

    def _modulation(self, settings: DreamSettings, level: float) -> Modulation:
        modulation = settings.motion.mapping(level) if settings.motion is not None else Modulation()
        with self._lock:
            self._reactive_scale = modulation.intensity
        return modulation

    def _dream(self, source: Tensor, settings: DreamSettings, gradient: GradientFn,
               generator: torch.Generator, modulation: Modulation, flow: Tensor | None) -> Tensor:  # fmt: skip
        step, feedback = settings.step, settings.feedback
        if modulation.intensity != 1.0:
            step = dataclasses.replace(step, lr=step.lr * modulation.intensity)
        if modulation.feedback != 1.0:
            feedback = dataclasses.replace(feedback, feedback=feedback.feedback * modulation.feedback)
        return self._steps(self._temporal.start(source, feedback, flow), settings, step, gradient, generator)

    def _steps(self, image: Tensor, settings: DreamSettings, step: StepParams, gradient: GradientFn,
               generator: torch.Generator) -> Tensor:
        for _ in range(settings.steps):
            params = self._walk.params(step, self._walk_step)
            self._walk_step += 1
            image = self._step_fn(settings.net, image, settings.objective, params, generator, gradient)
        return image

    def _evolve(self, settings: DreamSettings, gradient: GradientFn, generator: torch.Generator,
                size: tuple[int, int], now: float) -> Tensor:
        """The next frame of the infinite zoom from the last dream, at the preset's own lr."""
        attract = settings.attract or AttractParams()
        previous = fit(self._last_output, size) if self._last_output is not None else None
        if previous is None:
            raise RuntimeError("nothing to evolve: no dream yet")
        zoom = attract.zoom_for(now - self._shown_at if self._shown_at is not None else 0.0)
        return attract_frame(previous, zoom, lambda image: self._steps(image, settings, settings.step, gradient,
                                                                       generator))  # fmt: skip

    def _begin_fade(self, settings: DreamSettings, now: float) -> None:
        fade_s = settings.attract.fade_s if settings.attract is not None else 0.0
        self._fade = (self._last_output, now, fade_s) if self._last_output is not None and fade_s > 0 else None

    def _faded(self, dreamed: Tensor, now: float) -> Tensor:
        """Crossfade from the evolved dream back to the camera's (display only)."""
        if self._fade is None:
            return dreamed
        start, began, seconds = self._fade
        progress = (now - began) / seconds
        if progress >= 1.0 or start.shape != dreamed.shape:
            self._fade = None
            return dreamed
        return torch.lerp(start, dreamed, ease(progress))

    def _show(self, dreamed: Tensor, source: Tensor, camera: Camera | None, size: tuple[int, int],
              settings: DreamSettings, mode: DreamMode, started: float) -> None:  # fmt: skip
        """Grade and compose (display only: `dreamed` is what the next frame builds on), bring down once, publish."""
        self._last_output = dreamed
        graded = apply_post(self._faded(dreamed, started), settings.post, source)
        self._mark("post")
        link = self._link
        assert link is not None  # _setup made it
        shown = link.show(graded, source, camera, size, settings.compose)
        if self._stages is not None:
            self._stages.mark("compose+download")
            self._stages.end()
        now = self._clock()
        frame = self._last_frame
        source_seq, source_time = (frame.seq, frame.timestamp) if frame is not None else (0, started)
        self._slot.publish(lambda seq: Dream(shown, seq, now, source_seq, source_time, settings.label, mode))
        self._shown_at = now
        self._set_mode(mode)
        self._rate.tick()
        self._step_ms.add((now - started) * 1000)


def fit(image: Tensor, size: tuple[int, int]) -> Tensor:
    """`image` at (width, height), e.g. the last dream after the processing size stepped down."""
    return resize(image, size[1], size[0]).clamp(0.0, 1.0)
