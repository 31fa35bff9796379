"""Feedback between video frames: the dream grows across frames instead of restarting.

Each new frame starts from the camera image plus the previous frame's dream detail
(previous output minus previous source), moved along the dense optical flow so the
detail sticks to what it grew on. Where the flow cannot be trusted (something
appeared, or was uncovered) the raw frame is used, so moving people do not drag
ghost trails.

Feedback loops in video dreamers are known to run away (every frame a little
brighter or more saturated than the last). Three things keep this one bounded:
the carried detail is made zero-mean per channel (no colour cast or brightness can
accumulate), it is multiplied by `feedback` < 1 each frame (old detail decays), and
its RMS is capped at `max_detail` (the energy of the dream cannot grow without limit
even at feedback 1).

Pure computation: the optical flow is OpenCV on small numpy arrays; the flow
estimator is injectable so tests and other backends can swap it. OpenCV's DIS runs on
the CPU, so the live show computes it on a small grey copy of the camera frame made on
the host (`host_grey`, at most FLOW_MAX_WIDTH wide) and scales the field up on the
device (`upscale_flow`): the dream itself never has to come back to the host for it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from engine.bounds import check_bound
from engine.imageops import gaussian_blur
from engine.post import luma
from engine.sizes import MIN_FLOW_SIDE

FLOW_MAX_WIDTH = 480  # DIS fast at 480x270: a few ms on one core, and finer than the pattern it carries

FlowFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(new_grey, prev_grey) uint8 HxW -> flow HxWx2 float32 with new(x) ~ prev(x + flow(x))."""


@dataclass(frozen=True)
class FeedbackParams:
    """feedback: share of the previous dream carried into the next frame (0 = none).

    flow: warp the carried detail along the optical flow (False: carry it in place).
    occlusion: mean absolute RGB difference in [0, 1] between the aligned previous
        frame and the new one above which a pixel restarts from the raw frame.
    max_detail: cap on the RMS of the carried detail, in [0, 1] pixel units.
    wrap: the image is a 360-degree panorama: the warp wraps at the left and right edges.
    """

    feedback: float = 0.7
    flow: bool = True
    occlusion: float = 0.1
    max_detail: float = 0.2
    wrap: bool = False

    def __post_init__(self) -> None:
        for name in ("feedback", "occlusion", "max_detail"):
            check_bound(name, getattr(self, name))


def dis_flow(preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST) -> FlowFn:
    """OpenCV's DIS optical flow (fast preset: about 1 ms at 320x180 on one core).

    The estimator object keeps buffers between calls, so give each thread its own.
    """
    estimator = cv2.DISOpticalFlow_create(preset)

    def flow(new_grey: np.ndarray, prev_grey: np.ndarray) -> np.ndarray:
        return estimator.calc(new_grey, prev_grey, None)

    return flow


def wrapping(flow_fn: FlowFn) -> FlowFn:
    """`flow_fn` for panoramas: estimated on grey frames padded circularly by an eighth of their width, cropped,
    so motion across the 0/360 seam is seen as the motion it is."""

    def flow(new_grey: np.ndarray, prev_grey: np.ndarray) -> np.ndarray:
        pad = max(2, new_grey.shape[1] // 8)
        widen = ((0, 0), (pad, pad))
        return flow_fn(np.pad(new_grey, widen, mode="wrap"), np.pad(prev_grey, widen, mode="wrap"))[:, pad:-pad]

    return flow


def grey_uint8(image: Tensor) -> np.ndarray:
    """(1, 3, H, W) [0, 1] -> HxW uint8 luma on the CPU, what flow estimators want."""
    return luma(image.detach().float())[0, 0].mul(255).round().clamp(0, 255).byte().cpu().numpy()


def flow_size(size: tuple[int, int], max_width: int = FLOW_MAX_WIDTH) -> tuple[int, int]:
    """(width, height) to estimate a `size` image's flow at: at most `max_width` wide, never under the DIS floor."""
    width, height = size
    scale = min(1.0, max_width / width)
    scale = max(scale, MIN_FLOW_SIDE / min(width, height))
    return max(MIN_FLOW_SIDE, round(width * scale)), max(MIN_FLOW_SIDE, round(height * scale))


def host_grey(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """HxWx3 uint8 RGB camera frame -> uint8 luma at (width, height), on the host (what DIS reads)."""
    grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)  # the same Rec. 601 weights as luma()
    if (grey.shape[1], grey.shape[0]) != size:
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey


def upscale_flow(flow: np.ndarray, size: tuple[int, int], device: torch.device, dtype: torch.dtype) -> Tensor:
    """A flow field (h, w, 2) in small-image pixels -> (H, W, 2) in pixels of a (width, height) image, on `device`."""
    width, height = size
    small = torch.from_numpy(np.ascontiguousarray(flow)).to(device=device, dtype=torch.float32)
    if small.shape[:2] == (height, width):
        return small.to(dtype)
    scale = torch.tensor((width / small.shape[1], height / small.shape[0]), device=device)
    field = F.interpolate(small.permute(2, 0, 1).unsqueeze(0), size=(height, width), mode="bilinear",
                          align_corners=False)  # fmt: skip
    return (field[0].permute(1, 2, 0) * scale).to(dtype)


@functools.lru_cache(maxsize=8)
def _pixel_grid(height: int, width: int, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """(every pixel's own place in grid_sample's [-1, 1] units (1, H, W, 2), one pixel in those units (2,)):
    made once per size, so a frame's sampling grid is one fused multiply-add on its flow."""
    per_pixel = torch.tensor((2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)), device=device, dtype=dtype)
    ys, xs = torch.meshgrid(torch.arange(height, device=device, dtype=dtype),
                            torch.arange(width, device=device, dtype=dtype), indexing="ij")  # fmt: skip
    return (torch.stack((xs, ys), dim=-1) * per_pixel - 1.0).unsqueeze(0), per_pixel


def warp(image: Tensor, flow: Tensor, wrap: bool = False) -> Tensor:
    """Sample `image` at x + flow(x) (bilinear, border-clamped); flow is (H, W, 2) in pixels.

    wrap: a panorama; the image is padded circularly by an eighth of its width first (flow
    further than that across the seam clamps), so what leaves at one edge comes in at the other.
    """
    return warp_each((image,), flow, wrap)[0]


def warp_each(images: tuple[Tensor, ...], flow: Tensor, wrap: bool = False) -> list[Tensor]:
    """`warp` of each image (all the same size) along one flow, its sampling grid made once.

    Separately, not as one six-channel tensor: torch's CPU grid_sample is faster on two tensors of
    three channels than on their concatenation, without counting the copy (1280x720, a flow of a few
    pixels: 7.4 against 8.4 ms on two threads, 8.1 against 10.6 on one).
    """
    if wrap:
        pad = max(2, images[0].shape[-1] // 8)
        widened = F.pad(flow.to(images[0].device).permute(2, 0, 1), (pad, pad)).permute(1, 2, 0)  # cropped away after
        padded = tuple(F.pad(image, (pad, pad, 0, 0), mode="circular") for image in images)
        return [warped[..., pad:-pad] for warped in warp_each(padded, widened)]
    _, _, height, width = images[0].shape
    base, per_pixel = _pixel_grid(height, width, images[0].device, images[0].dtype)
    grid = torch.addcmul(base, flow.to(device=base.device, dtype=base.dtype), per_pixel)
    return [F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)
            for image in images]  # fmt: skip


def trust_mask(aligned_prev: Tensor, source: Tensor, threshold: float) -> Tensor:
    """(1, 1, H, W) in [0, 1]: 1 where the aligned previous frame agrees with the new one.

    Slightly blurred so the edge between carried and restarted detail does not show.
    """
    disagreement = (aligned_prev - source).abs_().mean(dim=1, keepdim=True)
    mask = (disagreement <= threshold).to(source.dtype)
    return gaussian_blur(mask, 1.0)


def zero_mean(detail: Tensor) -> Tensor:
    """Remove the per-channel mean: a uniform brightness or colour cast can never accumulate."""
    return detail - detail.mean(dim=(2, 3), keepdim=True)


def energy_scale(detail: Tensor, max_detail: float) -> Tensor:
    """The factor (a 0-d tensor, at most 1) that brings the RMS of `detail` down to `max_detail`; no host sync."""
    rms = torch.linalg.vector_norm(detail, dtype=torch.float32) / detail.numel() ** 0.5
    return (max_detail / rms.clamp_min(1e-12)).clamp(max=1.0).to(detail.dtype)


def cap_energy(detail: Tensor, max_detail: float) -> Tensor:
    """Scale down (never up) so the RMS is at most `max_detail`; no host sync, so cheap on a GPU."""
    return detail * energy_scale(detail, max_detail)


def carried_start(
    prev_output: Tensor,
    prev_source: Tensor,
    source: Tensor,
    params: FeedbackParams,
    flow_fn: FlowFn | None = None,
    flow: Tensor | None = None,
) -> Tensor:
    """The image the next frame's dream starts from: `source` plus the previous dream detail.

    With `params.flow` on, `flow` is the (H, W, 2) field from the previous frame to this
    one (the live worker's, from small host copies); without it `flow_fn` estimates it here.
    """
    if params.feedback == 0 or prev_output.shape != source.shape:
        return source
    detail = prev_output - prev_source
    aligned_prev = prev_source
    if params.flow:
        if flow is None:
            if flow_fn is None:
                raise ValueError("flow feedback needs a flow estimator (flow_fn) or the flow field")
            estimate = wrapping(flow_fn) if params.wrap else flow_fn
            flow = torch.from_numpy(np.ascontiguousarray(estimate(grey_uint8(source), grey_uint8(prev_source))))
        detail, aligned_prev = warp_each((detail, prev_source), flow, params.wrap)
    # zero-mean before masking so restarted pixels get exactly the raw frame
    detail = zero_mean(detail).mul_(trust_mask(aligned_prev, source, params.occlusion))
    carried = energy_scale(detail, params.max_detail) * params.feedback  # one pass over the frame for all three
    return torch.addcmul(source, detail, carried).clamp_(0.0, 1.0)


class TemporalFeedback:
    """Remembers the last (source, output) pair and turns each new source into a start image."""

    def __init__(self, flow_fn: FlowFn | None = None) -> None:
        self._flow_fn = flow_fn
        self._prev: tuple[Tensor, Tensor] | None = None

    @property
    def primed(self) -> bool:
        """Whether a previous frame is remembered (so the next start carries its detail)."""
        return self._prev is not None

    def start(self, source: Tensor, params: FeedbackParams, flow: Tensor | None = None) -> Tensor:
        """`flow`: the field from the remembered frame to `source`, when the caller has it already."""
        if self._prev is None:
            return source
        if params.flow and flow is None and self._flow_fn is None:
            self._flow_fn = dis_flow()
        prev_source, prev_output = self._prev
        return carried_start(prev_output, prev_source, source, params, self._flow_fn, flow)

    def remember(self, source: Tensor, output: Tensor) -> None:
        """Store the frame's source and its (ungraded) dream for the next frame."""
        self._prev = (source.detach(), output.detach())

    def reset(self) -> None:
        """Forget the previous dream (preset change to another network, size change, unfreeze)."""
        self._prev = None
