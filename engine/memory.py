"""How much memory a dream or an export needs at a size, before any of it runs.

A run that does not fit is killed by the kernel's out-of-memory killer after it has taken
the whole machine (an `export --size 7680x4320` took all of a 24 GB machine), so the
commands compare this estimate with what the machine has (installation.dreaming.memory)
and refuse at the start instead.

The model: a constant (Python, torch, onnx, the weights) plus bytes per activation
element, the elements being every layer output from the image up to the deepest
objective layer, counted on the weightless architecture (the meta device: shapes only,
milliseconds). What the work keeps per element (activations saved for the backward
pass, their gradients, ReLU masks, pool indices, image-sized temporaries) is a factor
per network and kind of work, measured. The early, full-resolution layers dominate, so a
layer shallower than the one measured is charged as that one (squeezenet up to fire3
measured 513 bytes per pixel, up to fire7 532).

Calibration (the 2-core, 24 GB CPU machine, torch 2.x, fp32, one torch thread): the peak
RSS of a fresh process (getrusage) at two sizes, minus its RSS once the network was
loaded; the factor is the growth between the two sizes over the growth in elements, the
larger where more pairs were measured:
- squeezenet1_1 up to fire7 (95 elements per pixel): the dream step (autograd,
  StepParams defaults, one octave) 188 MB at 640x360, 556 MB at 1280x720, 1843 MB at
  2560x1440: 5.6 and 4.9 bytes per element; the onnx-target export 98 MB at 320x180,
  227 MB at 640x360: 7.9; the tensorrt-target export (TorchScript trace, then onnx's
  shape inference in the TensorRT lint) 110, 291 and 1053 MB at 320x180, 640x360 and
  1280x720: 11.1 and 11.6.
- efficientnet-lite0 up to block10 (344 elements per pixel): dream 430 MB at 640x360,
  1601 MB at 1280x720: 4.9; onnx export 95 and 280 MB at 320x180 and 640x360: 3.1;
  tensorrt export 109 and 280 MB: 2.9. efficientnet-lite2 has the same blocks (its
  element count carries the difference); googlenet, not measured, gets the largest factors.
The ONNX file holds the weights and no image-sized constant (2.9 MB for squeezenet at
every size), so onnx's checker and shape inference add nothing that grows with the size.
The rest of the process peaked at 1.27 GB.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from engine.networks.base import DreamNet
from engine.networks.shapes import architecture

BASE_BYTES = 1_400_000_000  # the process around the work: Python, torch, onnx, the weights (measured 1.27 GB)
MARGIN = 1.15  # on top of the largest factor measured: other sizes and allocators
WORK = ("dream", "export-onnx", "export-tensorrt")
_MEASURED = {  # bytes per activation element, from the calibration above
    "squeezenet1_1": {"dream": 5.6, "export-onnx": 7.9, "export-tensorrt": 11.6},
    "efficientnet-lite0": {"dream": 4.9, "export-onnx": 3.1, "export-tensorrt": 2.9},
}
_WORDS = {"dream": "dreaming", "export-onnx": "the onnx export", "export-tensorrt": "the tensorrt export"}
_SAME_BLOCKS = {"efficientnet-lite2": "efficientnet-lite0"}


def bytes_per_element(network: str, work: str) -> float:
    """The measured factor for `work` on `network`; the largest of all for a network not measured."""
    if work not in WORK:
        raise ValueError(f"work must be one of {', '.join(WORK)}, got '{work}'")
    measured = _MEASURED.get(_SAME_BLOCKS.get(network, network))
    return measured[work] if measured else max(row[work] for row in _MEASURED.values())


def export_work(target: str) -> str:
    """The work an export to `target` (engine.export.convert.TARGETS) is."""
    return f"export-{target}"


@dataclass(frozen=True)
class MemoryNeed:
    """What a piece of work needs at a size, and what it was counted on (for the refusal's words)."""

    work: str
    network: str
    deepest_layer: str
    width: int
    height: int
    bytes: int
    elements_per_pixel: float

    def describe(self) -> str:
        return f"{_WORDS[self.work]} of {self.network} up to {self.deepest_layer} at {self.width}x{self.height}"

    def largest_fitting(self, available: int) -> tuple[int, int] | None:
        """The largest size of the same aspect that fits in `available` bytes (None: not even the base)."""
        per_pixel = MARGIN * bytes_per_element(self.network, self.work) * self.elements_per_pixel
        pixels = (available - MARGIN * BASE_BYTES) / per_pixel
        if pixels <= 0:
            return None
        scale = min(1.0, (pixels / (self.width * self.height)) ** 0.5)
        return max(1, int(self.width * scale) // 8 * 8), max(1, int(self.height * scale) // 8 * 8)


def activation_elements(net: DreamNet, layers: Iterable[str], width: int, height: int) -> int:
    """Elements of every layer output from the image up to the deepest of `layers`, and the image (batch 1).

    `net` must be on the meta device (engine.networks.shapes.architecture): nothing is computed.
    """
    counted = [3 * width * height]

    def count(_module: nn.Module, _inputs: object, output: object) -> None:
        if isinstance(output, torch.Tensor):
            counted[0] += output.numel()

    leaves = [module for module in net.modules() if not any(module.children())]
    hooks = [module.register_forward_hook(count) for module in leaves]
    try:
        with torch.no_grad():
            net.forward_to(torch.empty(1, 3, height, width, device="meta"), list(layers))
    finally:
        for hook in hooks:
            hook.remove()
    return counted[0]


def memory_need(work: str, network: str, layers: Iterable[str], width: int, height: int) -> MemoryNeed:
    """The bytes `work` (one of WORK) needs on `network` up to `layers` at width x height, margin included."""
    net = architecture(network)
    order = net.stage_names()
    deepest = max(layers, key=order.index)
    charged = max(deepest, net.default_layer, key=order.index)  # the layer measured, or a deeper one
    elements = activation_elements(net, [charged], width, height)
    need = MARGIN * (BASE_BYTES + bytes_per_element(network, work) * elements)
    return MemoryNeed(work, network, deepest, width, height, int(need), elements / (width * height))
