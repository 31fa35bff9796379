"""Colour grading of the shown dream: saturation, contrast, brightness.

Applied to what is displayed only, never to what is fed back into the next frame, so
a preset's grading cannot compound frame after frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from engine.errors import check_range

# Rec. 601 luma weights, the usual choice for "how bright does this look"
LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class PostParams:
    """saturation and contrast are factors (1 = unchanged); brightness is added, in [0, 1] units."""

    saturation: float = 1.0
    contrast: float = 1.0
    brightness: float = 0.0

    def __post_init__(self) -> None:
        check_range("saturation", self.saturation, 0.0, 3.0)
        check_range("contrast", self.contrast, 0.0, 3.0)
        check_range("brightness", self.brightness, -1.0, 1.0)

    @property
    def identity(self) -> bool:
        return self.saturation == 1.0 and self.contrast == 1.0 and self.brightness == 0.0


def luma(image: Tensor) -> Tensor:
    """(N, 1, H, W) perceived brightness of an RGB image."""
    r, g, b = image[:, 0:1], image[:, 1:2], image[:, 2:3]
    return LUMA[0] * r + LUMA[1] * g + LUMA[2] * b


def saturation(image: Tensor) -> Tensor:
    """(N, 1, H, W) per-pixel colourfulness: max minus min channel (the HSV chroma)."""
    return image.amax(dim=1, keepdim=True) - image.amin(dim=1, keepdim=True)


def apply_post(image: Tensor, params: PostParams) -> Tensor:
    """Grade an RGB [0, 1] image: saturation around the pixel's grey, contrast around mid-grey."""
    if params.identity:
        return image
    out = image
    if params.saturation != 1.0:
        grey = luma(out)
        out = grey + params.saturation * (out - grey)
    if params.contrast != 1.0:
        out = 0.5 + params.contrast * (out - 0.5)
    if params.brightness != 0.0:
        out = out + params.brightness
    return out.clamp(0.0, 1.0)
