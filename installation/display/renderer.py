"""The pygame window: shows the newest dream, scaled to the screen, at its own frame rate.

The renderer never waits for the engine: each tick it asks an injected `latest()` for
whatever dream is newest and re-uploads only when the sequence number changed, so the
display loop stays smooth however slowly the dream runs. Keys become `Action`s posted
to the dispatcher, looked up in the bindings' keyboard table (bindings/default.yaml unless
the app hands over its live, hot-reloaded one); the app applies them and calls back the
display-only methods here (`toggle_fullscreen`, `toggle_hud`, `set_blackout`,
`screenshot`, `begin_crossfade`, `grab` for the recorder).

All methods must be called from the thread that created the Renderer (SDL's rule).

Upscaling uses cv2.resize (bilinear) on the numpy frame before upload: measured on the
2-core dev machine, 320x180 -> 1920x1080 takes 1.2 ms with cv2.resize vs 5.0 ms with
pygame.transform.smoothscale (640x360: 1.8 vs 4.5 ms). The upload is then converted to
the display's pixel format once, so the per-tick blit is 0.3 ms instead of 0.9 ms.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pygame  # run.py hides its support banner (ENVIRONMENT_DEFAULTS)

from engine.errors import DreamwallError
from engine.framing import Framing, check_fit, framing
from installation.controls.actions import Action, Dispatcher
from installation.controls.keys import default_keys
from installation.display.crossfade import FadeClock
from installation.display.hud import Badge, Hud, HudInfo, as_hud_info
from installation.display.window import DisplayWindow
from installation.outputs.images import write_image

log = logging.getLogger(__name__)

Frame = tuple[int, np.ndarray]  # (sequence number, RGB uint8 HWC)
LatestFn = Callable[[], Frame | None]
HudInfoFn = Callable[[], HudInfo | Mapping[str, object]]

HUD_REFRESH_S = 0.25  # how often the HUD/badge info is fetched and the HUD text re-rendered


def action_for_event(event: pygame.event.Event, keys: Mapping[str, Action]) -> Action | None:
    """The Action a pygame event means under `keys`, or None.

    A key is looked up by pygame.key.name() first, then by the character it typed (so
    shift+'=' still finds '+'), then keypad names without brackets ('[+]' -> '+').
    """
    if event.type == pygame.QUIT:
        return Action("quit", source="window")
    if event.type != pygame.KEYDOWN:
        return None
    name = pygame.key.name(event.key)
    candidates = [name, getattr(event, "unicode", "") or ""]
    if name.startswith("[") and name.endswith("]"):
        candidates.append(name[1:-1])
    for candidate in candidates:
        action = keys.get(candidate) or keys.get(candidate.lower())
        if action is not None:
            return action if action.source else dataclasses.replace(action, source="keyboard")
    return None


def _write_screenshot(path: Path, rgb: np.ndarray, settings: Mapping[str, Any] | None = None) -> Path:
    write_image(path, rgb, settings)
    log.info("screenshot %s", path)
    return path


def _log_failure(future: Future[Path]) -> None:
    error = future.exception()
    if error is not None:
        log.error("screenshot failed: %s", error)


def _check_frame(rgb: np.ndarray) -> None:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"renderer needs RGB uint8 HxWx3 frames, got {rgb.dtype} {rgb.shape}")


class ScreenGrab:
    """A private copy of the composed screen; calling it converts to RGB, on any thread.

    It is a plain software surface owned by nobody else, so the conversion does not
    touch the window (SDL's one-thread rule is about the window and the display).
    """

    def __init__(self, surface: pygame.Surface) -> None:
        self._surface = surface
        self.size: tuple[int, int] = surface.get_size()

    def __call__(self) -> np.ndarray:
        width, height = self.size
        return np.frombuffer(pygame.image.tobytes(self._surface, "RGB"), dtype=np.uint8).reshape(height, width, 3)


class Renderer:
    """Owns the window; `tick()` once per display frame from the app's main loop.

    Fullscreen always uses the chosen display's desktop resolution; `size` is the window
    size when windowed (default 1280x720). `fps=0` disables pacing (tests, benchmarks).
    `keys` is read on every key press, so a table the Controls replace on a reload (their
    `keyboard`) takes effect at once; None: the keyboard table of bindings/default.yaml.
    """

    def __init__(
        self,
        latest: LatestFn,
        dispatcher: Dispatcher,
        *,
        hud_info: HudInfoFn | None = None,
        keys: Mapping[str, Action] | None = None,
        size: tuple[int, int] | None = None,
        windowed: bool = False,
        display: int = 0,
        fit: str = "fill",
        fps: int = 60,
        hud_visible: bool = False,
        title: str = "Dreamwall",
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._latest = latest
        self._dispatcher = dispatcher
        self._hud_info = hud_info
        self._keys = default_keys() if keys is None else keys
        self._fit = check_fit(fit)
        self._fps = fps
        self._now = now
        self._hud_visible = hud_visible
        self._blackout = False
        self._closed = False
        self._window = DisplayWindow(display, size, fullscreen=not windowed, title=title)
        self._clock = pygame.time.Clock()
        self._hud = Hud()
        self._badge = Badge(now=now)
        self._info: HudInfo | None = None
        self._info_at = -float("inf")

        self._seq: int | None = None
        self._frame: np.ndarray | None = None  # the newest dream as received
        self._shown: pygame.Surface | None = None  # that dream scaled to its screen box
        self._shown_key: tuple[object, ...] | None = None
        self._layout = Framing((0, 0, 0, 0), (0, 0, 0, 0))
        self._fade_from: pygame.Surface | None = None
        self._fade: FadeClock | None = None
        self._fade_after_seq: int | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="screenshot")
        self.uploads = 0  # how many dreams were scaled and uploaded (not display ticks)
        self.grabs = 0  # how many times the screen was copied for a recording or screenshot

    # ---- window -------------------------------------------------------------------------

    @property
    def screen_size(self) -> tuple[int, int]:
        return self._window.size

    @property
    def fullscreen(self) -> bool:
        return self._window.fullscreen

    def toggle_fullscreen(self) -> None:
        self._fade_from, self._fade = None, None  # a snapshot of the old screen size would not fit
        self._window.toggle_fullscreen()
        self._shown_key = None

    # ---- display-only state the app toggles ---------------------------------------------

    @property
    def hud_visible(self) -> bool:
        return self._hud_visible

    def toggle_hud(self) -> None:
        """Also acknowledges the badge: whoever toggles the HUD has seen the state."""
        self._hud_visible = not self._hud_visible
        self._hud.invalidate()
        self._badge.acknowledge()
        self._info_at = -float("inf")  # fresh numbers on the next tick, not up to 0.25 s old ones

    @property
    def badge(self) -> Badge:
        return self._badge

    @property
    def blackout(self) -> bool:
        return self._blackout

    def set_blackout(self, on: bool) -> None:
        """Black screen for the audience: no HUD panel over it, only a small BLACKOUT word when the
        HUD is on (the operator must know why it is black) and the badge, if unacknowledged."""
        self._blackout = on

    @property
    def fit(self) -> str:
        """How the dream meets the screen: fill (crop to cover), fit (bars) or stretch (engine.framing)."""
        return self._fit

    def set_fit(self, mode: str) -> None:
        self._fit = check_fit(mode)
        self._shown_key = None

    @property
    def display_fps(self) -> float:
        """Measured display frame rate (pygame's average over the last ten ticks)."""
        return self._clock.get_fps()

    @property
    def work_ms(self) -> int:
        """Milliseconds the last tick worked (events, upload, blit, flip), without its pacing wait."""
        return self._clock.get_rawtime()

    @property
    def shown_seq(self) -> int | None:
        """Sequence number of the dream on screen (None before the first)."""
        return self._seq

    def begin_crossfade(self, duration_s: float) -> None:
        """Blend from what is on screen now to the dreams that follow, over `duration_s`.

        Call when the preset changes. The fade's clock starts with the first dream newer
        than the one on screen, so a slow engine does not spend the transition blending
        the old look with itself.
        """
        if duration_s <= 0 or self._frame is None:
            self._fade_from, self._fade = None, None
            return
        snapshot = pygame.Surface(self.screen_size).convert()
        self._compose(snapshot)
        self._fade_from = snapshot
        self._fade = FadeClock(duration_s, self._now)
        self._fade_after_seq = self._seq

    @property
    def crossfading(self) -> bool:
        return self._fade_from is not None

    # ---- the loop -------------------------------------------------------------------------

    def tick(self) -> None:
        """One display frame: keys -> actions, take the newest dream, draw, flip, pace."""
        for event in pygame.event.get():
            if event.type == pygame.KEYDOWN:
                self._badge.acknowledge()  # any key: someone is at the keyboard and has seen it
            action = action_for_event(event, self._keys)
            if action is not None:
                self._dispatcher.post(action)
        screen = self._window.refresh()
        self._take_latest()
        self._compose(screen)
        self._draw_overlays()
        pygame.display.flip()
        self._clock.tick(self._fps)

    def _take_latest(self) -> None:
        item = self._latest()
        if item is not None and item[0] != self._seq:
            seq, rgb = item
            _check_frame(rgb)
            self._seq, self._frame = seq, rgb
            if self._fade is not None and not self._fade.started and seq != self._fade_after_seq:
                self._fade.start()
        self._ensure_uploaded()

    def _ensure_uploaded(self) -> None:
        """Scale and upload the current dream if it, the screen size or the scale mode changed."""
        if self._frame is None:
            return
        key = (self._seq, self._frame.shape, self.screen_size, self._fit)
        if key != self._shown_key:
            self._upload(self._frame)
            self._shown_key = key

    def _upload(self, rgb: np.ndarray) -> None:
        height, width = rgb.shape[:2]
        self._layout = framing((width, height), self.screen_size, self._fit)
        x, y, w, h = self._layout.crop
        _, _, out_w, out_h = self._layout.dest
        scaled = cv2.resize(rgb[y : y + h, x : x + w], (out_w, out_h), interpolation=cv2.INTER_LINEAR)
        scaled = np.ascontiguousarray(scaled)
        self._shown = pygame.image.frombuffer(scaled.data, (out_w, out_h), "RGB").convert()
        self.uploads += 1

    def _compose(self, target: pygame.Surface) -> None:
        """Draw what the audience sees (no HUD) onto `target`: dream, bars, fade, blackout."""
        target.fill((0, 0, 0))
        if self._blackout or self._shown is None:
            return
        target.blit(self._shown, self._layout.dest[:2])
        if self._fade_from is not None and self._fade is not None:
            if self._fade.done():
                self._fade_from = None
                self._fade = None
                return
            alpha = round(255 * (1.0 - self._fade.weight()))
            # alpha 255 would take pygame's generic blender (measured 40 ms at 1080p vs 3 ms): blit opaque
            self._fade_from.set_alpha(alpha if alpha < 255 else None)
            if alpha > 0:
                target.blit(self._fade_from, (0, 0))

    def _poll_info(self) -> None:
        """Fetch the app's info a few times a second, HUD or not: the badge needs it too."""
        now = self._now()
        resized = self._info is not None and self._info.screen_size != self.screen_size
        if now - self._info_at < HUD_REFRESH_S and not resized:
            return
        info = as_hud_info(self._hud_info()) if self._hud_info is not None else HudInfo()
        fps = self.display_fps or None  # 0 until the clock has a few ticks: show "–"
        self._info = dataclasses.replace(info, display_fps=fps, screen_size=self.screen_size)
        self._info_at = now
        self._badge.show(self._info.badge)
        if self._hud_visible:
            self._hud.update(self._info, self.screen_size)

    def _draw_overlays(self) -> None:
        """HUD panel (not over a blackout: there only the word BLACKOUT), else the corner badge."""
        self._poll_info()
        if self._hud_visible and self._blackout:
            self._hud.draw_indicator(self._window.surface, "BLACKOUT")
        elif self._hud_visible:
            self._hud.draw(self._window.surface)
            return  # the panel has the badge's state on its own line
        self._badge.draw(self._window.surface)

    # ---- outputs ------------------------------------------------------------------------

    def grab(self) -> ScreenGrab:
        """What the audience sees now (no HUD), copied but not yet converted: for the recorder.

        Composing into a copy costs ~1 ms at 1080p; the conversion to RGB (and any
        encode) is left to whoever calls the grab, off the display thread.
        """
        if self._frame is None:
            raise DreamwallError("no dream on screen yet: nothing to capture")
        self._ensure_uploaded()
        canvas = pygame.Surface(self.screen_size).convert()
        self._compose(canvas)
        self.grabs += 1
        return ScreenGrab(canvas)

    def displayed_frame(self) -> np.ndarray:
        """What the audience sees now (dream at screen resolution, bars, fade; no HUD), RGB uint8."""
        return self.grab()()

    def screenshot(self, path: Path, settings: Mapping[str, Any] | None = None) -> Future[Path]:
        """Save the displayed frame (no HUD) to an image file, atomically, off the display thread.

        The pixels are taken now (a few ms); encoding a 1080p PNG takes ~100 ms on the dev
        machine, a visible stutter, so a background thread writes it. The future gives the
        path or the error (also logged), e.g. for a HUD notice. `settings` go inside the PNG.
        """
        rgb = self.displayed_frame()
        future = self._writer.submit(_write_screenshot, Path(path), rgb, settings)
        future.add_done_callback(_log_failure)
        return future

    def close(self) -> None:
        """Finish pending screenshots and close the window; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._writer.shutdown(wait=True)
        self._window.close()

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
