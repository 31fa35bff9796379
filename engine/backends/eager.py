"""The `torch` backend: plain autograd, the reference every other backend is checked against.

It takes any objective (class logits and guides too). On the CPU it keeps its own
copy of the network in channels_last, which oneDNN runs up to 1.5x as fast as NCHW
here, except for an objective on the network's first layer alone: a 3-channel image
gains nothing from channels_last and pays for the conversions (squeezenet conv1 at
320x180: 5.0 ms NCHW, 9.9 ms channels_last; efficientnet-lite0 stem 3.7 vs 5.9; from
the next layer on channels_last wins: fire2 8.9 vs 6.8, block1 12.6 vs 11.9). On CUDA it
runs under fp16 autocast. `bf16` runs the network's convolutions
under CPU bfloat16 autocast (oneDNN's AVX-512 BF16 / AMX kernels) while the weights,
the normalisation and the objective stay fp32 (every objective calls .float() on its
activations). The gradient comes back in the image's dtype and layout.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor

from engine.backends.base import Capabilities, as_device
from engine.networks import DreamNet
from engine.objectives import Objective
from engine.step import autograd_gradient


class TorchBackend:
    name = "torch"

    def __init__(
        self,
        net: DreamNet,
        objective: Objective,
        device: torch.device | str = "cpu",
        half: bool | None = None,
        channels_last: bool | None = None,
        bf16: bool = False,
    ) -> None:
        self.device = as_device(device)
        on_cuda = self.device.type == "cuda"
        self.half = on_cuda if half is None else half
        self._on_cuda = on_cuda
        self._channels_last_asked = channels_last
        if self.half and not on_cuda:
            raise ValueError("fp16 autocast is for CUDA; the CPU runs fp32 or bf16")
        if bf16 and (on_cuda or self.half):
            raise ValueError("bf16 autocast is the CPU's half precision; CUDA runs fp16")
        self.bf16 = bf16
        self.channels_last = self._wants_channels_last(net, objective)
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        self.net = copy.deepcopy(net).to(device=self.device, memory_format=memory_format)
        self.capabilities = Capabilities(self.device.type, self._precision(), True, False)
        self.set_objective(objective)

    def _wants_channels_last(self, net: DreamNet, objective: Objective) -> bool:
        if self._channels_last_asked is not None:
            return self._channels_last_asked
        first_layer_only = objective.layers <= {next(iter(net.layers))}
        return not self._on_cuda and not first_layer_only

    def _precision(self) -> str:
        return "fp16" if self.half else "bf16" if self.bf16 else "fp32"

    @property
    def note(self) -> str:
        return ""

    def set_objective(self, objective: Objective) -> None:
        channels_last = self._wants_channels_last(self.net, objective)
        if channels_last != self.channels_last:  # a preset on another layer: the copy changes layout in place
            self.channels_last = channels_last
            self.net.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        self.objective = objective
        self._autograd = autograd_gradient(self.net, objective)

    def gradient(self, image: Tensor) -> Tensor:
        x = image.to(self.device)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.half or self.bf16:
            with torch.autocast(self.device.type, dtype=torch.float16 if self.half else torch.bfloat16):
                grad = self._autograd(x)
        else:
            grad = self._autograd(x)
        return grad.to(device=image.device, dtype=image.dtype, memory_format=torch.contiguous_format)
