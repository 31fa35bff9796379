"""The one-pass dream of a frame: the student's detail, added around the same feedback as the gradient dream.

The gradient dream adds `steps x lr` of ascent to a start image that already carries `feedback` of the
last dream's detail, so a still scene's detail settles where the new ascent balances the decay:
about `steps x lr / (1 - feedback)` (the default look: 2 x 0.01 / 0.05, the 40 steps of its still
render, which is what its student is trained on). The student gives that settled detail in one pass,
so it is added as a moving average, not compounded:

    dreamed = start + (1 - feedback) * strength * student(source)

where start = source + feedback x carried detail. On a still scene the detail converges to
`strength x student(source)`, whatever the feedback (the student's own detail at lr = the teacher's
lr: the strength of the look's gradient show and of its still render), and camera noise in the
student's detail is averaged over about 1 / (1 - feedback) frames. The student sees the camera
frame, not the start image: fed its own dream it would dream on its dream, the compounding this
avoids (a fixed point that depends on the camera alone keeps a still scene still). At a feedback
above 1 - MIN_RATE the average still moves at MIN_RATE a frame (at feedback 1 the carried detail grows
to its cap, as the gradient dream's does), so a dream always forms.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from engine.panorama import crop_pad, latitude_weight, wrap_pad

MIN_RATE = 0.02  # the smallest share of the student's detail a frame takes in (feedback near or at 1)


def student_detail(student: nn.Module, source: Tensor, panorama_pad: int = 0) -> Tensor:
    """The student's detail of `source` (N, 3, H, W); a panorama is seen padded circularly, as the gradient step
    sees it, and weighted by latitude as its ascent is."""
    width = int(source.shape[-1])
    detail = crop_pad(student(wrap_pad(source, panorama_pad)), panorama_pad, width)
    if panorama_pad > 0:
        detail = detail * latitude_weight(int(source.shape[-2]), detail.device, detail.dtype)
    return detail


def student_frame(student: nn.Module, start: Tensor, source: Tensor, strength: float, feedback: float,
                  mask: Tensor | None = None, panorama_pad: int = 0) -> Tensor:  # fmt: skip
    """`start + (1 - feedback) * strength * student(source)` in [0, 1], without autograd; `mask` (1, 1, H, W)
    scales the detail added, as it scales every gradient step (where it is 0 the start image stays)."""
    with torch.no_grad():
        detail = student_detail(student, source, panorama_pad) * (max(1.0 - feedback, MIN_RATE) * strength)
        if mask is not None:
            detail = detail * mask.to(detail.dtype)
        return (start + detail).clamp(0.0, 1.0)
