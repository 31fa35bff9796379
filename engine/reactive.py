"""How much visitors move, and what that does to the dream (intensity and feedback).

Motion is measured as the fraction of the picture that moved, either from the
difference of two camera frames or from the optical flow the temporal engine already
computed, so both sources land on the same 0-1 scale. It is smoothed with a fast
rise and a slow fall (someone arriving counts at once; a still room settles
slowly), then a preset's mapping turns it into multipliers for the step size (lr)
and the feedback between frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor

from engine.errors import check_range, unknown_name

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
        check_range("motion sensitivity", self.sensitivity, 0.0, 1.0)
        check_range("motion smoothing", self.smoothing_s, 0.0, 600.0)

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
        check_range("motion floor", self.floor, 0.0, 1.0)

    def __call__(self, level: float) -> Modulation:
        if self.mode == "off":
            return Modulation()
        level = min(1.0, max(0.0, level))
        grow = 1.0 - level if self.mode == "grow-when-still" else level
        multiplier = self.floor + (1.0 - self.floor) * grow
        return Modulation(intensity=multiplier, feedback=multiplier)
