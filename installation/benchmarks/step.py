"""`run.py bench`: the engine's dream step against a plain eager autograd loop, same run.

The plain loop is the original notebook's: `net.forward(end=layer)` (the network's
stages up to the target layer, eagerly, nothing after it), backpropagate the layer
energy, normalise, step. Both sides roll by the jitter and smooth the gradient as the
shipped presets do (read from presets/default.yaml), so the ratio measures the engine
(its backend, its graph), not work the baseline does and the show never asks for.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial

import torch

from engine.backends import AUTO, select_backend
from engine.errors import unknown_name
from engine.imageops import gaussian_blur
from engine.networks import EMBEDDED, DreamNet, load_network
from engine.objectives import LayerEnergy
from engine.step import StepParams, dream_step, normalise, random_shift
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


def shipped_step_params() -> StepParams:
    """The step as the shipped presets run it (lr, jitter, smoothing of presets/default.yaml)."""
    from installation.presets.loader import DEFAULT_NAME, PRESETS_DIR, SUFFIX, load_preset

    return load_preset(PRESETS_DIR / f"{DEFAULT_NAME}{SUFFIX}").step_params()


def params_text(params: StepParams) -> str:
    """The step settings both sides are timed with, for the table's header."""
    return f"jitter {params.jitter} px, smoothing sigma {params.smooth:g} px, lr {params.lr:g} (presets/default.yaml)"


def stages_to(net: DreamNet, layer: str) -> list[torch.nn.Module]:
    """The network's stages up to and including `layer`: what net.forward(end=layer) runs."""
    stages = []
    for name, stage in net.stages():
        stages.append(stage)
        if name == layer:
            return stages
    raise unknown_name(f"layer of {net.name}", layer, net.stage_names())


def plain_autograd_step(
    net: DreamNet, layer: str, params: StepParams, generator: torch.Generator | None = None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The reference loop: roll, eager stages up to `layer`, backward of the layer energy, normalise, smooth, step."""
    stages = stages_to(net, layer)
    rng = generator if generator is not None else torch.Generator().manual_seed(0)

    def step(image: torch.Tensor) -> torch.Tensor:
        dy, dx = random_shift(params.jitter, rng)
        x = image.roll((dy, dx), dims=(2, 3)).detach().requires_grad_(True)
        out = net.preprocessing(x)
        for stage in stages:
            out = stage(out)
        out.float().pow(2).mean().backward()
        direction = normalise(x.grad)
        if params.smooth > 0:
            direction = normalise(gaussian_blur(direction, params.smooth))
        return (image + params.lr * direction.roll((-dy, -dx), dims=(2, 3))).clamp(0, 1)

    return step


def measure(net_name: str, repeats: int, params: StepParams,
            sizes: Sequence[tuple[int, int]] = SIZES) -> list[StepFigure]:  # fmt: skip
    """The engine as the installation runs it (truncated forward, the backend `auto` picks) vs plain."""
    net = load_network(net_name)
    layers = [net.default_layer, next(iter(net.layers))]
    figures = []
    for layer in dict.fromkeys(layers):
        objective = LayerEnergy(layer)
        generator = torch.Generator().manual_seed(0)
        plain = plain_autograd_step(load_network(net_name), layer, params)
        for width, height in sizes:
            image = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(1))
            backend, _ = select_backend(AUTO, net, objective, (width, height))
            engine_ms = median_ms(partial(dream_step, net, image, objective, params, generator, backend.gradient),
                                  repeats)  # fmt: skip
            plain_ms = median_ms(partial(plain, image), repeats)
            figures.append(StepFigure(net_name, layer, f"{width}x{height}", plain_ms, engine_ms))
    return figures


def run_step_bench(json_output: bool, repeats: int, sizes: Sequence[tuple[int, int]] = SIZES) -> int:
    torch.set_grad_enabled(True)
    params = shipped_step_params()
    figures = [figure for name in EMBEDDED for figure in measure(name, repeats, params, sizes)]
    if json_output:
        rows = [{**asdict(f), "ratio": f.ratio, "engine_fps_2_steps": f.engine_fps} for f in figures]
        print(json.dumps({"threads": torch.get_num_threads(), "repeats": repeats, "step_params": asdict(params),
                          "plain": "stages up to the layer (net.forward(end=layer)), same jitter and smoothing",
                          "results": rows}, indent=2))  # fmt: skip
        return 0
    print(f"dream step, median of {repeats} runs, {torch.get_num_threads()} threads, CPU fp32; "
          "engine = dream_step with the backend 'auto' picks, plain = eager stages up to the layer "
          "(net.forward(end=layer)) + backward (NCHW)")
    print(f"both timed with {params_text(params)}")
    print(f"{'network':<20}{'layer':<10}{'size':<10}{'plain ms':>10}{'engine ms':>11}{'ratio':>8}{'fps@2 steps':>13}")
    for f in figures:
        print(f"{f.network:<20}{f.layer:<10}{f.size:<10}{f.plain_ms:>10.1f}{f.engine_ms:>11.1f}"
              f"{f.ratio:>7.2f}x{f.engine_fps:>13.1f}")
    return 0
