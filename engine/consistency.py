"""Temporal consistency of a dreamt video: the warping error of Lai et al. (ECCV 2018).

What an audience reads as a steady dream is whether the pattern moves with what it
grew on. For each frame t the previous output is warped to t along the optical flow
of the SOURCE frames (not of the dream, which would reward a dream that drags its
own motion), pixels where that flow cannot be trusted (occluded, uncovered, out of
view) are masked by forward-backward consistency, and the mean absolute difference
over the trusted pixels is the error. The same warp applied to the source itself
gives the error the flow leaves on its own; the dream's flicker is the excess.

Pure computation on float numpy arrays (HxWxC in [0, 1]); flows follow
engine.temporal's convention: new(x) ~ prev(x + flow(x)).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from engine.temporal import FlowFn

FB_ALPHA = 0.01  # Sundaram et al. 2010's occlusion test, as Lai et al. use it
FB_BETA = 0.5


def warp_back(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """`image` (the previous frame) sampled at x + flow(x): aligned to the new frame."""
    height, width = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return cv2.remap(image, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def consistent_mask(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """HxW bool, True where the flow can be trusted.

    forward: new -> prev (new(x) ~ prev(x + forward(x))); backward: prev -> new. A pixel
    is trusted when going there and back returns to it (|f + b(x+f)|^2 small against
    the flows' own size) and its match lies inside the previous frame.
    """
    height, width = forward.shape[:2]
    back = warp_back(backward, forward)
    round_trip = np.square(forward + back).sum(axis=2)
    size = np.square(forward).sum(axis=2) + np.square(back).sum(axis=2)
    xs, ys = np.meshgrid(np.arange(width), np.arange(height))
    tx, ty = xs + forward[..., 0], ys + forward[..., 1]
    inside = (tx >= 0) & (tx <= width - 1) & (ty >= 0) & (ty <= height - 1)
    return (round_trip <= FB_ALPHA * size + FB_BETA) & inside


@dataclass(frozen=True)
class FramePair:
    """The source flow from frame t-1 to frame t and where it can be trusted."""

    flow: np.ndarray  # HxWx2 float32, new -> prev
    trusted: np.ndarray  # HxW bool


def source_pairs(greys: Sequence[np.ndarray], flow_fn: FlowFn) -> list[FramePair]:
    """One FramePair per consecutive pair of uint8 grey source frames (len(greys) - 1 of them)."""
    pairs = []
    for prev, new in itertools.pairwise(greys):
        forward, backward = flow_fn(new, prev), flow_fn(prev, new)
        pairs.append(FramePair(forward, consistent_mask(forward, backward)))
    return pairs


def pair_error(prev: np.ndarray, new: np.ndarray, pair: FramePair) -> float:
    """Mean absolute difference between `new` and `prev` warped to it, over trusted pixels (0 if none)."""
    if not pair.trusted.any():
        return 0.0
    diff = np.abs(new - warp_back(prev, pair.flow)).mean(axis=2)
    return float(diff[pair.trusted].mean())


def warping_error(frames: Sequence[np.ndarray], pairs: Sequence[FramePair]) -> float:
    """E_warp: the mean of pair_error over the clip; `frames` HxWxC float in [0, 1], one more than `pairs`."""
    if len(frames) != len(pairs) + 1:
        raise ValueError(f"{len(frames)} frames need {len(frames) - 1} flow pairs, got {len(pairs)}")
    if not pairs:
        return 0.0
    return float(np.mean([pair_error(frames[t], frames[t + 1], pair) for t, pair in enumerate(pairs)]))


@dataclass(frozen=True)
class Consistency:
    """E_warp of the dream and of its source, and the dream's strength (mean |dream - source|)."""

    dream: float
    source: float
    strength: float

    @property
    def flicker(self) -> float:
        """The error the dream adds beyond what the flow leaves on the source itself."""
        return self.dream - self.source

    @property
    def flicker_per_strength(self) -> float:
        """Flicker per unit of dream: a weaker dream does not look steadier for free."""
        return self.flicker / self.strength if self.strength > 0 else 0.0


def consistency(dreams: Sequence[np.ndarray], sources: Sequence[np.ndarray], pairs: Sequence[FramePair]) -> Consistency:
    """Warping errors and strength of a dreamt clip; all frames HxWxC float in [0, 1] at one size."""
    if len(dreams) != len(sources):
        raise ValueError(f"{len(dreams)} dreamt frames for {len(sources)} source frames")
    strength = float(np.mean([np.abs(d - s).mean() for d, s in zip(dreams, sources, strict=True)]))
    return Consistency(warping_error(dreams, pairs), warping_error(sources, pairs), strength)
