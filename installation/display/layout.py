"""Where the window goes on a display. The dream's crop/cover geometry on the screen is the fit rule
(engine.framing), shared with headless videos, recordings and `render --size`."""

from __future__ import annotations

from typing import Protocol

from pygame._sdl2.video import WINDOWPOS_CENTERED


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
