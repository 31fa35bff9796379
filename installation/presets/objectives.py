"""A preset's objective on a real network: the one builder, and the guide images it reads.

The live show, `run.py render` and `run.py warmup` all build objectives here, so a
guide is read through the same checked decoder everywhere and a network without a
preset objective dreams its own classic layer in every command alike.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from engine.errors import DreamwallError
from engine.imageops import to_tensor
from engine.networks import DreamNet
from engine.networks.shapes import min_input_side
from engine.objectives import GuideLoader, Objective, parse_objective
from installation.common.userfile import display_path, read_user_file

MAX_GUIDE_SIDE = 4096  # a guide is matched feature by feature: more pixels add memory, not likeness
MAX_GUIDE_BYTES = 4 * MAX_GUIDE_SIDE * MAX_GUIDE_SIDE + (1 << 20)
"""A 4096x4096 picture stored without compression (RGBA) and its header; more cannot be a guide."""


def build_objective(net: DreamNet, spec: object = None, load_guide: GuideLoader | None = None) -> Objective:
    """`spec` (preset syntax) on `net`; None = the network's classic layer. Guides load through guide_loader."""
    chosen = net.default_layer if spec is None else spec
    return parse_objective(chosen, net, load_guide or guide_loader(net.name))


def read_guide_image(path: Path, network: str) -> np.ndarray:
    """A guide picture as RGB uint8, through the show's own decoder once its header passed the size bounds.

    Check time and the show call this same function, so a guide that passes
    `presets --check` is one the show can read; the file is read through the safe
    reader (a FIFO or /dev/zero is refused, not waited on) and its header checked
    first, so a small file that claims a huge picture is refused before anything is decoded.
    """
    from PIL import Image, UnidentifiedImageError

    from installation.outputs.images import decode_image

    shown = display_path(path)
    try:
        data = read_user_file(path, "guide image", MAX_GUIDE_BYTES)
    except DreamwallError as error:
        raise DreamwallError(f"guide image {error}") from None
    try:
        with Image.open(io.BytesIO(data)) as header:
            width, height = header.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        raise DreamwallError(f"cannot decode guide image {shown}: the file is empty, corrupt or not an image") from None
    low = min_input_side(network)
    if min(width, height) < low or max(width, height) > MAX_GUIDE_SIDE:
        raise DreamwallError(
            f"guide image {shown} is {width}x{height}; for {network} width and height must be "
            f"{low} to {MAX_GUIDE_SIDE} pixels"
        )
    return decode_image(data, f"guide image {shown}")


def guide_loader(network: str) -> GuideLoader:
    """The show's guide reader for `network`: the same size bounds as `presets --check`."""

    def load(path: str) -> torch.Tensor:
        return to_tensor(read_guide_image(Path(path), network))

    return load
