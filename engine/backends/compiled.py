"""The `compile` backend: torch.compile of the explicit gradient graph.

Autograd graphs compile poorly (and recompile per objective); the explicit graph is
an ordinary forward, so Inductor fuses the masks, splits and sums into the convs'
neighbours. On CUDA it runs in fp16 with CUDA graphs ("reduce-overhead"), which
removes the launch overhead that dominates at small sizes.
"""

from __future__ import annotations

import shutil

import torch
from torch import Tensor

from engine.backends.base import Capabilities
from engine.backends.exported import ExportedBackend, Runner
from engine.export.graph import GradientGraph
from engine.export.store import BlobStore
from engine.networks import DreamNet
from engine.objectives import Objective


def missing(device: torch.device) -> str | None:
    """Why this backend cannot run on `device`, or None."""
    if device.type == "cpu" and not any(shutil.which(cc) for cc in ("g++", "c++", "clang++")):
        return "torch.compile on the CPU needs a C++ compiler (g++), none found"
    if device.type == "cuda":
        try:
            import triton  # noqa: F401 - only checks that Inductor's GPU code generator exists
        except ImportError:
            return "torch.compile on CUDA needs triton, which is not installed"
    if device.type not in ("cpu", "cuda"):
        return f"torch.compile here supports cpu or cuda, not {device.type}"
    return None


class CompileBackend(ExportedBackend):
    name = "compile"

    def __init__(
        self,
        net: DreamNet,
        objective: Objective,
        device: torch.device | str = "cpu",
        store: BlobStore | None = None,
        half: bool | None = None,
    ) -> None:
        super().__init__(net, objective, device, store)
        self.half = self.device.type == "cuda" if half is None else half
        self.capabilities = Capabilities(self.device.type, "fp16" if self.half else "fp32", False, True)

    def _build(self, layers: tuple[str, ...], height: int, width: int) -> Runner:
        dtype = torch.float16 if self.half else torch.float32
        graph = GradientGraph(self.net, layers, height, width).to(device=self.device, dtype=dtype)
        mode = "reduce-overhead" if self.device.type == "cuda" else None
        compiled = torch.compile(graph, mode=mode, dynamic=False, fullgraph=True)

        def run(image: Tensor, energy: Tensor, channels: Tensor) -> Tensor:
            with torch.no_grad():
                grad = compiled(image.to(dtype), energy.to(dtype), channels.to(dtype))
            # CUDA graphs reuse their output buffer on the next call: take a copy.
            return grad.float() if self.half else grad.clone()

        return run
