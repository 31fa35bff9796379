"""What every backend offers: one gradient call, a name, and what it can do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from engine.objectives import Objective


@dataclass(frozen=True)
class Capabilities:
    """What a backend does, for the HUD, the log and the selection."""

    device: str  # "cpu" or "cuda"
    precision: str  # "fp32" or "fp16"
    any_objective: bool  # False: layer/channel objectives only (others fall back to autograd)
    per_size_build: bool  # True: a new processing size builds a new graph/engine once

    def describe(self) -> str:
        objectives = "any objective" if self.any_objective else "layer/channel objectives"
        return f"{self.device} {self.precision}, {objectives}"


class Backend(Protocol):
    """Computes d objective / d image; plugs into dream_step(..., gradient=backend.gradient)."""

    name: str
    capabilities: Capabilities

    def gradient(self, image: Tensor) -> Tensor:
        """For an RGB [0, 1] image (1, 3, H, W); returns a tensor of the same shape, dtype and device."""
        ...

    def set_objective(self, objective: Objective) -> None:
        """Switch what is amplified; cheap when the same layers are used (graph inputs change)."""
        ...

    @property
    def note(self) -> str:
        """Anything the user should know about what actually runs ('' when nothing)."""
        ...


def as_device(device: torch.device | str) -> torch.device:
    return device if isinstance(device, torch.device) else torch.device(device)
