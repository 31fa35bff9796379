"""Colour grading of the shown dream: saturation, contrast, brightness, gamma, mix.

Applied to what is displayed only, never to what is fed back into the next frame, so
a preset's grading cannot compound frame after frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from engine.bounds import check_bound

# Rec. 601 luma weights, the usual choice for "how bright does this look"
LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class PostParams:
    """saturation and contrast are factors (1 = unchanged); brightness is added, in [0, 1] units.

    gamma: applied after contrast as x ** (1 / gamma), so above 1 lifts the mid-tones
        (as display gamma controls do); 1 = unchanged.
    mix: share of the graded dream against the raw camera frame; 1 = all dream,
        0 = the camera as it is.
    """

    saturation: float = 1.0
    contrast: float = 1.0
    brightness: float = 0.0
    gamma: float = 1.0
    mix: float = 1.0

    def __post_init__(self) -> None:
        for name in ("saturation", "contrast", "brightness", "gamma", "mix"):
            check_bound(name, getattr(self, name))

    @property
    def grades(self) -> bool:
        """Whether the colour of the dream changes (mix aside)."""
        return not (self.saturation == 1.0 and self.contrast == 1.0 and self.brightness == 0.0 and self.gamma == 1.0)

    @property
    def identity(self) -> bool:
        return not self.grades and self.mix == 1.0


def luma(image: Tensor) -> Tensor:
    """(N, 1, H, W) perceived brightness of an RGB image."""
    r, g, b = image[:, 0:1], image[:, 1:2], image[:, 2:3]
    return LUMA[0] * r + LUMA[1] * g + LUMA[2] * b


def saturation(image: Tensor) -> Tensor:
    """(N, 1, H, W) per-pixel colourfulness: max minus min channel (the HSV chroma)."""
    return image.amax(dim=1, keepdim=True) - image.amin(dim=1, keepdim=True)


def grade(image: Tensor, params: PostParams) -> Tensor:
    """Saturation around the pixel's grey, contrast around mid-grey, brightness, then gamma."""
    if not params.grades:
        return image
    out = image
    if params.saturation != 1.0:
        grey = luma(out)
        out = grey + params.saturation * (out - grey)
    if params.contrast != 1.0:
        out = 0.5 + params.contrast * (out - 0.5)
    if params.brightness != 0.0:
        out = out + params.brightness
    out = out.clamp(0.0, 1.0)
    if params.gamma != 1.0:
        out = out.pow(1.0 / params.gamma)
    return out


def apply_post(image: Tensor, params: PostParams, raw: Tensor | None = None) -> Tensor:
    """Grade an RGB [0, 1] dream, then mix it with `raw` (the camera frame it was dreamt from).

    `raw` must have the dream's shape; it is needed only when `params.mix` < 1.
    """
    if params.identity:
        return image
    out = grade(image, params)
    if params.mix != 1.0:
        if raw is None:
            raise ValueError("post mix below 1 needs the raw camera frame")
        if raw.shape != image.shape:
            raise ValueError(f"raw frame {tuple(raw.shape)} differs from the dream {tuple(image.shape)}")
        out = torch.lerp(raw.to(out.dtype), out, params.mix)
    return out
