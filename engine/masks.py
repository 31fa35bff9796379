"""Who dreams: a soft mask from a background model, so the dream grows only on visitors (or only on the room).

The mask is OpenCV's MOG2 background model run on the small grey copy of the camera
frame the flow already uses (a few hundred pixels wide, so it costs about a millisecond),
cleaned with morphology (an opening removes speckle from sensor noise, a closing fills
the holes inside a body), then feathered with a Gaussian so no hard edge ever shows.

It adapts slowly. MOG2 learns a new colour at a pixel with a weight that grows as
1 - exp(-t / tau) and calls it background once that weight passes 1 - backgroundRatio
(0.1 by default); the learning rate per frame is dt / tau with the real frame interval,
so the fade does not depend on the frame rate. tau is set so that a visitor who stands
still fades into the room over STILL_FADE_S = 60 seconds (measured in
tests/engine/test_masks.py), and a room whose light changes is relearnt just as slowly.

The mask (1 = dream, 0 = show the camera) scales the ascent direction of every step and
the detail carried from the previous frame, and the shown frame is composed from the
camera plus the masked detail, so masked-out pixels show the camera exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from torch import Tensor

from engine.bounds import check_bound
from engine.errors import unknown_name

MASK_MODES = ("none", "visitors", "room")
STILL_FADE_S = 60.0  # a visitor standing still fades into the background over about this long
_BACKGROUND_RATIO = 0.9  # MOG2's default: a colour with more than 1 - this weight is background
TAU_S = STILL_FADE_S / math.log(1.0 / _BACKGROUND_RATIO)  # MOG2's time constant: about 570 s
_OPEN = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
_CLOSE = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))


@dataclass(frozen=True)
class MaskParams:
    """mode: none | visitors (only what moves dreams) | room (all but what moves dreams).

    strength: 0 = the mask changes nothing, 1 = masked-out pixels do not dream at all.
    feather: Gaussian sigma of the mask's edge in processing-size pixels.
    """

    mode: str = "none"
    strength: float = 1.0
    feather: float = 6.0

    def __post_init__(self) -> None:
        if self.mode not in MASK_MODES:
            raise unknown_name("mask", self.mode, MASK_MODES)
        check_bound("mask_strength", self.strength)
        check_bound("mask_feather", self.feather)

    @property
    def active(self) -> bool:
        return self.mode != "none" and self.strength > 0


class BackgroundMask:
    """Per-frame mask from a host grey copy; keeps the background model between frames (one per thread)."""

    def __init__(self) -> None:
        self._model = self._new_model()
        self._shape: tuple[int, ...] | None = None

    @staticmethod
    def _new_model() -> cv2.BackgroundSubtractorMOG2:
        model = cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=16, detectShadows=False)
        model.setBackgroundRatio(_BACKGROUND_RATIO)
        return model

    def reset(self) -> None:
        """Forget the room (camera or size changed): the next frame is learnt as the background."""
        self._model = self._new_model()
        self._shape = None

    def foreground(self, grey: np.ndarray, dt: float) -> np.ndarray:
        """HxW uint8 grey frame, seconds since the last one -> HxW uint8 0/255 of what is not the room."""
        if grey.shape != self._shape:
            self.reset()
            self._shape = grey.shape
            self._model.apply(grey, learningRate=1.0)  # the first frame is the room
            return np.zeros(grey.shape, np.uint8)
        rate = min(1.0, max(dt, 0.0) / TAU_S)
        moving = self._model.apply(grey, learningRate=rate)
        moving = cv2.morphologyEx(moving, cv2.MORPH_OPEN, _OPEN)
        return cv2.morphologyEx(moving, cv2.MORPH_CLOSE, _CLOSE)

    def __call__(self, grey: np.ndarray, dt: float, params: MaskParams, width: int) -> np.ndarray:
        """HxW float32 in [0, 1] (1 = dream) for a dream `width` pixels wide; the feather is in its pixels."""
        moving = self.foreground(grey, dt).astype(np.float32) * (1.0 / 255.0)
        return shape_mask(moving, params, grey.shape[1] / width)


def shape_mask(moving: np.ndarray, params: MaskParams, scale: float = 1.0) -> np.ndarray:
    """Foreground in [0, 1] -> the dream mask: feathered (sigma feather * `scale`), mode and strength applied."""
    sigma = params.feather * scale
    if sigma > 0:
        moving = cv2.GaussianBlur(moving, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    wanted = moving if params.mode == "visitors" else 1.0 - moving
    return (1.0 - params.strength * (1.0 - wanted)).astype(np.float32)


def masked(image: Tensor, base: Tensor, mask: Tensor | None) -> Tensor:
    """`base` plus the share `mask` of (image - base): where mask is 0 the result is `base` exactly."""
    if mask is None:
        return image
    return base + mask.to(image.dtype) * (image - base)
