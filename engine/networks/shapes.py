"""Network shapes without weights: the architecture on the meta device, and its smallest input.

Validation (presets, CLI sizes) needs layer names, channel counts and the smallest
image a network can dream, but must never load weights: the meta device propagates
shapes only, so these answers cost milliseconds and no memory.
"""

from __future__ import annotations

from functools import cache

import torch

from engine.errors import unknown_name
from engine.networks import NETWORKS, efficientnet_lite, googlenet, squeezenet
from engine.networks.base import LOGITS, DreamNet

MAX_PROBED_SIDE = 1024  # no network here needs more; a larger answer means the probe is broken


@cache
def architecture(name: str) -> DreamNet:
    """The network's architecture on the meta device (eval mode): layer names and channels, no weights.

    EfficientNet-Lite's blocks are read from its state dict's shapes (loaded to "meta",
    so no tensor data is kept); the others are fixed architectures.
    """
    with torch.device("meta"):
        if name == "squeezenet1_1":
            net: DreamNet = squeezenet.SqueezeNet()
        elif name == "googlenet":
            net = googlenet.DreamGoogLeNet()
        elif name.startswith("efficientnet-lite") and name in NETWORKS:
            state = torch.load(efficientnet_lite.embedded_weights_path(name), map_location="meta", weights_only=True)
            net = efficientnet_lite.build(name, state)
        else:
            raise unknown_name("network", name, NETWORKS)
    return net.eval().requires_grad_(False)


def _fits(net: DreamNet, side: int) -> bool:
    try:
        with torch.no_grad():
            net.forward_to(torch.empty(1, 3, side, side, device="meta"), [LOGITS])
    except (RuntimeError, ValueError):  # "output size is too small" and kin
        return False
    return True


@cache
def min_input_side(name: str) -> int:
    """The smallest width and height (pixels) the whole network accepts, from its pools and strides.

    Every layer is reachable at this size (the forward pass runs to the logits), so any
    objective can be dreamt; width and height are independent, so each must reach it.
    """
    net = architecture(name)
    low, high = 1, MAX_PROBED_SIDE
    if not _fits(net, high):
        raise RuntimeError(f"{name} does not accept {high}x{high}: the size probe is broken")
    while low < high:  # smallest side that fits; shapes only grow with the input
        middle = (low + high) // 2
        if _fits(net, middle):
            high = middle
        else:
            low = middle + 1
    return low
