"""The student: a small fully convolutional network that predicts what the dream adds to a frame.

Johnson-style shape (joyhughes/waking-dream, fast style transfer) made cheaper for a CPU: two
stride-2 convolutions take the frame to a quarter of its size, where all the wide layers (residual
blocks) run; two sub-pixel (DepthToSpace) upsamplings bring it back, with a skip from the
full-resolution stem so edges stay put. It predicts the *detail* (dream minus frame), so the
composed frame keeps the camera's sharpness and a zero output is "no dream".

No normalisation layers (instance norm leaves "bubble" artefacts and is outside the TensorRT
table), ReLU only, edge padding to a multiple of 4 and a crop back: any size and aspect, and a
graph of Conv, Relu, Add, DepthToSpace, Pad and Slice that TensorRT parses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.errors import DreamwallError

STRIDE = 4  # the total downsampling: inputs are edge-padded to a multiple of it


@dataclass(frozen=True)
class StudentShape:
    """The architecture's sizes: stem width (full res), middle width (1/2), wide width and residual blocks (1/4)."""

    stem: int = 16
    middle: int = 32
    wide: int = 64
    blocks: int = 5

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or not (1 <= value <= 512):
                raise DreamwallError(f"student {name} must be a whole number between 1 and 512, got {value!r}")

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


def _edge_pad(x: Tensor, bottom: int, right: int) -> Tensor:
    """Repeat the last row and column (replicate padding) with Slice, Expand and Concat: F.pad's pads export as a
    computed Cast, which the TensorRT lint refuses."""
    n, c, h, w = (int(v) for v in x.shape)
    if bottom:
        x = torch.cat([x, x[:, :, h - 1 : h, :].expand(n, c, bottom, w)], dim=2)
    if right:
        x = torch.cat([x, x[:, :, :, w - 1 : w].expand(n, c, h + bottom, right)], dim=3)
    return x


class StudentNet(nn.Module):
    """RGB [0, 1] (N, 3, H, W) -> the dream's detail (N, 3, H, W), in [0, 1] pixel units, any H and W."""

    def __init__(self, shape: StudentShape | None = None) -> None:
        super().__init__()
        self.shape = shape = shape or StudentShape()
        self.stem = nn.Conv2d(3, shape.stem, 3, padding=1)
        self.down1 = nn.Conv2d(shape.stem, shape.middle, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(shape.middle, shape.wide, 3, stride=2, padding=1)
        self.blocks = nn.Sequential(*(_Residual(shape.wide) for _ in range(shape.blocks)))
        self.up1 = nn.Conv2d(shape.wide, shape.middle * 4, 3, padding=1)
        self.up2 = nn.Conv2d(shape.middle, shape.stem * 4, 3, padding=1)
        self.out = nn.Conv2d(shape.stem, 3, 3, padding=1)
        nn.init.zeros_(self.out.weight)  # an untrained student dreams nothing, rather than noise
        nn.init.zeros_(self.out.bias)

    def forward(self, image: Tensor) -> Tensor:
        height, width = int(image.shape[-2]), int(image.shape[-1])  # constants in an exported graph
        pad_h, pad_w = (-height) % STRIDE, (-width) % STRIDE
        x = (image - 0.5) * 2.0
        if pad_h or pad_w:
            x = _edge_pad(x, pad_h, pad_w)
        stem = F.relu(self.stem(x))
        half = F.relu(self.down1(stem))
        quarter = F.relu(self.down2(half))
        quarter = self.blocks(quarter)
        half = F.relu(F.pixel_shuffle(self.up1(quarter), 2)) + half
        full = F.relu(F.pixel_shuffle(self.up2(half), 2)) + stem
        detail = self.out(full)
        if pad_h or pad_w:
            detail = detail[..., :height, :width]
        return detail

    def dream(self, image: Tensor, strength: float = 1.0) -> Tensor:
        """The frame with `strength` times the detail added, kept in [0, 1]."""
        return (image + strength * self(image)).clamp(0.0, 1.0)
