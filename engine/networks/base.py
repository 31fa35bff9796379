"""What every dreamable network offers: preprocessing, a layer catalogue, truncated forward."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from engine.errors import unknown_name

LOGITS = "logits"


@dataclass(frozen=True)
class LayerInfo:
    """A dreamable layer: its name, channel count and total stride from the input."""

    name: str
    channels: int
    stride: int


@dataclass(frozen=True)
class Preprocessing:
    """Maps an RGB image in [0, 1] to what the network was trained on.

    `scale` multiplies the image first (255 for Caffe nets), `bgr` swaps channel
    order, then `(x - mean) / std` per channel in the network's channel order.
    """

    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    bgr: bool = False

    def __call__(self, image: Tensor) -> Tensor:
        x = image.flip(1) if self.bgr else image
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x * self.scale - mean) / std


class DreamNet(nn.Module):
    """A classifier split into named stages so the forward pass can stop early.

    Subclasses keep their native parameter names (so `--weights` state dicts load
    strictly) and list their stages in order with `stages()`.
    """

    name: str = ""
    default_layer: str = ""
    native_size: int = 224
    preprocessing: Preprocessing

    def stages(self) -> Sequence[tuple[str, nn.Module]]:
        raise NotImplementedError

    @property
    def layers(self) -> dict[str, LayerInfo]:
        """Dreamable layers, shallow to deep."""
        return {info.name: info for info in self.catalogue()}

    def catalogue(self) -> Sequence[LayerInfo]:
        raise NotImplementedError

    def stage_names(self) -> list[str]:
        return [name for name, _ in self.stages()]

    def check_layer(self, name: str) -> LayerInfo:
        layers = self.layers
        if name not in layers:
            raise unknown_name(f"layer of {self.name}", name, layers)
        return layers[name]

    def forward_to(self, image: Tensor, needed: Iterable[str]) -> dict[str, Tensor]:
        """Run from an RGB [0, 1] image up to the deepest needed stage, and no further."""
        remaining = set(needed)
        known = set(self.stage_names())
        for name in remaining - known:
            raise unknown_name(f"layer of {self.name}", name, self.layers)
        outputs: dict[str, Tensor] = {}
        x = self.preprocessing(image)
        for name, stage in self.stages():
            if not remaining:
                break
            x = stage(x)
            if name in remaining:
                outputs[name] = x
                remaining.discard(name)
        return outputs

    def logits(self, image: Tensor) -> Tensor:
        return self.forward_to(image, [LOGITS])[LOGITS]

    def forward(self, image: Tensor) -> Tensor:
        return self.logits(image)
