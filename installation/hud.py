"""The operator's overlay: what is running, how fast, and what went wrong.

The app feeds it a `HudInfo` (or a plain dict with the same keys) from whatever
threads own those numbers; the renderer adds its own display fps and screen size.
Text is drawn with pygame's bundled default font, so it works offline and under
the dummy video driver.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # after the env var: no support banner on stdout

from engine.errors import unknown_name

LEVEL_COLOURS: dict[str, tuple[int, int, int]] = {
    "info": (235, 235, 235),
    "notice": (255, 214, 90),
    "error": (255, 110, 100),
}


@dataclass(frozen=True)
class HudInfo:
    """Everything the HUD can show; every field is optional so partial apps still get a HUD."""

    preset: str = ""
    network: str = ""
    backend: str = ""
    backend_reason: str = ""  # why this backend was chosen, e.g. "no CUDA"
    capture_fps: float | None = None
    dream_fps: float | None = None
    display_fps: float | None = None  # filled in by the renderer
    process_size: tuple[int, int] | None = None
    screen_size: tuple[int, int] | None = None  # filled in by the renderer
    source: str = ""  # e.g. "camera 0", "demo"
    source_health: str = ""  # e.g. "ok", "reconnecting (3)"
    intensity: float | None = None
    frozen: bool = False
    recording: str | None = None  # e.g. "out/dreamwall-1200.mp4"; None = not recording
    recording_s: float = 0.0
    notices: tuple[str, ...] = ()  # e.g. "no camera found: showing demo"
    last_error: str = ""  # e.g. "preset melt.yaml broken: ... (kept last good)"


HUD_FIELDS = tuple(f.name for f in dataclasses.fields(HudInfo))


def as_hud_info(value: HudInfo | Mapping[str, object]) -> HudInfo:
    """Accept a HudInfo or a dict; a misspelt key is a bug worth naming, not a silent blank."""
    if isinstance(value, HudInfo):
        return value
    for key in value:
        if key not in HUD_FIELDS:
            raise unknown_name("HUD field", key, HUD_FIELDS)
    fields = dict(value)
    if "notices" in fields:
        fields["notices"] = tuple(fields["notices"])  # type: ignore[arg-type]
    return HudInfo(**fields)  # type: ignore[arg-type]


def _fps(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _size(value: tuple[int, int] | None) -> str:
    return "–" if value is None else f"{value[0]}x{value[1]}"


class HudLine(NamedTuple):
    label: str  # drawn in its own column, e.g. "fps"
    text: str
    level: str  # a key of LEVEL_COLOURS


def hud_lines(info: HudInfo) -> list[HudLine]:
    """What the HUD says, line by line; pure so its wording is testable."""
    state = [info.preset or "–"]
    if info.intensity is not None:
        state.append(f"intensity {info.intensity:.2f}")
    if info.frozen:
        state.append("FROZEN")
    backend = info.backend or "–"
    if info.backend_reason:
        backend += f" ({info.backend_reason})"
    fps = f"capture {_fps(info.capture_fps)} · dream {_fps(info.dream_fps)} · display {_fps(info.display_fps)}"
    source = " ".join(part for part in (info.source, info.source_health) if part) or "–"
    lines = [
        HudLine("preset", " · ".join(state), "info"),
        HudLine("network", f"{info.network or '–'} · backend {backend}", "info"),
        HudLine("fps", fps, "info"),
        HudLine("size", f"process {_size(info.process_size)} · screen {_size(info.screen_size)}", "info"),
        HudLine("source", source, "info"),
    ]
    if info.recording:
        minutes, seconds = divmod(int(info.recording_s), 60)
        lines.append(HudLine("REC", f"{info.recording} {minutes:02d}:{seconds:02d}", "error"))
    lines.extend(HudLine("notice", notice, "notice") for notice in info.notices)
    if info.last_error:
        lines.append(HudLine("error", info.last_error, "error"))
    return lines


class Hud:
    """Draws the lines on a translucent panel; re-renders text at most every `refresh_s`.

    Rendering a dozen text lines every display tick would cost more than the dream
    blit, and fps numbers that change 60 times a second are unreadable anyway.
    """

    def __init__(
        self,
        font_size: int = 20,
        refresh_s: float = 0.25,
        now: Callable[[], float] = time.monotonic,
        margin: int = 12,
    ) -> None:
        pygame.font.init()
        self._font = pygame.font.Font(None, font_size)  # pygame's bundled font: no system fonts needed
        self._refresh_s = refresh_s
        self._now = now
        self._margin = margin
        self._panel: pygame.Surface | None = None
        self._rendered_at = -float("inf")

    def needs_refresh(self) -> bool:
        """True when the caller should fetch fresh info (lets the app's callable run at ~4 Hz)."""
        return self._panel is None or self._now() - self._rendered_at >= self._refresh_s

    def update(self, info: HudInfo) -> None:
        """Render `info` into the cached panel."""
        self._panel = self._render(hud_lines(info))
        self._rendered_at = self._now()

    def invalidate(self) -> None:
        self._panel = None

    def draw(self, target: pygame.Surface) -> pygame.Rect | None:
        """Blit the cached panel top-left; returns the area covered (None before the first update)."""
        if self._panel is None:
            return None
        return target.blit(self._panel, (self._margin, self._margin))

    def _render(self, lines: list[HudLine]) -> pygame.Surface:
        pad, gap = 8, 10
        labels = [self._font.render(line.label, True, LEVEL_COLOURS[line.level]) for line in lines]
        texts = [self._font.render(line.text, True, LEVEL_COLOURS[line.level]) for line in lines]
        label_width = max(label.get_width() for label in labels) + gap
        line_height = self._font.get_linesize()
        width = label_width + max(text.get_width() for text in texts) + 2 * pad
        height = line_height * len(lines) + 2 * pad
        panel = pygame.Surface((width, height), pygame.SRCALPHA)
        panel.fill((0, 0, 0, 170))
        for row, (label, text) in enumerate(zip(labels, texts, strict=True)):
            y = pad + row * line_height
            panel.blit(label, (pad, y))
            panel.blit(text, (pad + label_width, y))
        return panel
