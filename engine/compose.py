"""The shown frame at output size: the camera's own pixels plus the dream's detail scaled up.

The dream runs at a small processing size (320x180 on a CPU) for speed. Upscaling that
image to a 1080p projector blurs the visitors; instead, the dream's *detail* (dream
minus the source it grew from, both at processing size) is what gets scaled up, and it
is added to the camera frame taken at output size. Edges of people and objects stay as
sharp as the camera delivers them; the pattern keeps the scale it was dreamt at.

`compose: upscale` keeps the old look (the dream image scaled up). Attract mode and the
camera-lost loop show the dream on its own (there is no matching camera frame), so they
are always upscaled.

`compose` is tensor code for whatever device the tensors live on (no host copies);
`compose_host` is the same frame made with OpenCV on host arrays, for a show that runs
on the CPU: at 1080p it is about 5x faster than torch's CPU kernels (measured by
`run.py bench --live`), and equal to `compose` within one level of 255.
"""

from __future__ import annotations

import cv2
import numpy as np
from torch import Tensor

from engine.errors import unknown_name
from engine.imageops import resize

COMPOSE_MODES = ("detail", "upscale")


def compose(dreamed: Tensor, source: Tensor, camera: Tensor | None, size: tuple[int, int],
            mode: str = "detail") -> Tensor:  # fmt: skip
    """The frame to show at `size` (width, height).

    dreamed: the graded dream at processing size; source: the camera frame it was dreamt
    from, at processing size; camera: the same frame at `size`, or None when the dream
    shows no camera frame (attract mode, camera lost): then the dream is upscaled.
    """
    if mode not in COMPOSE_MODES:
        raise unknown_name("compose mode", mode, COMPOSE_MODES)
    width, height = size
    if mode == "upscale" or camera is None:
        return resize(dreamed, height, width).clamp(0.0, 1.0)
    if camera.shape[-2:] != (height, width):
        raise ValueError(f"camera frame is {camera.shape[-1]}x{camera.shape[-2]}, the output {width}x{height}")
    detail = resize(dreamed - source.to(dreamed.dtype), height, width)
    return (camera.to(dreamed.dtype) + detail).clamp(0.0, 1.0)


def compose_host(dreamed: Tensor, source: Tensor, camera: np.ndarray | None, size: tuple[int, int],
                 mode: str = "detail") -> np.ndarray:  # fmt: skip
    """`compose` for CPU tensors, straight to HWC uint8: camera is the frame at `size` as uint8 RGB (or None)."""
    if mode not in COMPOSE_MODES:
        raise unknown_name("compose mode", mode, COMPOSE_MODES)
    if mode == "upscale" or camera is None:
        pixels = dreamed[0].detach().float().clamp(0.0, 1.0).mul(255.0).round().byte().permute(1, 2, 0).numpy()
        return host_resize(np.ascontiguousarray(pixels), size)
    if camera.shape[:2] != (size[1], size[0]):
        raise ValueError(f"camera frame is {camera.shape[1]}x{camera.shape[0]}, the output {size[0]}x{size[1]}")
    detail = (dreamed.detach().float() - source.detach().float())[0].mul(255.0).permute(1, 2, 0)
    return cv2.add(camera, host_resize(np.ascontiguousarray(detail.numpy()), size), dtype=cv2.CV_8U)  # saturating


def host_resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """HWC `image` at (width, height) with OpenCV: bilinear when a side grows, area averaging when both shrink
    (OpenCV's area mode enlarges like nearest neighbour); unchanged when equal."""
    if (image.shape[1], image.shape[0]) == size:
        return image
    growing = size[0] > image.shape[1] or size[1] > image.shape[0]
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR if growing else cv2.INTER_AREA)

