"""What a student is trained on: the look's own objective, a cap on its detail, and stability.

Measured on this project (EXAMPLES.md, and the runs of issue 22 on this 2-core CPU, 48 crops of
128 px, 800-1500 steps, the default look): a student trained to copy the teacher's pixels
averages the teacher's hallucinations (whose places depend on the jitter) into no detail at all
(L1 or MSE to the teacher's detail at weight 1 drove the held-out gain to 0.01-0.05 and the
detail distance to 1.0, the distance of an empty dream). So the main term is the look's own
objective through the embedded network, applied to the student's dream, as fast style transfer
trains on its perceptual objective:

- objective: minus the student's objective gain as a share of the teacher's on the same batch
  (gain = (objective(dream) - objective(frame)) / |objective(frame)|), so 1 + this term is what
  is still missing and the weight means the same for every layer and network. The objective sees
  frame and dream at one random scale and roll (`seen_as`), as the teacher's octaves and jitter
  make it see them: without that the student learnt pixel-phase dots along edges;
- excess: the student may not buy its gain with more detail than the teacher's (RMS above the
  teacher's is penalised, squared, relative to it): gain per unit of change is the look. The cap
  holds for the whole detail, its coarse part (16-pixel means) and its fine part (3x3 grain), each
  against the teacher's same part: capped as a whole only, a student trained for 10 minutes spent
  its budget on a magenta wash over the shadows (held-out gain 0.18 of the teacher's 16);
- pixel: L1 distance to the teacher's detail, relative to the teacher's mean absolute detail
  (off by default: see above);
- equivariance: the detail of a shifted, slightly noisy frame is the shifted detail of the
  frame (temporal stability without optical flow: a still scene with camera noise gives a still
  dream, and a small pan moves the dream with it), relative to the teacher's detail.

Tried and dropped: matching the share of fine, middle and coarse structure in the teacher's detail
(the student met it with horizontal stripes).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from engine.networks import DreamNet
from engine.objectives import Objective


@dataclass(frozen=True)
class LossWeights:
    objective: float = 1.0
    excess: float = 4.0
    pixel: float = 0.0  # measured: any weight that matters pulls the student to no detail (see the module doc)
    equivariance: float = 0.1
    noise: float = 2.0 / 255  # camera noise (std, [0, 1] units) in the equivariance term
    shift: int = 7  # largest shift in pixels in the equivariance term (under the student's stride of 8)
    seen_scale: float = 0.6  # the objective sees the dream scaled by a random factor in [seen_scale, 1]


def objective_value(net: DreamNet, objective: Objective, image: Tensor) -> Tensor:
    return objective(net.forward_to(image, objective.layers))


def objective_gain(net: DreamNet, objective: Objective, frame: Tensor, dreamed: Tensor) -> Tensor:
    """(objective(dreamed) - objective(frame)) / |objective(frame)|: how much the dream raised the look's objective."""
    with torch.no_grad():
        base = objective_value(net, objective, frame)
    return (objective_value(net, objective, dreamed) - base) / base.abs().clamp_min(1e-8)


def seen_as(frames: Tensor, dreamed: Tensor, smallest: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Frame and dream as the objective sees them in training: both scaled by one random factor in
    [smallest, 1] (antialiased) and rolled by one random offset. A pattern that raises the objective only
    at one scale and one pixel phase (the dots and meshes a student finds when it may paint single pixels)
    does not survive; the teacher's jitter and octaves give it the same robustness."""
    factor = float(torch.empty(()).uniform_(smallest, 1.0, generator=generator)) if smallest < 1 else 1.0
    height, width = (int(v) for v in frames.shape[-2:])
    size = (max(16, round(height * factor)), max(16, round(width * factor)))
    dy, dx = (int(v) for v in torch.randint(0, 8, (2,), generator=generator))
    pair = torch.cat([frames, dreamed])
    if size != (height, width):
        pair = torch.nn.functional.interpolate(pair, size=size, mode="bilinear", antialias=True, align_corners=False)
    pair = torch.roll(pair, shifts=(dy, dx), dims=(2, 3))
    return pair[: len(frames)], pair[len(frames) :]


COARSE = 16  # pixels: structure wider than this is a colour or brightness wash, not a pattern


def bands(detail: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The detail whole, its coarse part (means over COARSE-pixel blocks: washes of colour and brightness) and its
    fine part (what a 3x3 mean takes away: single-pixel grain)."""
    coarse = F.avg_pool2d(detail, COARSE, ceil_mode=True)
    fine = detail - F.avg_pool2d(detail, 3, stride=1, padding=1, count_include_pad=False)
    return detail, coarse, fine


def _rms(x: Tensor) -> Tensor:
    return (x.float().pow(2).mean() + 1e-12).sqrt()  # finite gradient at zero detail (an untrained student)


def student_losses(student: torch.nn.Module, net: DreamNet, objective: Objective, frames: Tensor,
                   teacher: Tensor, weights: LossWeights, generator: torch.Generator) -> dict[str, Tensor]:  # fmt: skip
    """The weighted terms and their sum ("total") for a batch of frames and the teacher's dreams of them.

    `generator` draws the equivariance shift and noise (seeded: same batch, same loss).
    """
    detail = student(frames)
    target = (teacher - frames).detach()
    scale = target.abs().mean().clamp_min(1e-6)
    terms: dict[str, Tensor] = {}
    zero = detail.new_zeros(())
    if weights.objective > 0:
        with torch.no_grad():
            base = objective_value(net, objective, frames)
            teacher_gain = (objective_value(net, objective, teacher) - base) / base.abs().clamp_min(1e-8)
        seen_frames, seen_dream = seen_as(frames, (frames + detail).clamp(0, 1), weights.seen_scale, generator)
        with torch.no_grad():
            seen_base = objective_value(net, objective, seen_frames)
        gain = (objective_value(net, objective, seen_dream) - seen_base) / seen_base.abs().clamp_min(1e-8)
        terms["objective"] = -weights.objective * gain / teacher_gain.clamp_min(1e-6)
    else:
        terms["objective"] = zero
    if weights.excess > 0:
        over = sum(((_rms(mine) / _rms(theirs).clamp_min(1e-6) - 1.0).clamp_min(0.0).pow(2)
                    for mine, theirs in zip(bands(detail), bands(target), strict=True)), zero)  # fmt: skip
        terms["excess"] = weights.excess * over
    else:
        terms["excess"] = zero
    terms["pixel"] = weights.pixel * (detail - target).abs().mean() / scale if weights.pixel > 0 else zero
    if weights.equivariance > 0:
        dy, dx = (int(v) for v in torch.randint(0, weights.shift + 1, (2,), generator=generator))
        height, width = frames.shape[-2:]
        noise = torch.randn(frames[..., dy:, dx:].shape, generator=generator).to(frames) * weights.noise
        moved = student((frames[..., dy:, dx:] + noise).clamp(0, 1))
        terms["equivariance"] = weights.equivariance * (moved - detail[..., dy:height, dx:width]).abs().mean() / scale
    else:
        terms["equivariance"] = zero
    terms["total"] = sum((v for k, v in terms.items()), zero)
    return terms
