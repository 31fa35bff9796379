"""One normalised gradient-ascent step on the image, and octaves for stills.

`dream_step` is a pure function: it returns a new image and never touches its input.
The gradient comes from autograd by default; accelerated backends pass their own
`gradient` (image -> d objective / d image) and everything else stays the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from engine.errors import DreamwallError, check_range
from engine.imageops import gaussian_blur, resize
from engine.networks import DreamNet
from engine.objectives import Objective
from engine.sizes import min_dream_side

GradientFn = Callable[[Tensor], Tensor]
ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class StepParams:
    """How one step moves the image.

    lr: step size in [0, 1] pixel units per step, after the gradient is normalised to
        a mean absolute value of 1.
    jitter: largest random roll in pixels (the roll is undone after the step).
    smooth: Gaussian sigma in pixels applied to the gradient (0 = off).
    tv: weight of the total-variation penalty relative to the objective (0 = off).
    """

    lr: float = 0.01
    jitter: int = 16
    smooth: float = 0.0
    tv: float = 0.0

    def __post_init__(self) -> None:
        check_range("lr", self.lr, 0.0, 1.0)
        check_range("jitter", self.jitter, 0, 512)
        check_range("smooth", self.smooth, 0.0, 20.0)
        check_range("tv", self.tv, 0.0, 10.0)


def autograd_gradient(net: DreamNet, objective: Objective) -> GradientFn:
    """Gradient of the objective w.r.t. the image by autograd, stopping at the deepest layer needed."""
    layers = objective.layers

    def gradient(image: Tensor) -> Tensor:
        with torch.enable_grad():
            x = image.detach().requires_grad_(True)
            value = objective(net.forward_to(x, layers))
            (grad,) = torch.autograd.grad(value, x)
        return grad

    return gradient


def total_variation_gradient(image: Tensor) -> Tensor:
    """Gradient of the sum of squared neighbour differences (smoothness penalty)."""
    grad = torch.zeros_like(image)
    dy = image[..., 1:, :] - image[..., :-1, :]
    dx = image[..., :, 1:] - image[..., :, :-1]
    grad[..., 1:, :] += dy
    grad[..., :-1, :] -= dy
    grad[..., :, 1:] += dx
    grad[..., :, :-1] -= dx
    return 2 * grad


def normalise(grad: Tensor) -> Tensor:
    """Divide by the mean absolute value so the step size means the same at every layer."""
    return grad / grad.abs().mean().clamp_min(1e-12)


def random_shift(jitter: int, generator: torch.Generator) -> tuple[int, int]:
    if jitter <= 0:
        return 0, 0
    shift = torch.randint(-jitter, jitter + 1, (2,), generator=generator)
    return int(shift[0]), int(shift[1])


def ascent_direction(image: Tensor, gradient: Tensor, params: StepParams) -> Tensor:
    """The normalised, regularised direction to move `image` in."""
    direction = normalise(gradient)
    if params.tv > 0:
        direction = direction - params.tv * normalise(total_variation_gradient(image))
    if params.smooth > 0:
        direction = normalise(gaussian_blur(direction, params.smooth))
    return direction


def dream_step(
    net: DreamNet,
    image: Tensor,
    objective: Objective,
    params: StepParams,
    generator: torch.Generator,
    gradient: GradientFn | None = None,
) -> Tensor:
    """One step: roll by a random jitter, ascend the objective, roll back, keep pixels in [0, 1]."""
    gradient_fn = gradient if gradient is not None else autograd_gradient(net, objective)
    dy, dx = random_shift(params.jitter, generator)
    rolled = image.roll((dy, dx), dims=(2, 3)) if (dy or dx) else image
    direction = ascent_direction(rolled, gradient_fn(rolled), params)
    if dy or dx:
        direction = direction.roll((-dy, -dx), dims=(2, 3))
    return (image.detach() + params.lr * direction).clamp(0.0, 1.0)


@dataclass(frozen=True)
class OctaveParams:
    """Multi-scale dreaming for stills: `octaves` scales, each `scale` times the previous."""

    octaves: int = 4
    scale: float = 1.4
    steps: int = 10

    def __post_init__(self) -> None:
        check_range("octaves", self.octaves, 1, 12)
        check_range("octave scale", self.scale, 1.0, 4.0)
        check_range("steps", self.steps, 1, 1000)


def dream_octaves(
    net: DreamNet,
    image: Tensor,
    objective: Objective,
    params: StepParams,
    octave_params: OctaveParams,
    generator: torch.Generator,
    gradient: GradientFn | None = None,
    progress: ProgressFn | None = None,
) -> Tensor:
    """Dream from the smallest scale up, carrying the dream detail (not the image) upwards.

    As in the original notebook: each octave starts from the source at that scale
    plus the detail dreamt at the smaller scale, so the picture stays sharp. No octave
    goes below the network's smallest dreamable side (engine.sizes): the pyramid stops there.
    """
    gradient_fn = gradient if gradient is not None else autograd_gradient(net, objective)
    height, width = image.shape[-2:]
    min_side = min_dream_side(net.name)
    if min(height, width) < min_side:
        raise DreamwallError(f"image is {width}x{height}; {net.name} dreams at least {min_side}x{min_side} "
                             "(scale it up first)")  # fmt: skip
    bases = [image]
    for index in range(1, octave_params.octaves):
        factor = octave_params.scale**index
        h, w = round(height / factor), round(width / factor)
        if min(h, w) < min_side:
            break
        bases.append(resize(image, h, w))
    total = len(bases) * octave_params.steps
    done = 0
    detail = torch.zeros_like(bases[-1])
    dreamed = image
    for base in reversed(bases):
        detail = resize(detail, base.shape[-2], base.shape[-1])
        dreamed = (base + detail).clamp(0.0, 1.0)
        for _ in range(octave_params.steps):
            dreamed = dream_step(net, dreamed, objective, params, generator, gradient_fn)
            done += 1
            if progress is not None:
                progress(done, total)
        detail = dreamed - base
    return dreamed
