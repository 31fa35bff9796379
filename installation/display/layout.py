"""Where a dream goes on screen: the crop/cover geometry and the window's placement on a display.

Pure arithmetic plus one SDL constant, so the geometry is tested without a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pygame._sdl2.video import WINDOWPOS_CENTERED

from engine.errors import unknown_name

Box = tuple[int, int, int, int]  # x, y, width, height

SCALE_MODES = ("fill", "letterbox")


@dataclass(frozen=True)
class Layout:
    """Which part of the dream to show (`crop`, source pixels) and where on screen (`dest`)."""

    crop: Box
    dest: Box


def check_scale_mode(mode: str) -> str:
    """The mode, or the "did you mean" error: every entry point that takes a mode says the same."""
    if mode not in SCALE_MODES:
        raise unknown_name("scale mode", mode, SCALE_MODES)
    return mode


def fit(source: tuple[int, int], screen: tuple[int, int], mode: str) -> Layout:
    """Geometry for showing a `source` (w, h) image on a `screen` (w, h).

    fill: crop the source to the screen's aspect ratio (centred) and cover the screen.
    letterbox: show the whole source, as large as fits, centred between black bars.
    """
    check_scale_mode(mode)
    src_w, src_h = source
    dst_w, dst_h = screen
    if min(src_w, src_h, dst_w, dst_h) <= 0:
        raise ValueError(f"sizes must be positive, got source {source} and screen {screen}")
    if mode == "fill":
        if src_w * dst_h > src_h * dst_w:  # source is wider than the screen: trim the sides
            crop_w, crop_h = max(1, min(src_w, round(src_h * dst_w / dst_h))), src_h
        else:  # source is taller: trim top and bottom
            crop_w, crop_h = src_w, max(1, min(src_h, round(src_w * dst_h / dst_w)))
        crop = ((src_w - crop_w) // 2, (src_h - crop_h) // 2, crop_w, crop_h)
        return Layout(crop=crop, dest=(0, 0, dst_w, dst_h))
    scale = min(dst_w / src_w, dst_h / src_h)
    out_w, out_h = max(1, min(dst_w, round(src_w * scale))), max(1, min(dst_h, round(src_h * scale)))
    return Layout(crop=(0, 0, src_w, src_h), dest=((dst_w - out_w) // 2, (dst_h - out_h) // 2, out_w, out_h))


class Placeable(Protocol):
    """What `place_on_display` needs of a window (pygame._sdl2.video.Window; fakes in tests)."""

    size: tuple[int, int]
    position: tuple[int, int]


def place_on_display(window: Placeable, display: int, size: tuple[int, int] | None = None) -> None:
    """Centre the window on `display` (SDL_WINDOWPOS_CENTERED_DISPLAY), first resized to `size`.

    Given the display's own size before entering fullscreen, this puts the window at that
    display's origin. Without a window manager (a bare X kiosk) SDL makes a window
    fullscreen by resizing it where it stands, so F, F used to bring it back at the
    windowed position (+320+180 on 1080p) with a quarter of the picture off screen.
    A resize frees the display surface: only call it with `size` before set_mode.
    """
    if size is not None:
        window.size = size
    window.position = (WINDOWPOS_CENTERED | display, WINDOWPOS_CENTERED | display)
