"""Shared machinery of the backends that run the exported gradient graph.

Objectives become graph inputs (engine.export.targets), so switching between
objectives on the same layers never rebuilds; a new set of layers or a new size
builds once (through the BlobStore, so across runs too) and is kept per process.
Objectives the graph cannot express (class logits, guides) run on autograd instead,
and `note` says so, for the HUD and the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch
from torch import Tensor

from engine.backends.base import Capabilities, as_device
from engine.backends.eager import TorchBackend
from engine.export.convert import DEFAULT_TARGET, ExportUnsupported
from engine.export.store import BlobStore, MemoryStore
from engine.export.targets import GraphTargets, graph_targets
from engine.networks import DreamNet
from engine.objectives import Objective

Runner = Callable[[Tensor, Tensor, Tensor], Tensor]
"""(image, energy, channels) on the backend's device -> gradient (fp32)."""
log = logging.getLogger(__name__)


class ExportedBackend:
    """Base: subclasses only say how to build a runner for (layers, height, width)."""

    name = "exported"
    target = DEFAULT_TARGET  # the export target (graph form) this runtime parses
    capabilities: Capabilities

    def __init__(
        self, net: DreamNet, objective: Objective, device: torch.device | str, store: BlobStore | None
    ) -> None:
        self.net = net
        self.device = as_device(device)
        self.store: BlobStore = store if store is not None else MemoryStore()
        self._runners: dict[tuple[tuple[str, ...], int, int], Runner] = {}
        self._fallback: TorchBackend | None = None
        self._targets: GraphTargets | None = None
        self._note = ""
        self.set_objective(objective)

    @property
    def note(self) -> str:
        return self._note

    def set_objective(self, objective: Objective) -> None:
        try:
            targets = graph_targets(objective, self.net)
        except ExportUnsupported as error:
            self._note = f"{error}; torch autograd runs it"
            log.warning("%s backend: %s", self.name, self._note)
            half = next(self.net.parameters()).dtype == torch.float16
            self._fallback = TorchBackend(self.net, objective, self.device, half=half)
            self._targets = None
            return
        self._fallback, self._note = None, ""
        self._targets = targets
        self._energy = targets.energy.to(self.device)
        self._channels = targets.channel_weights.to(self.device)

    def prepare(self, height: int, width: int) -> None:
        """Build (or load) the graph for this size now rather than on the first frame."""
        if self._targets is not None:
            self._runner(self._targets.layers, height, width)

    def _runner(self, layers: tuple[str, ...], height: int, width: int) -> Runner:
        key = (layers, height, width)
        if key not in self._runners:
            self._runners[key] = self._build(layers, height, width)
        return self._runners[key]

    def _build(self, layers: tuple[str, ...], height: int, width: int) -> Runner:
        raise NotImplementedError

    def gradient(self, image: Tensor) -> Tensor:
        if self._fallback is not None:
            return self._fallback.gradient(image)
        assert self._targets is not None
        if image.shape[0] != 1:
            raise ValueError(f"exported gradient graphs take one image at a time, got a batch of {image.shape[0]}")
        runner = self._runner(self._targets.layers, image.shape[-2], image.shape[-1])
        grad = runner(image.to(device=self.device, dtype=torch.float32).contiguous(), self._energy, self._channels)
        return grad.to(device=image.device, dtype=image.dtype)
