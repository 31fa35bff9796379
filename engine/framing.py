"""How a frame of one aspect meets a size of another: the fit rule, and sizes that keep an aspect.

A camera's frame is never resized to another aspect by accident: a 4:3 webcam on a 16:9
projector would make visitors fat, a 21:9 one thin, and the dream's faces squashed. One
setting, `fit`, decides what happens wherever a frame meets a size (the screen, a
headless video, a recording, `render --size`):

- fill (the default): scale to cover the target and crop the overflow, centred;
- fit: scale to fit inside the target, centred between black bars (letterbox/pillarbox);
- stretch: scale each side on its own (the old behaviour; aspect changes), only when asked.

The processing size follows the frame's aspect too (`aspect_size`): a size setting is a
pixel budget, spent at the frame's own aspect.

Pure geometry plus two OpenCV array helpers; no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.compose import host_resize
from engine.errors import unknown_name

FIT_MODES = ("fill", "fit", "stretch")

Size = tuple[int, int]  # width, height
Box = tuple[int, int, int, int]  # x, y, width, height


@dataclass(frozen=True)
class Framing:
    """Which part of the source to take (`crop`, source pixels) and where it lands in the target (`dest`)."""

    crop: Box
    dest: Box

    @property
    def size(self) -> Size:
        """The size the cropped part is scaled to."""
        return self.dest[2], self.dest[3]


def check_fit(mode: str) -> str:
    """The mode, or the one-line "did you mean" error naming the allowed ones."""
    if mode not in FIT_MODES:
        raise unknown_name("fit", mode, FIT_MODES)
    return mode


def _check_sizes(source: Size, target: Size) -> None:
    if min(*source, *target) <= 0:
        raise ValueError(f"sizes must be positive, got source {source} and target {target}")


def framing(source: Size, target: Size, mode: str) -> Framing:
    """The geometry of showing a `source` (w, h) frame in a `target` (w, h) under the fit rule `mode`."""
    check_fit(mode)
    _check_sizes(source, target)
    src_w, src_h = source
    dst_w, dst_h = target
    if mode == "stretch":
        return Framing(crop=(0, 0, src_w, src_h), dest=(0, 0, dst_w, dst_h))
    if mode == "fill":
        if src_w * dst_h > src_h * dst_w:  # the source is wider than the target: trim the sides
            crop_w, crop_h = max(1, min(src_w, round(src_h * dst_w / dst_h))), src_h
        else:  # taller: trim top and bottom
            crop_w, crop_h = src_w, max(1, min(src_h, round(src_w * dst_h / dst_w)))
        return Framing(crop=((src_w - crop_w) // 2, (src_h - crop_h) // 2, crop_w, crop_h), dest=(0, 0, dst_w, dst_h))
    out_w, out_h = contained_size(source, target)
    return Framing(crop=(0, 0, src_w, src_h), dest=((dst_w - out_w) // 2, (dst_h - out_h) // 2, out_w, out_h))


def contained_size(source: Size, target: Size) -> Size:
    """(width, height) at `source`'s aspect, as large as fits inside `target`."""
    _check_sizes(source, target)
    scale = min(target[0] / source[0], target[1] / source[1])
    return max(1, min(target[0], round(source[0] * scale))), max(1, min(target[1], round(source[1] * scale)))


def covering_size(source: Size, target: Size) -> Size:
    """(width, height) at `source`'s aspect, the smallest that covers `target`."""
    _check_sizes(source, target)
    scale = max(target[0] / source[0], target[1] / source[1])
    return max(target[0], round(source[0] * scale)), max(target[1], round(source[1] * scale))


def shown_size(source: Size, target: Size, mode: str) -> Size:
    """The size to compose a `source` frame at for `target`, so that `framing` then only crops or pads.

    fill: covering `target` at the source's aspect (cropped later); fit: inside it (bars
    later); stretch: `target` itself.
    """
    check_fit(mode)
    if mode == "stretch":
        return target
    return covering_size(source, target) if mode == "fill" else contained_size(source, target)


def aspect_size(source: Size, pixels: int, min_side: int = 1, max_side: int | None = None) -> Size:
    """(width, height) at `source`'s aspect holding about `pixels` pixels: a size setting's budget.

    Each side stays within [min_side, max_side] (the short side is raised, or the long side
    lowered, keeping the aspect as far as the bounds allow).
    """
    _check_sizes(source, (1, 1))
    aspect = source[0] / source[1]
    width, height = math.sqrt(pixels * aspect), math.sqrt(pixels / aspect)
    if min(width, height) < min_side:
        grow = min_side / min(width, height)
        width, height = width * grow, height * grow
    if max_side is not None and max(width, height) > max_side:
        shrink = max_side / max(width, height)
        width, height = width * shrink, height * shrink
    low, high = min_side, max_side if max_side is not None else math.inf
    return int(min(high, max(low, round(width)))), int(min(high, max(low, round(height))))


def crop_scale(image: np.ndarray, target: Size, mode: str) -> np.ndarray:
    """The part of HWC `image` the fit rule shows, scaled to where it lands (`framing(...).size`), no bars."""
    geometry = framing((image.shape[1], image.shape[0]), target, mode)
    x, y, w, h = geometry.crop
    return np.ascontiguousarray(host_resize(image[y : y + h, x : x + w], geometry.size))


def place(content: np.ndarray, target: Size) -> np.ndarray:
    """`content` centred on a black `target` (the bars of `fit`); itself when it already is that size."""
    height, width = content.shape[:2]
    if (width, height) == target:
        return content
    if width > target[0] or height > target[1]:
        raise ValueError(f"a {width}x{height} picture does not fit in {target[0]}x{target[1]}")
    canvas = np.zeros((target[1], target[0], *content.shape[2:]), dtype=content.dtype)
    x, y = (target[0] - width) // 2, (target[1] - height) // 2
    canvas[y : y + height, x : x + width] = content
    return canvas


def frame_into(image: np.ndarray, target: Size, mode: str) -> np.ndarray:
    """HWC `image` at exactly `target` (width, height) under the fit rule: cropped, barred or stretched."""
    return place(crop_scale(image, target, mode), target)
