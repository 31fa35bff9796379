"""Equirectangular (2:1) panoramas: the 0/360 degree seam the dream must not see.

A 360-degree image is periodic left to right, but a network pads its convolutions with
zeros, so the columns at either edge dream differently from the rest and the seam shows
once the panorama is wrapped round a viewer. Here the image is padded circularly before
the network sees it, by the receptive field of the deepest layer the objective reads
(`receptive_field` bounds it per network from its convolutions and pools; a pixel's
gradient depends on input up to a whole field away), and the gradient is cropped back:
every column is dreamt with its true neighbours, and a panorama rolled by a multiple of
the network's stride dreams into the same panorama rolled (tested). The cost is the
wider image: for fire7 (field 143 px) a 320-pixel-wide dream works on 608 columns (pad 144). The jitter is a
roll, which wraps anyway; the feedback warp wraps too (engine.temporal.warp).

Near the poles one row of pixels covers ever less of the sphere, so an equal step there is
stretched into streaks when viewed; the step is scaled by the cosine of the latitude.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.networks import DreamNet

if TYPE_CHECKING:  # engine.step uses this module
    from engine.step import StepParams
    from engine.temporal import FeedbackParams


def _pair(value: int | tuple[int, ...]) -> int:
    return int(value if isinstance(value, int) else value[-1])  # the horizontal size: the seam is vertical


def field_and_stride(net: DreamNet, layers: Iterable[str]) -> tuple[int, int]:
    """(an upper bound in input pixels on the width one unit of the deepest of `layers` sees, its total stride).

    Walks the convolutions and pools of the stages up to that layer in order, as if they were
    one chain: parallel branches (inception, fire modules) and skips are counted as if stacked,
    so the bound is never too small.
    """
    wanted = set(layers)
    field, jump = 1, 1
    for name, stage in net.stages():
        if not wanted:
            break
        for module in stage.modules():
            if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
                kernel, stride = _pair(module.kernel_size), _pair(module.stride)
                dilation = _pair(module.dilation) if isinstance(module, nn.Conv2d) else 1
                field += (kernel - 1) * dilation * jump
                jump *= stride
        wanted.discard(name)
    return field, jump


def receptive_field(net: DreamNet, layers: Iterable[str]) -> int:
    """The field of `field_and_stride` alone."""
    return field_and_stride(net, layers)[0]


def panorama_pad(net: DreamNet, layers: Iterable[str]) -> int:
    """Circular padding (pixels, each side) so no column's gradient reaches the padding's outer edge.

    Rounded up to a multiple of the network's stride: measured, a pad off the stride's grid
    (62 for fire5's 63-pixel field) leaves the rolled-panorama test 0.4 off, on it 1e-7.
    """
    field, stride = field_and_stride(net, layers)
    return math.ceil((field - 1) / stride) * stride


def seen_size(size: tuple[int, int], pad: int) -> tuple[int, int]:
    """(width, height) the network sees for a `size` image padded by `pad` each side (backends built per size)."""
    width, height = size
    return width + 2 * min(pad, width), height


def panorama_settings(step: StepParams, feedback: FeedbackParams, net: DreamNet,
                      layers: Iterable[str]) -> tuple[StepParams, FeedbackParams]:  # fmt: skip
    """`step` and `feedback` for an equirectangular panorama dreamt by `net` at `layers`."""
    return replace(step, panorama_pad=panorama_pad(net, layers)), replace(feedback, wrap=True)


def wrap_pad(image: Tensor, pad: int) -> Tensor:
    """`image` with its last `pad` columns before it and its first `pad` after (at most its width)."""
    pad = min(pad, image.shape[-1])
    return F.pad(image, (pad, pad, 0, 0), mode="circular") if pad > 0 else image


def crop_pad(image: Tensor, pad: int, width: int) -> Tensor:
    """The middle `width` columns of a `wrap_pad`ded tensor."""
    pad = min(pad, width)
    return image[..., pad:pad + width] if pad > 0 else image


def latitude_weight(height: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """(1, 1, height, 1): the cosine of each row's latitude (1 at the equator, near 0 at the poles)."""
    rows = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) / height
    return torch.cos((rows - 0.5) * math.pi).to(dtype).view(1, 1, height, 1)
