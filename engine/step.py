"""One normalised gradient-ascent step on the image, and octaves for stills.

`dream_step` is a pure function: it returns a new image and never touches its input.
The gradient comes from autograd by default; accelerated backends pass their own
`gradient` (image -> d objective / d image) and everything else stays the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from engine.bounds import check_bound
from engine.errors import DreamwallError
from engine.imageops import gaussian_blur, resize
from engine.networks import DreamNet
from engine.objectives import Objective
from engine.panorama import crop_pad, latitude_weight, wrap_pad
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
    jitter_walk: steps over which the roll drifts from one random offset to the next
        (a JitterWalk; 0 = a fresh random roll every step).
    shift: this step's roll (dy, dx), set by a JitterWalk; None = drawn from the generator.
    panorama_pad: 0 = a flat picture; > 0 = an equirectangular panorama, padded circularly by
        this many pixels each side for the network and its step scaled by cos(latitude)
        (engine.panorama; engine.panorama.panorama_pad gives the width a network needs).
    """

    lr: float = 0.01
    jitter: int = 16
    smooth: float = 0.0
    tv: float = 0.0
    jitter_walk: int = 0
    shift: tuple[int, int] | None = None
    panorama_pad: int = 0

    def __post_init__(self) -> None:
        for name in ("lr", "jitter", "smooth", "tv", "jitter_walk", "panorama_pad"):
            check_bound(name, getattr(self, name))
        if self.shift is not None and max(abs(self.shift[0]), abs(self.shift[1])) > self.jitter:
            raise DreamwallError(f"shift must be within the jitter of {self.jitter} px, got {self.shift}")


class JitterWalk:
    """Roll offsets that drift slowly instead of jumping every step.

    A fresh random roll per step re-draws the pattern at another alignment of the
    network's strides each time; in a feedback loop across video frames that reads as
    crawling. Here the offset glides linearly between random knots `jitter_walk` steps
    apart, so successive steps (and frames) reinforce the same pattern while, over
    time, every alignment is still visited. Each knot comes from its own
    torch.Generator seeded from (seed, knot), so the offset of any step is known from
    the step's index alone: same seed, same frames, and a resumed render matches.
    """

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._knots: dict[tuple[int, int], tuple[int, int]] = {}

    def _knot(self, index: int, jitter: int) -> tuple[int, int]:
        key = (index, jitter)
        if key not in self._knots:
            if len(self._knots) > 64:
                self._knots.clear()
            generator = torch.Generator().manual_seed(self._seed * 1_000_003 + index)
            self._knots[key] = random_shift(jitter, generator)
        return self._knots[key]

    def shift(self, step: int, jitter: int, period: int) -> tuple[int, int]:
        """The roll of global step number `step`, within +-jitter."""
        index, phase = divmod(step, period)
        (ay, ax), (by, bx) = self._knot(index, jitter), self._knot(index + 1, jitter)
        t = phase / period
        return round(ay + (by - ay) * t), round(ax + (bx - ax) * t)

    def params(self, params: StepParams, step: int) -> StepParams:
        """`params` with step number `step`'s roll; unchanged when the walk is off (jitter_walk or jitter 0)."""
        if params.jitter_walk == 0 or params.jitter == 0:
            return params
        return replace(params, shift=self.shift(step, params.jitter, params.jitter_walk))


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
    mask: Tensor | None = None,
) -> Tensor:
    """One step: roll by a random jitter (or `params.shift`), ascend the objective, roll back, keep pixels in [0, 1].

    `mask` (1, 1, H, W) in [0, 1] scales the direction per pixel (engine.masks): where it is 0 the image stays.
    """
    gradient_fn = gradient if gradient is not None else autograd_gradient(net, objective)
    dy, dx = params.shift if params.shift is not None else random_shift(params.jitter, generator)
    rolled = image.roll((dy, dx), dims=(2, 3)) if (dy or dx) else image
    pad = params.panorama_pad
    seen = wrap_pad(rolled, pad)
    direction = ascent_direction(rolled, crop_pad(gradient_fn(seen), pad, image.shape[-1]), params)
    if dy or dx:
        direction = direction.roll((-dy, -dx), dims=(2, 3))
    if pad > 0:
        direction = direction * latitude_weight(image.shape[-2], direction.device, direction.dtype)
    if mask is not None:
        direction = direction * mask.to(direction.dtype)
    return (image.detach() + params.lr * direction).clamp(0.0, 1.0)


@dataclass(frozen=True)
class OctaveParams:
    """Multi-scale dreaming for stills: `octaves` scales, each `scale` times the previous."""

    octaves: int = 4
    scale: float = 1.4
    steps: int = 10

    def __post_init__(self) -> None:
        check_bound("octaves", self.octaves)
        check_bound("octave_scale", self.scale)
        check_bound("render_steps", self.steps)


def dream_octaves(
    net: DreamNet,
    image: Tensor,
    objective: Objective,
    params: StepParams,
    octave_params: OctaveParams,
    generator: torch.Generator,
    gradient: GradientFn | None = None,
    progress: ProgressFn | None = None,
    walk: JitterWalk | None = None,
    first_step: int = 0,
    mask: Tensor | None = None,
) -> Tensor:
    """Dream from the smallest scale up, carrying the dream detail (not the image) upwards.

    `walk`: roll offsets from a JitterWalk, this call's steps numbered from `first_step`.
    `mask`: (1, 1, H, W) at the image's size, scaling every step (engine.masks); resized per octave.

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
        octave_mask = resize(mask, base.shape[-2], base.shape[-1]) if mask is not None else None
        for _ in range(octave_params.steps):
            step_params = walk.params(params, first_step + done) if walk is not None else params
            dreamed = dream_step(net, dreamed, objective, step_params, generator, gradient_fn, octave_mask)
            done += 1
            if progress is not None:
                progress(done, total)
        detail = dreamed - base
    return dreamed
