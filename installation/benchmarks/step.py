"""`run.py bench`: the engine's dream step against a plain eager autograd loop, same run.

The plain loop is what the anchor projects do: run the whole network with a forward
hook on the chosen layer, backpropagate the layer energy, normalise, step. The engine
stops the forward pass at the deepest layer the objective needs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial

import torch

from engine.backends import AUTO, select_backend
from engine.networks import EMBEDDED, DreamNet, load_network
from engine.objectives import LayerEnergy
from engine.step import StepParams, dream_step
from installation.benchmarks.timing import median_ms

SIZES = ((320, 180), (640, 360))
STEPS_PER_FRAME = 2


@dataclass
class StepFigure:
    network: str
    layer: str
    size: str
    plain_ms: float
    engine_ms: float

    @property
    def ratio(self) -> float:
        return self.plain_ms / self.engine_ms

    @property
    def engine_fps(self) -> float:
        return 1000.0 / (self.engine_ms * STEPS_PER_FRAME)


def plain_autograd_step(net: DreamNet, layer: str, lr: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """The reference loop: full forward with a hook, backward, normalise, step, clamp."""
    module = dict(net.stages())[layer]
    captured: list[torch.Tensor] = []
    module.register_forward_hook(lambda _m, _i, output: captured.append(output))

    def step(image: torch.Tensor) -> torch.Tensor:
        captured.clear()
        x = image.detach().requires_grad_(True)
        net.logits(x)
        captured[0].pow(2).mean().backward()
        grad = x.grad
        return (image + lr * grad / grad.abs().mean().clamp_min(1e-12)).clamp(0, 1)

    return step


def measure(net_name: str, repeats: int) -> list[StepFigure]:
    """The engine as the installation runs it (truncated forward, the backend `auto` picks) vs plain."""
    net = load_network(net_name)
    layers = [net.default_layer, next(iter(net.layers))]
    figures = []
    for layer in dict.fromkeys(layers):
        objective = LayerEnergy(layer)
        params = StepParams(lr=0.01, jitter=0)
        generator = torch.Generator().manual_seed(0)
        plain = plain_autograd_step(load_network(net_name), layer, 0.01)
        for width, height in SIZES:
            image = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(1))
            backend, _ = select_backend(AUTO, net, objective, (width, height))
            engine_ms = median_ms(partial(dream_step, net, image, objective, params, generator, backend.gradient),
                                  repeats)  # fmt: skip
            plain_ms = median_ms(partial(plain, image), repeats)
            figures.append(StepFigure(net_name, layer, f"{width}x{height}", plain_ms, engine_ms))
    return figures


def run_step_bench(json_output: bool, repeats: int) -> int:
    torch.set_grad_enabled(True)
    figures = [figure for name in EMBEDDED for figure in measure(name, repeats)]
    if json_output:
        rows = [{**asdict(f), "ratio": f.ratio, "engine_fps_2_steps": f.engine_fps} for f in figures]
        print(json.dumps({"threads": torch.get_num_threads(), "repeats": repeats, "results": rows}, indent=2))
        return 0
    print(f"dream step, median of {repeats} runs, {torch.get_num_threads()} threads, CPU fp32; "
          "engine = dream_step with the backend 'auto' picks, plain = full forward + hook + backward (NCHW)")
    print(f"{'network':<20}{'layer':<10}{'size':<10}{'plain ms':>10}{'engine ms':>11}{'ratio':>8}{'fps@2 steps':>13}")
    for f in figures:
        print(f"{f.network:<20}{f.layer:<10}{f.size:<10}{f.plain_ms:>10.1f}{f.engine_ms:>11.1f}"
              f"{f.ratio:>7.2f}x{f.engine_fps:>13.1f}")
    return 0
