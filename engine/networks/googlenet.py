"""GoogLeNet (Inception v1), the iconic 2015 DeepDream look, from torchvision.

Its weights are not embedded and nothing is downloaded at run time (kiosks are often
offline, and a show must not depend on a server): they are read from torch's cache,
where `python run.py fetch-weights googlenet` puts them once. Without them, the error
says what to do instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn
from torchvision.models import GoogLeNet, GoogLeNet_Weights

from engine.errors import DreamwallError
from engine.networks.base import LOGITS, DreamNet, LayerInfo, Preprocessing

_LAYERS = [
    ("conv1", 64, 2), ("conv2", 64, 4), ("conv3", 192, 4),
    ("inception3a", 256, 8), ("inception3b", 480, 8),
    ("inception4a", 512, 16), ("inception4b", 512, 16), ("inception4c", 512, 16),
    ("inception4d", 528, 16), ("inception4e", 832, 16),
    ("inception5a", 832, 32), ("inception5b", 1024, 32),
]
_POOL_AFTER = {"conv1": "maxpool1", "conv3": "maxpool2", "inception3b": "maxpool3", "inception4e": "maxpool4"}


class DreamGoogLeNet(GoogLeNet, DreamNet):
    name = "googlenet"
    default_layer = "inception4c"
    # torchvision's transform_input maps ImageNet-normalised input to [-1, 1]; do it directly.
    preprocessing = Preprocessing(scale=1.0, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))

    def __init__(self) -> None:
        super().__init__(num_classes=1000, aux_logits=False, transform_input=False, init_weights=False)

    def stages(self) -> Sequence[tuple[str, nn.Module]]:
        stages: list[tuple[str, nn.Module]] = []
        for name, _, _ in _LAYERS:
            stages.append((name, getattr(self, name)))
            if name in _POOL_AFTER:
                stages.append((_POOL_AFTER[name], getattr(self, _POOL_AFTER[name])))
        stages.append((LOGITS, nn.Sequential(self.avgpool, nn.Flatten(), self.fc)))
        return stages

    def catalogue(self) -> Sequence[LayerInfo]:
        return [LayerInfo(name, channels, stride) for name, channels, stride in _LAYERS]

    def forward(self, image: Tensor) -> Tensor:  # type: ignore[override]
        return DreamNet.forward(self, image)


WEIGHTS_URL = GoogLeNet_Weights.IMAGENET1K_V1.url


def cached_weights_path() -> Path:
    """Where torch's cache keeps IMAGENET1K_V1 (honours TORCH_HOME): the only place weights are read from."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(WEIGHTS_URL).name


def weights_installed() -> bool:
    return cached_weights_path().is_file()


def reference_state() -> dict[str, Tensor]:
    """IMAGENET1K_V1 weights from the cache, without aux classifiers; never downloads."""
    path = cached_weights_path()
    if not path.is_file():
        raise DreamwallError(
            f"googlenet weights are not installed ({path} not found): run `python run.py fetch-weights googlenet` "
            "once on a machine with internet, use an embedded network (squeezenet1_1, efficientnet-lite0, "
            "efficientnet-lite2) or pass --weights PATH"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises many kinds for a corrupt or foreign file
        raise DreamwallError(
            f"cannot read googlenet weights {path} ({error.__class__.__name__}): delete it and run "
            "`python run.py fetch-weights googlenet` again"
        ) from None
    return {k: v for k, v in state.items() if not k.startswith(("aux1.", "aux2."))}
