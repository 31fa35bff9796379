"""Attract mode: when the room has been still for a while, the last dream evolves on its own.

Each frame is dreamed from a slightly zoomed and rotated copy of the previous one,
the classic infinite zoom. The state machine only decides when: it turns on after
`after_s` seconds without motion and off as soon as someone moves. Time comes from
an injected clock so tests (and the schedule) control it.

The same loop keeps the screen alive when the camera is lost (unplugged): the last
dream goes on evolving at a modest rate until frames come back.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from engine.bounds import BOUNDS, check_bound
from engine.errors import check_range

Clock = Callable[[], float]
DreamFn = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class ZoomParams:
    """Per-frame transform of the feedback: zoom > 1 flies into the picture."""

    zoom: float = 1.02
    rotate_deg: float = 0.3
    shift: tuple[float, float] = (0.0, 0.0)  # (x, y) in pixels per frame

    def __post_init__(self) -> None:
        check_bound("frame_zoom", self.zoom)
        check_bound("frame_rotate", self.rotate_deg)

    @classmethod
    def per_frame(cls, zoom_per_s: float, rotate_deg_per_s: float, dt: float) -> ZoomParams:
        """The preset gives rates per second (attract.zoom, attract.rotate); one frame lasts `dt`."""
        dt = max(0.0, dt)
        return cls(zoom=zoom_per_s**dt, rotate_deg=rotate_deg_per_s * dt)


MAX_FRAME_S = 0.5  # a stalled frame must not make the zoom jump


@dataclass(frozen=True)
class AttractParams:
    """A preset's `attract:` section plus the camera-lost loop.

    enabled/after_s: evolve the last dream after this many still seconds.
    zoom_per_s/rotate_deg_per_s: the infinite zoom's speed.
    fade_s: crossfade from the evolved dream back to the camera's.
    lost_after_s: seconds without any camera frame after which the source counts as lost
        and the last dream evolves on its own (0 = never); lost_fps: its frame rate.
    """

    enabled: bool = True
    after_s: float = 60.0
    zoom_per_s: float = 1.03
    rotate_deg_per_s: float = 0.5
    fade_s: float = 1.5
    lost_after_s: float = 2.0
    lost_fps: float = 10.0

    def __post_init__(self) -> None:
        check_bound("attract_after", self.after_s)
        check_bound("attract_zoom", self.zoom_per_s)
        check_bound("attract_rotate", self.rotate_deg_per_s)
        check_bound("attract_fade", self.fade_s)
        check_bound("source_lost_after", self.lost_after_s)
        check_bound("source_lost_fps", self.lost_fps)

    @property
    def still_after_s(self) -> float:
        """What `AttractMode` takes: 0 when attract mode is switched off."""
        return self.after_s if self.enabled else 0.0

    def zoom_for(self, dt: float) -> ZoomParams:
        """The transform of one frame that lasted `dt` seconds (capped, so a stall does not jump)."""
        return ZoomParams.per_frame(self.zoom_per_s, self.rotate_deg_per_s, min(dt, MAX_FRAME_S))


def zoom_rotate(image: Tensor, params: ZoomParams) -> Tensor:
    """Zoom about the centre, rotate and shift (1, 3, H, W); borders are mirrored, not black."""
    height, width = image.shape[-2:]
    angle = math.radians(params.rotate_deg)
    cos, sin = math.cos(angle) / params.zoom, math.sin(angle) / params.zoom
    aspect = width / height
    # affine_grid works in [-1, 1] coordinates on both axes; correct rotation for the aspect
    theta = torch.tensor(
        [[cos, -sin / aspect, -2 * params.shift[0] / width], [sin * aspect, cos, -2 * params.shift[1] / height]],
        dtype=image.dtype, device=image.device,
    ).unsqueeze(0)  # fmt: skip
    grid = F.affine_grid(theta.expand(image.shape[0], 2, 3), list(image.shape), align_corners=False)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def attract_frame(previous: Tensor, params: ZoomParams, dream: DreamFn) -> Tensor:
    """The next frame of the infinite zoom: dream(zoom_rotate(previous))."""
    return dream(zoom_rotate(previous, params))


def _check_after(after_s: float) -> float:
    """AttractMode's delay: 0 (off) up to the longest `attract.after` a preset may give."""
    return check_range("attract after_s", after_s, 0.0, BOUNDS["attract_after"].high)


class AttractMode:
    """On after `after_s` seconds with motion below `threshold`; off at the first motion above it.

    after_s = 0 switches attract mode off entirely.
    """

    def __init__(self, after_s: float, clock: Clock, threshold: float = 0.1) -> None:
        _check_after(after_s)
        check_bound("attract_threshold", threshold)
        self.after_s = after_s
        self.threshold = threshold
        self._clock = clock
        self._still_since = clock()
        self.active = False

    def update(self, motion_level: float) -> bool:
        """Feed the current (smoothed) motion level; returns whether attract mode is on."""
        now = self._clock()
        if motion_level > self.threshold:
            self._still_since = now
            self.active = False
        elif self.after_s > 0 and now - self._still_since >= self.after_s:
            self.active = True
        return self.active

    def set_after(self, after_s: float) -> None:
        """A new preset's delay; the stillness timer keeps running (a playlist must not keep restarting it)."""
        _check_after(after_s)
        self.after_s = after_s
        if after_s == 0:
            self.active = False

    def reset(self) -> None:
        """Start the stillness timer again (e.g. on wake-up or a preset change)."""
        self._still_since = self._clock()
        self.active = False
