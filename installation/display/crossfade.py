"""Preset transitions: an eased blend from the old look to the new one.

Pure numpy so it can be tested exactly and used wherever the blend happens (the
renderer blends at screen resolution with SDL surface alpha using the same `ease`;
a dream worker or recorder can call `crossfade` on its own frames).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


def ease(t: float) -> float:
    """Smoothstep: starts and ends gently so a transition never jumps at either end."""
    t = min(1.0, max(0.0, float(t)))
    return t * t * (3.0 - 2.0 * t)


def crossfade(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Blend uint8 image `a` (old look) into `b` (new look) at progress t in [0, 1], eased.

    The endpoints are exact copies (no rounding drift), and the weight on `b` rises
    monotonically with t.
    """
    if a.shape != b.shape:
        raise ValueError(f"crossfade needs images of one shape, got {a.shape} and {b.shape}")
    weight = ease(t)
    if weight <= 0.0:
        return a.copy()
    if weight >= 1.0:
        return b.copy()
    mixed = a.astype(np.float32) * (1.0 - weight) + b.astype(np.float32) * weight
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


@dataclass
class FadeClock:
    """When a transition started and how far it has got; the clock is injected for tests."""

    duration_s: float
    now: Callable[[], float]
    started_at: float | None = field(default=None)

    def start(self) -> None:
        self.started_at = self.now()

    @property
    def started(self) -> bool:
        return self.started_at is not None

    def progress(self) -> float:
        """Linear progress 0..1 (0 before `start`); a zero duration is done at once."""
        if self.started_at is None:
            return 0.0
        if self.duration_s <= 0:
            return 1.0
        return min(1.0, max(0.0, (self.now() - self.started_at) / self.duration_s))

    def weight(self) -> float:
        """Eased weight of the new look."""
        return ease(self.progress())

    def done(self) -> bool:
        return self.progress() >= 1.0
