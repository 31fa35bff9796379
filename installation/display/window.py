"""The pygame window: which display, fullscreen or windowed, and getting back from fullscreen intact.

Kept apart from the renderer because SDL's window handling has its own traps (a second
SDL Window wrapper crashes the interpreter, a bare X kiosk leaves a fullscreen window where
it stood); the renderer only asks for the surface to draw on.
"""

from __future__ import annotations

import logging

import pygame
from pygame._sdl2.video import Window

from engine.errors import DreamwallError
from installation.display.layout import place_on_display

log = logging.getLogger(__name__)

DEFAULT_WINDOW_SIZE = (1280, 720)


class DisplayWindow:
    """The one window on `display`; fullscreen always at that display's desktop resolution.

    `size` is the window size when windowed (default 1280x720). Call from the thread that
    created it (SDL's rule).
    """

    def __init__(self, display: int, size: tuple[int, int] | None, fullscreen: bool, title: str) -> None:
        pygame.display.init()
        displays = pygame.display.get_desktop_sizes()
        if not 0 <= display < len(displays):
            raise DreamwallError(
                f"display {display} not found: this machine has {len(displays)} display(s), "
                f"choose 0-{len(displays) - 1}"
            )
        self._display = display
        self._size = size
        self._fullscreen = fullscreen
        self._window: Window | None = None
        pygame.display.set_caption(title)
        self.surface = self._open()

    def _open(self) -> pygame.Surface:
        reopening = pygame.display.get_surface() is not None
        if self._fullscreen:
            if reopening:  # a window exists (F, F): move it to the display's origin first
                place_on_display(self._sdl_window(), self._display, self._desktop_size())
            # (0, 0): the display's desktop resolution, so the monitor never switches modes
            screen = pygame.display.set_mode((0, 0), pygame.FULLSCREEN, display=self._display)
        else:
            size = self._size or DEFAULT_WINDOW_SIZE
            screen = pygame.display.set_mode(size, pygame.RESIZABLE, display=self._display)
            if screen.get_size() != size:  # leaving fullscreen, SDL may keep the old size until asked again
                screen = pygame.display.set_mode(size, pygame.RESIZABLE, display=self._display)
            if reopening:  # back from fullscreen: centred on its display, not left at the origin
                place_on_display(self._sdl_window(), self._display)
        pygame.mouse.set_visible(not self._fullscreen)  # a gallery wall never shows a pointer
        log.info("display %d: %dx%d %s", self._display, *screen.get_size(),
                 "fullscreen" if self._fullscreen else "windowed")  # fmt: skip
        return screen

    def _sdl_window(self) -> Window:
        """pygame's window as an SDL Window, fetched once and kept: SDL keeps a borrowed pointer
        to this object in the window's data, and a second from_display_module() after the first
        was freed crashes the interpreter (seen with pygame 2.6.1)."""
        if self._window is None:
            self._window = Window.from_display_module()
        return self._window

    def _desktop_size(self) -> tuple[int, int]:
        width, height = pygame.display.get_desktop_sizes()[self._display]
        return int(width), int(height)

    @property
    def size(self) -> tuple[int, int]:
        return self.surface.get_size()

    @property
    def fullscreen(self) -> bool:
        return self._fullscreen

    def refresh(self) -> pygame.Surface:
        """The current surface: a window the user resized gets a new one."""
        self.surface = pygame.display.get_surface()
        return self.surface

    def toggle_fullscreen(self) -> None:
        if not self._fullscreen:
            self._size = self.size  # come back to the window as the user last sized it
        self._fullscreen = not self._fullscreen
        self.surface = self._open()

    def close(self) -> None:
        pygame.display.quit()
        self._window = None  # only after the window is gone (see _sdl_window)
