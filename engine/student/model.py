"""The student: a small fully convolutional network that predicts what the dream adds to a frame.

Shaped for a 2-core CPU (measured: `python run.py bench --student`): nothing wide runs at full
resolution. The frame is folded into 4x4 blocks (SpaceToDepth, 48 channels at 1/4 size), one
convolution reads them, a stride-2 convolution goes to 1/8 where the residual blocks run (their
receptive field spans the dream's patterns: eyes, fur, faces tens of pixels wide), and the way back
is resize-then-convolve (Odena et al., "Deconvolution and checkerboard artifacts", Distill 2016):
a fixed bilinear x2 (a depthwise ConvTranspose whose weights are not trained) and a convolution
to 1/4 with a skip, where the detail is made and doubled twice more bilinearly. That is the look,
not only a saving. Trained on the look's own objective, a student free to paint single pixels
learnt dots along edges, and one with sub-pixel (DepthToSpace) upsampling learnt a 4-pixel mesh:
both excite the network without looking like a dream.

It predicts the *detail* (dream minus frame), so the composed frame keeps the camera's sharpness
and a zero output is "no dream". No normalisation layers (instance norm leaves "bubble" artefacts
and is outside the TensorRT table), ReLU only, edge padding to a multiple of 8 and a crop back: any
size and aspect, and a graph of Conv, ConvTranspose, Relu, Add, Sub, Mul, and Slice and Concat
(the edge padding) that TensorRT parses; the fold runs as one strided convolution (`_folded`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.errors import DreamwallError

STRIDE = 8  # the total downsampling: inputs are edge-padded to a multiple of it
FOLD = 4  # the first SpaceToDepth: 4x4 pixel blocks become 48 channels at 1/4 size


@dataclass(frozen=True)
class StudentShape:
    """The architecture's sizes: the width at 1/4 size, the width of the residual blocks at 1/8, and their number."""

    quarter: int = 24
    eighth: int = 48
    blocks: int = 3

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


def bilinear_kernel(channels: int) -> Tensor:
    """The weights of a depthwise stride-2 ConvTranspose (kernel 4, padding 1) that doubles a picture's size
    bilinearly: each output pixel is 3/4 of its nearer input neighbour and 1/4 of the farther, in both axes."""
    taps = torch.tensor([0.25, 0.75, 0.75, 0.25])
    return (taps[:, None] * taps[None, :]).expand(channels, 1, 4, 4).contiguous()


def _double(x: Tensor, kernel: Tensor) -> Tensor:
    """`x` at twice its size, bilinearly (`kernel` from bilinear_kernel, one per channel).

    A bf16 student on the CPU doubles in fp32: oneDNN's depthwise ConvTranspose is slow in bf16 (a 1280x720
    pass's three doublings took 16.8 ms in bf16 against 3.6 in fp32, while its convolutions took 5.8 against
    20.5), and the bilinear taps are exact in either.
    """
    if x.dtype == torch.bfloat16 and x.device.type == "cpu":
        return _double(x.float(), kernel.float()).to(x.dtype)
    return F.conv_transpose2d(x, kernel, stride=2, padding=1, groups=int(x.shape[1]))


class StudentNet(nn.Module):
    """RGB [0, 1] (N, 3, H, W) -> the dream's detail (N, 3, H, W), in [0, 1] pixel units, any H and W."""

    def __init__(self, shape: StudentShape | None = None) -> None:
        super().__init__()
        self.shape = shape = shape or StudentShape()
        self.fold = nn.Conv2d(3 * FOLD * FOLD, shape.quarter, 3, padding=1)
        self.down = nn.Conv2d(shape.quarter, shape.eighth, 3, stride=2, padding=1)
        self.blocks = nn.Sequential(*(_Residual(shape.eighth) for _ in range(shape.blocks)))
        self.up = nn.Conv2d(shape.eighth, shape.quarter, 3, padding=1)  # after a bilinear x2 of the 1/8 features
        self.out = nn.Conv2d(shape.quarter, 3, 3, padding=1)  # the detail at 1/4 size
        nn.init.zeros_(self.out.weight)  # an untrained student dreams nothing, rather than noise
        nn.init.zeros_(self.out.bias)
        # fixed, saved (initializers in ONNX): bilinear x2 of the 1/8 features and of the detail
        self.register_buffer("bilinear_eighth", bilinear_kernel(shape.eighth))
        self.register_buffer("bilinear_detail", bilinear_kernel(3))

    def forward(self, image: Tensor) -> Tensor:
        height, width = int(image.shape[-2]), int(image.shape[-1])  # constants in an exported graph
        pad_h, pad_w = (-height) % STRIDE, (-width) % STRIDE
        x = (image - 0.5) * 2.0
        if pad_h or pad_w:
            x = _edge_pad(x, pad_h, pad_w)
        quarter = F.relu(self._folded(x))
        eighth = self.blocks(F.relu(self.down(quarter)))
        quarter = F.relu(self.up(_double(eighth, self.bilinear_eighth))) + quarter
        detail = _double(_double(self.out(quarter), self.bilinear_detail), self.bilinear_detail)
        if pad_h or pad_w:
            detail = detail[..., :height, :width]
        return detail

    def _folded(self, x: Tensor) -> Tensor:
        """`fold` of the 4x4 pixel blocks (SpaceToDepth, then its 3x3 convolution), as one convolution of the
        picture with a 12x12 kernel at stride 4: the same sums (3e-6 apart in fp32), without the copy the
        SpaceToDepth makes (the fold alone at 1280x720 on two threads: 4.0 against 6.3 ms in fp32, 1.7
        against 3.1 in bf16; the whole pass, old and new alternated: 0.93x at 1280x720 in fp32, 0.90x in bf16,
        0.81x and 0.93x at 640x360).
        The weights stay in `fold`'s layout, so student files keep theirs."""
        quarter, folded = int(self.fold.weight.shape[0]), self.fold.weight.view(-1, 3, FOLD, FOLD, 3, 3)
        kernel = folded.permute(0, 1, 4, 2, 5, 3).reshape(quarter, 3, 3 * FOLD, 3 * FOLD)
        return F.conv2d(x, kernel, self.fold.bias, stride=FOLD, padding=FOLD)

    def dream(self, image: Tensor, strength: float = 1.0) -> Tensor:
        """The frame with `strength` times the detail added, kept in [0, 1]."""
        return (image + strength * self(image)).clamp(0.0, 1.0)
