"""Activity maximisation: what a channel (or a class) grows from noise, for the channel atlas.

DeepDream on a photo shows a channel through the photo's shapes; from noise, with the
regularisers of the feature-visualisation literature (Olah et al., "Feature
Visualization", Distill 2017), it shows the pattern itself:
- transformation robustness: a random roll (jitter) and a random rescale every step, so
  the pattern does not hide in one pixel alignment;
- a total-variation term and periodic blurs of the image, against high-frequency noise;
- L2 decay towards mid-grey, so only the pixels the channel wants stay coloured;
- octaves: the first scale is small and coarse, each next one refines it.
Several objectives are dreamt as one batch (one forward and backward pass for all), with
each picture's gradient normalised on its own, so a batch gives the same pictures as one
at a time and a strong channel does not drown a weak one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from engine.bounds import check_bound
from engine.imageops import gaussian_blur, resize
from engine.networks import DreamNet
from engine.objectives import Objective
from engine.sizes import min_dream_side
from engine.step import random_shift, total_variation_gradient

ProgressFn = Callable[[int, int], None]
GREY = 0.5


@dataclass(frozen=True)
class VisParams:
    """size: the picture's side; the rest say how hard and how smoothly it is grown (see the module)."""

    size: int = 128
    octaves: int = 3
    octave_scale: float = 1.5
    steps: int = 24  # per octave
    lr: float = 0.05
    jitter: int = 8
    scale_jitter: float = 0.1  # each step dreams at a random scale in [1 - s, 1 + s]
    smooth: float = 0.5  # gradient blur sigma
    tv: float = 0.3
    decay: float = 0.01  # share of the distance to grey removed per step
    blur_every: int = 8  # blur the image every N steps (0 = never)
    blur_sigma: float = 0.5

    def __post_init__(self) -> None:
        check_bound("atlas_size", self.size)
        check_bound("octaves", self.octaves)
        check_bound("octave_scale", self.octave_scale)
        check_bound("render_steps", self.steps)
        for name in ("lr", "jitter", "smooth", "tv", "scale_jitter", "decay", "blur_every"):
            check_bound(name, getattr(self, name))
        check_bound("smooth", self.blur_sigma)


def octave_sides(params: VisParams, network: str) -> list[int]:
    """Picture sides from the smallest octave up to params.size, none below the network's minimum."""
    low = min_dream_side(network)
    sides = [round(params.size / params.octave_scale**i) for i in reversed(range(params.octaves))]
    return [side for side in sides if side >= low] or [max(low, params.size)]


def _per_image(grad: Tensor) -> Tensor:
    return grad / grad.abs().mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)


def _gradient(net: DreamNet, image: Tensor, objectives: Sequence[Objective]) -> Tensor:
    """d(sum of objective i on picture i) / d image: one pass for the whole batch."""
    layers = frozenset().union(*(objective.layers for objective in objectives))
    with torch.enable_grad():
        x = image.detach().requires_grad_(True)
        acts = net.forward_to(x, layers)
        value = sum(objective({k: v[i : i + 1] for k, v in acts.items()}) for i, objective in enumerate(objectives))
        (grad,) = torch.autograd.grad(value, x)
    return grad


def vis_step(net: DreamNet, image: Tensor, objectives: Sequence[Objective], params: VisParams, step: int,
             generator: torch.Generator) -> Tensor:  # fmt: skip
    """One regularised ascent step of every picture in the batch."""
    height, width = image.shape[-2:]
    scale = 1.0 + params.scale_jitter * (2 * float(torch.rand((), generator=generator)) - 1)
    dy, dx = random_shift(params.jitter, generator)
    low = min_dream_side(net.name)
    seen = image.roll((dy, dx), dims=(2, 3))
    seen = resize(seen, max(low, round(height * scale)), max(low, round(width * scale)))
    direction = _per_image(_gradient(net, seen, objectives))
    if params.tv > 0:
        direction = direction - params.tv * _per_image(total_variation_gradient(seen))
    if params.smooth > 0:
        direction = gaussian_blur(direction, params.smooth)
    direction = resize(direction, height, width).roll((-dy, -dx), dims=(2, 3))
    image = image.detach() + params.lr * _per_image(direction)
    image = GREY + (image - GREY) * (1.0 - params.decay)
    if params.blur_every and (step + 1) % params.blur_every == 0:
        image = gaussian_blur(image, params.blur_sigma)
    return image.clamp(0.0, 1.0)


def start_noise(side: int, generator: torch.Generator) -> Tensor:
    """(1, 3, side, side) faint noise around grey: where every picture starts."""
    return (GREY + 0.1 * torch.randn((1, 3, side, side), generator=generator)).clamp(0, 1)


def visualise(net: DreamNet, objectives: Sequence[Objective], params: VisParams, generator: torch.Generator,
              progress: ProgressFn | None = None, start: Tensor | None = None) -> Tensor:  # fmt: skip
    """(len(objectives), 3, size, size) pictures grown from noise, smallest octave first.

    start: the batch's starting noise (any size; default drawn from `generator`), so a
    caller can give each picture its own seed; the generator draws the transformations.
    """
    parameter = next(net.parameters())
    sides = octave_sides(params, net.name)
    if start is None:
        start = torch.cat([start_noise(sides[0], generator) for _ in objectives])
    image = start.to(device=parameter.device, dtype=parameter.dtype)
    total, done = len(sides) * params.steps, 0
    for side in sides:
        image = resize(image, side, side)
        for _ in range(params.steps):
            image = vis_step(net, image, objectives, params, done, generator)
            done += 1
            if progress is not None:
                progress(done, total)
    return resize(image, params.size, params.size)
