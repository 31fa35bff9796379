"""How much visitors move, and what that does to the dream (intensity and feedback).

Motion is measured as the fraction of the picture that moved, either from the
difference of two camera frames or from the optical flow the temporal engine already
computed, so both sources land on the same 0-1 scale. It is smoothed with a fast
rise and a slow fall (someone arriving counts at once; a still room settles
slowly), then a preset's mapping turns it into multipliers for the step size (lr)
and the feedback between frames.

When the preset measures by flow, `SharedFlow` lets the motion measure and the
temporal feedback use one optical flow per frame instead of computing it twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from engine.bounds import check_bound
from engine.errors import unknown_name
from engine.temporal import FlowFn, dis_flow, grey_uint8

_MEASURE_SIDE = 64  # motion is judged on a small copy: cheap, and sensor noise averages out


def _small_gray(image: Tensor) -> Tensor:
    gray = image.float().mean(dim=1, keepdim=True)
    height, width = gray.shape[-2:]
    scale = _MEASURE_SIDE / max(height, width)
    if scale < 1:
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        gray = F.interpolate(gray, size=size, mode="area")
    return gray


def frame_motion(previous: Tensor, current: Tensor, threshold: float = 0.08) -> float:
    """Fraction of the picture (0-1) whose brightness changed by more than `threshold`.

    Both frames are (1, 3, H, W) in [0, 1]; the threshold sits above camera noise.
    """
    if previous.shape != current.shape:
        raise ValueError(f"frames differ in shape: {tuple(previous.shape)} vs {tuple(current.shape)}")
    changed = (_small_gray(current) - _small_gray(previous)).abs() > threshold
    return float(changed.float().mean())


def flow_motion(flow: Tensor, threshold_px: float = 1.0) -> float:
    """Fraction of the picture (0-1) moving faster than `threshold_px` pixels per frame.

    `flow` is (1, 2, H, W) or (H, W, 2) displacement in pixels, as optical flow gives it.
    """
    if flow.dim() == 3 and flow.shape[-1] == 2:
        magnitude = flow.float().norm(dim=-1)
    elif flow.dim() == 4 and flow.shape[1] == 2:
        magnitude = flow.float().norm(dim=1)
    else:
        raise ValueError(f"flow must be (1, 2, H, W) or (H, W, 2), got {tuple(flow.shape)}")
    return float((magnitude > threshold_px).float().mean())


MOTION_MEASURES = ("difference", "flow")


def measure_motion(measure: str, previous: Tensor, current: Tensor, flow: Tensor | None = None) -> float:
    """The preset's `motion.measure`: frame difference, or the flow the temporal engine computed."""
    if measure == "difference":
        return frame_motion(previous, current)
    if measure == "flow":
        if flow is None:
            raise ValueError("motion measure 'flow' needs the optical flow of this frame")
        return flow_motion(flow)
    raise unknown_name("motion measure", measure, MOTION_MEASURES)


@dataclass
class MotionLevel:
    """Smoothed motion in [0, 1], from the preset's `motion.sensitivity` and `motion.smoothing`.

    sensitivity: 1 = the slightest movement counts as full motion, 0 = half the picture
        must move. smoothing_s: time constant of the fall (a still room settles slowly);
        the rise is ten times faster, so someone arriving counts at once. `update` takes
        the seconds since the previous call, so the feel does not depend on frame rate.
    """

    sensitivity: float = 0.5
    smoothing_s: float = 1.0
    level: float = 0.0

    def __post_init__(self) -> None:
        check_bound("motion_sensitivity", self.sensitivity)
        check_bound("motion_smoothing", self.smoothing_s)

    @property
    def full_at(self) -> float:
        """Moving share of the picture that counts as full motion."""
        return max(0.002, 0.5 * (1.0 - self.sensitivity))

    def update(self, moving_fraction: float, dt: float) -> float:
        target = min(1.0, max(0.0, moving_fraction / self.full_at))
        tau = self.smoothing_s * (0.1 if target > self.level else 1.0)
        alpha = 1.0 if tau <= 0 else 1.0 - math.exp(-max(0.0, dt) / tau)
        self.level += alpha * (target - self.level)
        return self.level


@dataclass(frozen=True)
class Modulation:
    """Multipliers applied to the preset's lr and feedback for this frame."""

    intensity: float = 1.0
    feedback: float = 1.0


REACTIVE_MODES = ("off", "grow-when-still", "grow-when-moving")


@dataclass(frozen=True)
class ReactiveMapping:
    """The preset's `motion.mode` and `motion.floor`: how motion shapes the dream.

    grow-when-still: the dream builds up while people stand still and melts back to the
        camera image when they move. grow-when-moving: the opposite. off: no effect.
    floor: the multiplier of lr and feedback at the "melted" end.
    """

    mode: str = "off"
    floor: float = 0.2

    def __post_init__(self) -> None:
        if self.mode not in REACTIVE_MODES:
            raise unknown_name("motion mode", self.mode, REACTIVE_MODES)
        check_bound("motion_floor", self.floor)

    def __call__(self, level: float) -> Modulation:
        if self.mode == "off":
            return Modulation()
        level = min(1.0, max(0.0, level))
        grow = 1.0 - level if self.mode == "grow-when-still" else level
        multiplier = self.floor + (1.0 - self.floor) * grow
        return Modulation(intensity=multiplier, feedback=multiplier)


@dataclass(frozen=True)
class MotionParams:
    """A preset's `motion:` section: what counts as motion and what it does to the dream."""

    mode: str = "off"
    measure: str = "difference"
    sensitivity: float = 0.5
    smoothing_s: float = 1.0
    floor: float = 0.2

    def __post_init__(self) -> None:
        if self.measure not in MOTION_MEASURES:
            raise unknown_name("motion measure", self.measure, MOTION_MEASURES)
        # the same checks (and messages) as the pieces these values become
        MotionLevel(self.sensitivity, self.smoothing_s)
        ReactiveMapping(self.mode, self.floor)

    @property
    def mapping(self) -> ReactiveMapping:
        return ReactiveMapping(self.mode, self.floor)


class SharedFlow:
    """A flow estimator (FlowFn) that remembers its last answer.

    The motion measure asks for the flow between the previous and the new camera frame
    first; the temporal feedback then asks for the same pair and gets the remembered
    flow instead of a second estimate. Pairs are matched by content (two small uint8
    comparisons), so a stale answer is never reused. One per thread, like `dis_flow`.
    """

    def __init__(self, flow_fn: FlowFn | None = None) -> None:
        self._flow_fn = flow_fn
        self._last: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.estimates = 0  # how many flows were really computed

    def __call__(self, new_grey: np.ndarray, prev_grey: np.ndarray) -> np.ndarray:
        last = self._last
        if last is not None and np.array_equal(last[0], new_grey) and np.array_equal(last[1], prev_grey):
            return last[2]
        if self._flow_fn is None:
            self._flow_fn = dis_flow()
        flow = self._flow_fn(new_grey, prev_grey)
        self._last = (new_grey, prev_grey, flow)
        self.estimates += 1
        return flow

    def between(self, previous: Tensor, current: Tensor) -> Tensor:
        """(H, W, 2) flow in pixels from `previous` to `current` (both (1, 3, H, W) in [0, 1])."""
        return torch.from_numpy(self(grey_uint8(current), grey_uint8(previous)))


class MotionTracker:
    """One call per camera frame: compares it with the previous one and keeps the smoothed level."""

    def __init__(self, params: MotionParams = MotionParams()) -> None:
        self._params = params
        self._level = MotionLevel(params.sensitivity, params.smoothing_s)
        self._previous: Tensor | None = None

    @property
    def level(self) -> float:
        return self._level.level

    @property
    def previous(self) -> Tensor | None:
        return self._previous

    def configure(self, params: MotionParams) -> None:
        """New preset: new sensitivity and smoothing, the same level (no jump on a preset change)."""
        self._params = params
        self._level.sensitivity = params.sensitivity
        self._level.smoothing_s = params.smoothing_s

    def update(self, current: Tensor, dt: float, flow: SharedFlow | None = None) -> float:
        """The smoothed level after `current`; a first frame, or one of another size, only starts over.

        `flow` is needed when the preset measures by flow.
        """
        previous, self._previous = self._previous, current.detach()
        if previous is None or previous.shape != current.shape:
            return self.level
        flow_field = None
        if self._params.measure == "flow":
            if flow is None:
                raise ValueError("motion measure 'flow' needs a flow estimator")
            flow_field = flow.between(previous, current)
        return self._level.update(measure_motion(self._params.measure, previous, current, flow_field), dt)

    def forget(self) -> None:
        """Drop the previous frame (the source went away): its return is not counted as motion."""
        self._previous = None
