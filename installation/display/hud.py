"""The operator's overlay: what is running, how fast, and what went wrong.

The app feeds it a `HudInfo` (or a plain dict with the same keys) from whatever
threads own those numbers; the renderer adds its own display fps and screen size.
The HUD is off by default, so states the screen must own up to (no camera, camera
lost, asleep) also get a `Badge` in the corner. Text scales with the screen height and
is drawn with pygame's bundled default font, so it works offline and under the dummy
video driver.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import pygame  # run.py hides its support banner (ENVIRONMENT_DEFAULTS)

from engine.errors import unknown_name
from installation.display.crossfade import ease

LEVEL_COLOURS: dict[str, tuple[int, int, int]] = {
    "info": (235, 235, 235),
    "notice": (255, 214, 90),
    "error": (255, 110, 100),
}

# Text height as a share of the screen height: 24 px on a 1080p projector, readable from
# about 5 m; never below 14 px (a small window stays legible).
FONT_SHARE = 0.022
MIN_FONT_PX = 14
MAX_TEXT_SHARE = 0.7  # a line longer than this share of the screen width is cut with "…"
NOTICE_TTL_S = 10.0  # how long a notice stays on the HUD (the status file keeps the last five)
BADGE_SCALE = 1.25  # the badge is read from across the room, the HUD from the keyboard


def font_size_for(screen_height: int, share: float = FONT_SHARE) -> int:
    """Text size in pixels for a screen `screen_height` pixels tall."""
    return max(MIN_FONT_PX, round(share * screen_height))


@dataclass(frozen=True)
class HudInfo:
    """Everything the HUD can show; every field is optional so partial apps still get a HUD."""

    preset: str = ""
    preset_number: int | None = None  # the key that selects it (its place in the playlist)
    network: str = ""
    backend: str = ""
    backend_reason: str = ""  # why this backend was chosen: the status file's, the HUD does not show it
    placement: str = ""  # where and in what precision the dream runs, e.g. "cuda:0 fp16"
    capture_fps: float | None = None
    dream_fps: float | None = None
    display_fps: float | None = None  # filled in by the renderer
    process_size: tuple[int, int] | None = None
    screen_size: tuple[int, int] | None = None  # filled in by the renderer
    source: str = ""  # e.g. "camera 0", "demo"
    source_health: str = ""  # e.g. "ok", "reconnecting (3)"
    intensity: float | None = None
    frozen: bool = False
    recording: str | None = None  # the file being recorded, e.g. "dreamwall-1200.mp4"; None = not recording
    recording_s: float = 0.0
    recording_dropped: int = 0
    notices: tuple[str, ...] = ()  # the fresh ones, e.g. "reloaded preset melt"
    last_error: str = ""  # e.g. "preset melt.yaml broken: ... (kept last good)"
    badge: str | None = None  # a state the screen must show even with the HUD off, e.g. "no camera"
    qr: tuple[str, ...] = ()  # the web panel's address + token as QR rows of "1"/"0" (only with the HUD on)
    dreamer: str = "gradient"  # what dreams: gradient, or student (the look's one-pass student, said on the HUD)
    student_runs: str = ""  # what runs the student's pass, e.g. "compile (torch bf16)", "torch while compile builds"
    tempo: str = ""  # "128.0 BPM  3/4  link (2 peers)"; empty: no tempo source, the show runs on seconds


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


def fresh_notices(posted: Sequence[tuple[float, str]], now: float, ttl_s: float = NOTICE_TTL_S) -> tuple[str, ...]:
    """The notices (posted at, text) younger than `ttl_s`, oldest first, each text once."""
    return tuple(dict.fromkeys(text for at, text in posted if now - at < ttl_s))


def _fps(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _size(value: tuple[int, int] | None) -> str:
    return "–" if value is None else f"{value[0]}x{value[1]}"


def backend_text(backend: str, placement: str) -> str:
    """"torch · cpu fp32": the choice and where it runs; why it was chosen is in the status file."""
    return " · ".join(part for part in (backend or "–", placement) if part)


class HudLine(NamedTuple):
    label: str  # drawn in its own column, e.g. "fps"
    text: str
    level: str  # a key of LEVEL_COLOURS


def hud_lines(info: HudInfo) -> list[HudLine]:
    """What the HUD says, line by line; pure so its wording is testable."""
    name = info.preset or "–"
    state = [f"{info.preset_number} · {name}" if info.preset_number is not None else name]
    if info.intensity is not None:
        state.append(f"intensity {info.intensity:.2f}")
    if info.frozen:
        state.append("FROZEN")
    fps = f"capture {_fps(info.capture_fps)} · dream {_fps(info.dream_fps)} · display {_fps(info.display_fps)}"
    source = " ".join(part for part in (info.source, info.source_health) if part) or "–"
    network = f"{info.network or '–'} · backend {backend_text(info.backend, info.placement)}"
    if info.dreamer == "student" and info.student_runs:  # the student's runner, not the gradient's backend
        network = f"{info.network or '–'} · {info.placement} · one-pass student, {info.student_runs}"
    elif info.dreamer == "student":
        network += " · one-pass student"
    lines = [
        HudLine("preset", " · ".join(state), "info"),
        HudLine("network", network, "info"),
        HudLine("fps", fps, "info"),
        HudLine("size", f"process {_size(info.process_size)} · screen {_size(info.screen_size)}", "info"),
        HudLine("source", source, "info"),
    ]
    if info.tempo:
        lines.append(HudLine("tempo", info.tempo, "info"))
    if info.badge:
        lines.append(HudLine("state", info.badge, "notice"))
    if info.recording:
        minutes, seconds = divmod(int(info.recording_s), 60)
        dropped = f" · {info.recording_dropped} dropped" if info.recording_dropped else ""
        lines.append(HudLine("REC", f"{info.recording} {minutes:02d}:{seconds:02d}{dropped}", "error"))
    # an error or a state is said once, on its own line, even when it was also posted as a notice
    said = (info.last_error, info.badge)
    lines.extend(HudLine("notice", notice, "notice") for notice in info.notices if notice not in said)
    if info.last_error:
        lines.append(HudLine("error", info.last_error, "error"))
    return lines


class _Fonts:
    """pygame's bundled font (no system fonts needed) at the size the screen height asks for."""

    def __init__(self, font_size: int | None, share: float = FONT_SHARE) -> None:
        pygame.font.init()
        self._fixed = font_size
        self._share = share
        self._cache: dict[int, pygame.font.Font] = {}

    def size_for(self, screen_height: int) -> int:
        return self._fixed if self._fixed is not None else font_size_for(screen_height, self._share)

    def get(self, screen_height: int) -> pygame.font.Font:
        size = self.size_for(screen_height)
        if size not in self._cache:
            self._cache[size] = pygame.font.Font(None, size)
        return self._cache[size]


def _fit_text(font: pygame.font.Font, text: str, max_width: int) -> str:
    """`text`, cut with "…" so it renders at most `max_width` wide (long paths must not cover the art)."""
    if font.size(text)[0] <= max_width:
        return text
    low, high = 0, len(text)
    while low < high:  # longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if font.size(text[:middle] + "…")[0] <= max_width:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "…"


class Hud:
    """Draws the lines on a translucent panel, top-left, sized from the screen height.

    `update` renders the text into a cached panel; the renderer calls it a few times a
    second (a dozen text lines every display tick would cost more than the dream blit,
    and fps numbers that change 60 times a second are unreadable anyway).
    """

    def __init__(self, font_size: int | None = None) -> None:
        self._fonts = _Fonts(font_size)
        self._panel: pygame.Surface | None = None
        self._indicator: tuple[str, int, pygame.Surface] | None = None
        self.font_size = 0  # of the last panel rendered

    def update(self, info: HudInfo, screen_size: tuple[int, int]) -> None:
        """Render `info` into the cached panel for a screen of `screen_size`."""
        self._panel = self._render(hud_lines(info), screen_size)
        if info.qr:
            self._panel = with_qr(self._panel, info.qr, max(3, self.font_size // 4))

    def invalidate(self) -> None:
        self._panel = None

    def _margin(self, screen_height: int) -> int:
        return self._fonts.size_for(screen_height) // 2

    def draw(self, target: pygame.Surface) -> pygame.Rect | None:
        """Blit the cached panel top-left; returns the area covered (None before the first update)."""
        if self._panel is None:
            return None
        margin = self._margin(target.get_height())
        return target.blit(self._panel, (margin, margin))

    def draw_indicator(self, target: pygame.Surface, text: str) -> pygame.Rect:
        """One short red word where the panel would be (e.g. BLACKOUT): tells the operator, hides nothing."""
        height = target.get_height()
        if self._indicator is None or self._indicator[:2] != (text, height):
            font = self._fonts.get(height)
            self._indicator = (text, height, font.render(text, True, LEVEL_COLOURS["error"]))
        margin = self._margin(height)
        return target.blit(self._indicator[2], (margin, margin))

    def _render(self, lines: list[HudLine], screen_size: tuple[int, int]) -> pygame.Surface:
        width, height = screen_size
        font = self._fonts.get(height)
        self.font_size = self._fonts.size_for(height)
        pad, gap = self.font_size // 3, self.font_size // 2
        labels = [font.render(line.label, True, LEVEL_COLOURS[line.level]) for line in lines]
        label_width = max(label.get_width() for label in labels) + gap
        max_text = max(1, round(MAX_TEXT_SHARE * width) - label_width - 2 * pad)
        texts = [font.render(_fit_text(font, line.text, max_text), True, LEVEL_COLOURS[line.level]) for line in lines]
        line_height = font.get_linesize()
        panel_width = label_width + max(text.get_width() for text in texts) + 2 * pad
        panel_height = line_height * len(lines) + 2 * pad
        panel = pygame.Surface((panel_width, panel_height), pygame.SRCALPHA)
        panel.fill((0, 0, 0, 170))
        for row, (label, text) in enumerate(zip(labels, texts, strict=True)):
            y = pad + row * line_height
            panel.blit(label, (pad, y))
            panel.blit(text, (pad + label_width, y))
        return panel


def with_qr(panel: pygame.Surface, rows: tuple[str, ...], module: int) -> pygame.Surface:
    """The panel with a QR code under its lines: black modules on white, a quiet zone of 2 modules."""
    side = (len(rows) + 4) * module
    out = pygame.Surface((max(panel.get_width(), side), panel.get_height() + side), pygame.SRCALPHA)
    out.blit(panel, (0, 0))
    top = panel.get_height()
    out.fill((255, 255, 255, 255), pygame.Rect(0, top, side, side))
    for y, row in enumerate(rows):
        for x, bit in enumerate(row):
            if bit == "1":
                out.fill((0, 0, 0, 255), pygame.Rect((x + 2) * module, top + (y + 2) * module, module, module))
    return out


class Badge:
    """A small corner label for states the screen must own up to with the HUD off.

    "no camera", "camera lost", "asleep by schedule": with the HUD off by default, the
    technician would otherwise see only a dream (or black) and no reason. It stays until
    acknowledged (any key in the window, or the HUD toggle from any control), then fades
    out over `fade_s`; a new state shows again. It sits bottom-right, away from the HUD.
    """

    def __init__(self, now: Callable[[], float] = time.monotonic, fade_s: float = 1.0,
                 font_size: int | None = None) -> None:  # fmt: skip
        self._now = now
        self._fade_s = fade_s
        self._fonts = _Fonts(font_size, FONT_SHARE * BADGE_SCALE)
        self.text: str | None = None
        self._acknowledged_at: float | None = None
        self._surface: tuple[str, int, pygame.Surface] | None = None

    def show(self, text: str | None) -> None:
        """The current state (None: all well); a changed state is unacknowledged again."""
        if text != self.text:
            self.text = text
            self._acknowledged_at = None

    def acknowledge(self) -> None:
        if self.text is not None and self._acknowledged_at is None:
            self._acknowledged_at = self._now()

    def alpha(self) -> int:
        """255 until acknowledged, then down to 0 over the fade (eased); 0 with nothing to say."""
        if self.text is None:
            return 0
        if self._acknowledged_at is None:
            return 255
        if self._fade_s <= 0:
            return 0
        return round(255 * (1.0 - ease((self._now() - self._acknowledged_at) / self._fade_s)))

    @property
    def visible(self) -> bool:
        return self.alpha() > 0

    def draw(self, target: pygame.Surface) -> pygame.Rect | None:
        alpha = self.alpha()
        if alpha <= 0 or self.text is None:
            return None
        width, height = target.get_size()
        if self._surface is None or self._surface[:2] != (self.text, height):
            self._surface = (self.text, height, self._render(self.text, height, width))
        surface = self._surface[2]
        surface.set_alpha(alpha)
        margin = self._fonts.size_for(height) // 2
        return target.blit(surface, (width - surface.get_width() - margin, height - surface.get_height() - margin))

    def _render(self, text: str, height: int, width: int) -> pygame.Surface:
        font = self._fonts.get(height)
        pad = self._fonts.size_for(height) // 3
        label = font.render(_fit_text(font, text, round(MAX_TEXT_SHARE * width)), True, LEVEL_COLOURS["notice"])
        surface = pygame.Surface((label.get_width() + 2 * pad, label.get_height() + 2 * pad), pygame.SRCALPHA)
        surface.fill((0, 0, 0, 190))
        surface.blit(label, (pad, pad))
        return surface
