"""One frame through the device: the dream worker's per-frame path, run on its thread only.

Everything per frame runs on the settings' device in their dtype: the camera frame
goes up once (installation.dreaming.host_link), is resized there to the processing size and to
the output size, dreamt, graded, composed (engine.compose: the camera at output size
plus the dream's detail) and converted to uint8 there; the shown frame comes down once.
Optical flow and motion are measured on a small grey copy made on the host from the
camera frame the host already has, so they cost no transfer. The mode machine decides
between dreaming the camera and evolving the last dream; the size governor decides the
processing size. A mask (engine.masks: who dreams) is made on the host from the same grey
copy and goes up once, small; it scales the carried detail, every step and the shown detail.
With `dreamer: student` and a student for the look, one pass of the student (engine.student.dream)
replaces the gradient steps; everything around them is the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from engine.attract import AttractParams, attract_frame
from engine.framing import shown_size
from engine.masks import BackgroundMask, masked
from engine.networks import DreamNet
from engine.objectives import Objective
from engine.panorama import seen_size
from engine.post import apply_post
from engine.reactive import Modulation, MotionParams, MotionTracker, SharedFlow
from engine.step import GradientFn, JitterWalk, StepParams, autograd_gradient
from engine.student.dream import student_frame
from engine.temporal import FeedbackParams, FlowFn, TemporalFeedback, flow_size, host_grey, upscale_flow, wrapping
from installation.common.rates import Clock
from installation.dreaming.host_link import Camera, HostLink
from installation.dreaming.modes import ModeMachine
from installation.dreaming.settings import DreamMode, DreamSettings
from installation.dreaming.size_governor import CPU_PROCESS_SIZE, SizeGovernor, fit
from installation.dreaming.stage_timer import StageTimer
from installation.sources.capture import Frame

if TYPE_CHECKING:
    from installation.dreaming.students import LookStudent

GradientFactory = Callable[[DreamNet, Objective, tuple[int, int]], GradientFn]
"""(net, objective, process size (width, height)) -> gradient function; size for backends that build per size."""
StepFn = Callable[..., Tensor]
"""engine.step.dream_step's signature (net, image, objective, params, generator, gradient, mask= only when
masking); injectable so tests can see the parameters each step got."""
Publish = Callable[[np.ndarray, Frame | None, str, DreamMode, float], None]
"""(shown image, camera frame behind it or None, preset label, mode, when the frame began) -> None."""


def autograd_factory(net: DreamNet, objective: Objective, size: tuple[int, int]) -> GradientFn:
    """The default gradient: plain autograd, any size."""
    return autograd_gradient(net, objective)


def describe(settings: DreamSettings, frame: Frame | None) -> str:
    """What failed, for the log: the frame (or the camera-lost loop), the preset and its objective."""
    what = (f"frame {frame.seq} ({frame.image.shape[1]}x{frame.image.shape[0]})" if frame is not None
            else "an evolving frame (camera lost)")  # fmt: skip
    return f"{what}, preset {settings.label or '?'}, objective {settings.objective.description}"


class FrameDreamer:
    """Dreams one frame at a time and hands the shown frame to `publish`.

    seed: the jitter seed for every preset; None = each settings' own `seed`.
    """

    def __init__(self, gradient_factory: GradientFactory, step_fn: StepFn, flow_fn: FlowFn | None,
                 seed: int | None, clock: Clock, publish: Publish, stage_timer: StageTimer | None) -> None:  # fmt: skip
        self._gradient_factory = gradient_factory
        self._step_fn = step_fn
        self._clock = clock
        self._publish = publish
        self._stages = stage_timer
        self._seed_override = seed
        self._flow = SharedFlow(flow_fn)  # one flow per frame for both the motion measure and the feedback
        self._temporal = TemporalFeedback(self._flow)
        self._motion = MotionTracker()
        self.modes = ModeMachine(clock)
        self.sizes = SizeGovernor()
        self.link: HostLink | None = None
        self.motion_level = 0.0  # for the health report: single immutable values written by this thread only
        self.reactive_scale = 1.0
        self.fit = "fill"  # the fit rule of the frame being published (settings.fit when it was composed)
        self._seed: int | None = None  # what the generator and the jitter walk were seeded with
        self._generator = torch.Generator()  # on the CPU whatever the device: engine.step draws jitter there
        self._walk = JitterWalk(0)  # the preset's jitter_walk: rolls that drift across steps and frames
        self._walk_step = 0
        self._gradient: GradientFn | None = None
        self._gradient_key: tuple[int, tuple[int, int]] | None = None
        self._configured = -1  # settings version the motion tracker and attract timer follow
        self._measured_at: float | None = None
        self._prev_grey: np.ndarray | None = None  # host grey copy of the frame the temporal feedback remembers
        self._last_frame: Frame | None = None
        self._last_source: Tensor | None = None
        self.last_output: Tensor | None = None  # ungraded, what attract mode evolves
        self._shown_at: float | None = None
        self._background = BackgroundMask()
        self._mask_at: float | None = None
        self.mask: Tensor | None = None  # this frame's mask at processing size, or None (everything dreams)
        self.dreamer_notice: str | None = None  # a preset asked for a student it has not
        self._student: LookStudent | None = None  # the student that dreams now, if one does

    def restart_timers(self) -> None:
        """After a freeze (or sleep): neither the pause nor the camera's return counts as stillness or motion."""
        self.modes.restart()
        self._measured_at = None
        self._motion.forget()

    def step_down(self) -> str | None:
        """Out of memory: dream smaller from the next frame on; the notice, or None at the smallest size."""
        return self.sizes.step_down(release=self._release_gradient)

    def _release_gradient(self) -> None:
        self._gradient = self._gradient_key = None

    def _reseed(self, settings: DreamSettings) -> None:
        """Same seed, same dreams: a preset with another seed starts its generator and jitter walk afresh."""
        seed = self._seed_override if self._seed_override is not None else settings.seed
        if seed != self._seed:
            self._seed = seed
            self._generator.manual_seed(seed)
            self._walk = JitterWalk(seed)
            self._walk_step = 0

    @property
    def dreamer(self) -> str:
        """What dreams the frames now: gradient or student (for the health report)."""
        return "gradient" if self._student is None else "student"

    @property
    def student_runs(self) -> str:
        """What runs the student's pass now (its backend, or the eager student while a build runs: the HUD and the
        status file say it); "" while the gradient dreams."""
        student = self._student
        if student is None:
            return ""
        describe = getattr(student.net, "describe", None)
        return str(describe()) if describe is not None else student.backend

    def _setup(self, settings: DreamSettings, version: int, frame: Frame | None = None
               ) -> tuple[HostLink, tuple[int, int], GradientFn | None]:  # fmt: skip
        """Host link, size (at `frame`'s aspect; None: the last frame's) and gradient (None when the student
        dreams: no gradient graph is built); follows a settings change."""
        device, dtype = settings.device, settings.dtype
        link = self.link
        if link is None or (link.device, link.dtype) != (device, dtype):
            link = self.link = HostLink(device, dtype)
            self._temporal.reset()  # the remembered frames live on the old device
            self.last_output = self._last_source = None
            self.modes.forget_fade()
        if version != self._configured:
            self._configured = version
            self._motion.configure(settings.motion or MotionParams())
            self.modes.configure(settings.attract)
        source = (frame.image.shape[1], frame.image.shape[0]) if frame is not None else None
        size = self.sizes.follow(settings.process_size, device, source)
        self._reseed(settings)
        self._student = settings.student if settings.runs_student else None
        self.dreamer_notice = settings.dreamer_notice
        if settings.runs_student:
            return link, size, None
        if self._gradient is None or self._gradient_key != (version, size):
            seen = seen_size(size, settings.step.panorama_pad)  # a panorama is padded before the network sees it
            self._gradient = self._gradient_factory(settings.net, settings.objective, seen)
            self._gradient_key = (version, size)
        return link, size, self._gradient

    def _mark(self, stage: str | None) -> None:
        """A stage boundary for the benchmarks' StageTimer (None: the frame begins); nothing without one."""
        if self._stages is None:
            return
        if stage is None:
            self._stages.begin()
        else:
            self._stages.mark(stage)

    def _output_for(self, frame: Frame | None, asked: tuple[int, int] | None, fit: str) -> tuple[int, int]:
        """The size to compose at: the camera frame's own, or for `asked` (the screen, the video) the size the
        fit rule then only crops or pads (engine.framing.shown_size): never another aspect, unless stretch."""
        own = (frame.image.shape[1], frame.image.shape[0]) if frame is not None else self.sizes.size or CPU_PROCESS_SIZE
        return own if asked is None else shown_size(own, asked, fit)

    def camera(self, frame: Frame, settings: DreamSettings, version: int, output: tuple[int, int] | None) -> None:
        """Dream `frame` (or evolve the last dream, in a still room) and show it at `output` (None: the camera's)."""
        started = self._clock()
        link, size, gradient = self._setup(settings, version, frame)
        self._mark(None)
        out_size = self._output_for(frame, output, settings.fit)
        wants_camera = settings.compose == "detail"
        source, camera = link.upload(frame.image, size, out_size if wants_camera else None)
        self._mark("upload")
        grey = host_grey(frame.image, flow_size(size))
        self.mask = self._mask_for(grey, settings, size, link, started)
        if self.modes.camera_returns():
            self._motion.forget()
        level = self._measure(grey, started)
        previous = self.modes.mode
        mode = self.modes.choose(settings.attract, level, self.last_output, started)
        if mode == "attract":
            self._mark("flow")
            dreamed = self._evolve(settings, gradient, size, started)
            camera = self.mask = None  # the evolving dream is not of this camera frame
        else:
            if previous != "camera":
                self._temporal.reset()
            modulation = self._modulation(settings, level)
            flow = self._flow_to(grey, settings.feedback, size, link)
            self._mark("flow")
            dreamed = self._dream(source, settings, gradient, modulation, flow)
            self._temporal.remember(source, dreamed)
            self._prev_grey = grey
        self._last_frame, self._last_source = frame, source
        self._mark("steps")
        self._show(dreamed, source, camera, out_size, settings, mode, started)

    def lost(self, settings: DreamSettings, version: int, output: tuple[int, int] | None) -> None:
        """No camera frame for a while: evolve the last dream so the screen stays alive."""
        started = self._clock()
        if settings.attract is None:
            return
        self.modes.lost_frame(settings.attract, started)
        _, size, gradient = self._setup(settings, version)
        self.mask = None
        dreamed = self._evolve(settings, gradient, size, started)
        source = self._last_source if self._last_source is not None else dreamed
        self._show(dreamed, fit(source, size), None, self._output_for(self._last_frame, output, settings.fit),
                   settings, "source-lost", started)  # fmt: skip

    def _flow_to(self, grey: np.ndarray, feedback: FeedbackParams, size: tuple[int, int],
                 link: HostLink) -> Tensor | None:  # fmt: skip
        """The flow from the remembered frame to this one at processing size, on the device; None when unused."""
        previous = self._prev_grey
        if not (feedback.flow and feedback.feedback > 0 and self._temporal.primed):
            return None
        if previous is None or previous.shape != grey.shape:
            return None
        estimate = wrapping(self._flow) if feedback.wrap else self._flow  # a panorama's flow crosses its seam
        return upscale_flow(estimate(grey, previous), size, link.device, link.dtype)

    def _mask_for(self, grey: np.ndarray, settings: DreamSettings, size: tuple[int, int], link: HostLink,
                  now: float) -> Tensor | None:  # fmt: skip
        """The mask at processing size on the device (built on the host, one small upload); None when off."""
        if not settings.mask.active:
            self._mask_at = None
            return None
        if self._mask_at is None:
            self._background.reset()  # the mask was off: the room it knew may have changed since
        dt = now - self._mask_at if self._mask_at is not None else 0.0
        self._mask_at = now
        return link.upload_mask(self._background(grey, dt, settings.mask, size[0]), size)

    def _measure(self, grey: np.ndarray, now: float) -> float:
        """Motion from the host's small grey copy: a host tensor view, so no device work or sync."""
        dt = now - self._measured_at if self._measured_at is not None else 0.0
        self._measured_at = now
        view = torch.from_numpy(grey).to(torch.float32).div_(255.0).expand(1, 3, *grey.shape)
        self.motion_level = self._motion.update(view, dt, self._flow)
        return self.motion_level

    def _modulation(self, settings: DreamSettings, level: float) -> Modulation:
        modulation = settings.motion.mapping(level) if settings.motion is not None else Modulation()
        self.reactive_scale = modulation.intensity
        return modulation

    def _dream(self, source: Tensor, settings: DreamSettings, gradient: GradientFn | None, modulation: Modulation,
               flow: Tensor | None) -> Tensor:  # fmt: skip
        step, feedback = settings.step, settings.feedback
        if modulation.intensity != 1.0:
            step = dataclasses.replace(step, lr=step.lr * modulation.intensity)
        if modulation.feedback != 1.0:
            feedback = dataclasses.replace(feedback, feedback=feedback.feedback * modulation.feedback)
        start = masked(self._temporal.start(source, feedback, flow), source, self.mask)
        if settings.student is not None and gradient is None:
            return student_frame(settings.student.net, start, source, settings.student.strength(step.lr),
                                 feedback.feedback, self.mask, step.panorama_pad)  # fmt: skip
        return self._steps(start, settings, step, gradient, self.mask)

    def _steps(self, image: Tensor, settings: DreamSettings, step: StepParams, gradient: GradientFn | None,
               mask: Tensor | None = None) -> Tensor:  # fmt: skip
        student = settings.student
        if student is not None and gradient is None:  # attract: the student dreams on the evolving dream
            return student_frame(student.net, image, image, student.strength(step.lr), settings.feedback.feedback,
                                 mask, step.panorama_pad)  # fmt: skip
        if gradient is None:
            raise RuntimeError("no gradient for the gradient dream")
        extra = {"mask": mask} if mask is not None else {}  # injected step functions need not know masks
        for _ in range(settings.steps):
            params = self._walk.params(step, self._walk_step)
            self._walk_step += 1
            image = self._step_fn(settings.net, image, settings.objective, params, self._generator, gradient,
                                  **extra)  # fmt: skip
        return image

    def _evolve(self, settings: DreamSettings, gradient: GradientFn | None, size: tuple[int, int],
                now: float) -> Tensor:  # fmt: skip
        """The next frame of the infinite zoom from the last dream, at the preset's own lr."""
        attract = settings.attract or AttractParams()
        previous = fit(self.last_output, size) if self.last_output is not None else None
        if previous is None:
            raise RuntimeError("nothing to evolve: no dream yet")
        zoom = attract.zoom_for(now - self._shown_at if self._shown_at is not None else 0.0)
        return attract_frame(previous, zoom, lambda image: self._steps(image, settings, settings.step, gradient))

    def _show(self, dreamed: Tensor, source: Tensor, camera: Camera | None, size: tuple[int, int],
              settings: DreamSettings, mode: DreamMode, started: float) -> None:  # fmt: skip
        """Grade and compose (display only: `dreamed` is what the next frame builds on), bring down once, publish."""
        self.last_output = dreamed
        graded = masked(apply_post(self.modes.faded(dreamed, started), settings.post, source), source, self.mask)
        self._mark("post")
        link = self.link
        assert link is not None  # _setup made it
        shown = link.show(graded, source, camera, size, settings.compose)
        if self._stages is not None:
            self._stages.mark("compose+download")
            self._stages.end()
        self.fit = settings.fit
        self._publish(shown, self._last_frame, settings.label, mode, started)
        self._shown_at = self._clock()
        self.modes.shown(mode)
