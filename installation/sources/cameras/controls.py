"""Exposure, gain, white balance and focus through V4L2 controls, and holding what the automatics found.

Auto-exposure and auto white balance pump with the room's light and the dream breathes with
them. uvcvideo refuses a manual value while its automatic is on, so the automatic is turned
off first, then the value written and read back. `lock_after` lets the automatics settle at
start, then holds the values they reached. Kernels before 5.x name the controls differently
(`exposure_auto`, `exposure_absolute`, `white_balance_temperature_auto`): both names are tried.
A control the camera lacks is one notice, never an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from installation.sources.cameras.devices import ControlPort

logger = logging.getLogger(__name__)

AUTO = "auto"
Setting = int | Literal["auto"] | None  # None: leave the camera's own choice


@dataclass(frozen=True)
class Automatic:
    """One adjustable quality: its value control, and the automatic that must be off to write it."""

    setting: str  # the camera: section's key
    value: tuple[str, ...]  # new name first, then the old one
    switch: tuple[str, ...] = ()
    on: int = 1
    off: int = 0
    also_off: tuple[str, ...] = ()  # turned off with the automatic (exposure's frame-rate freedom)


QUALITIES = (
    # auto_exposure is a menu: 1 manual, 3 aperture priority (what UVC cameras call auto)
    Automatic("exposure", ("exposure_time_absolute", "exposure_absolute"), ("auto_exposure", "exposure_auto"),
              on=3, off=1, also_off=("exposure_dynamic_framerate", "exposure_auto_priority")),
    Automatic("gain", ("gain",), ("gain_automatic", "autogain")),
    Automatic("white_balance", ("white_balance_temperature",),
              ("white_balance_automatic", "white_balance_temperature_auto")),
    Automatic("focus", ("focus_absolute",), ("focus_automatic_continuous", "focus_auto")),
)  # fmt: skip


@dataclass(frozen=True)
class ControlSettings:
    """The `camera:` section's controls: "auto", a value (exposure in 100 us units, white balance in kelvin)."""

    exposure: Setting = None
    gain: Setting = None
    white_balance: Setting = None
    focus: Setting = None
    lock_after: float | None = None  # seconds of automatics settling before their values are held

    def wanted(self, quality: Automatic) -> Setting:
        value: Setting = getattr(self, quality.setting)
        return value

    @property
    def empty(self) -> bool:
        return all(self.wanted(q) is None for q in QUALITIES) and self.lock_after is None


def _first(port: ControlPort, names: tuple[str, ...]) -> str | None:
    available = port.names()
    return next((name for name in names if name in available), None)


class ControlWriter:
    """Applies ControlSettings to one open camera; `applied` is what the status shows."""

    def __init__(self, port: ControlPort, camera: str, notify: Callable[[str], None]) -> None:
        self._port = port
        self._camera = camera
        self._notify = notify
        self.applied: dict[str, int | str] = {}

    def apply(self, settings: ControlSettings, held: dict[str, int] | None = None) -> dict[str, int | str]:
        """Each quality asked for (or held by an earlier lock): automatic on, or off and the value written."""
        for quality in QUALITIES:
            wanted = (held or {}).get(quality.setting, settings.wanted(quality))
            if wanted == AUTO:
                self._automatic(quality, on=True)
            elif wanted is not None:
                self._manual(quality, int(wanted))
        return dict(self.applied)

    def lock(self, settings: ControlSettings) -> dict[str, int]:
        """Hold the values the automatics reached: read each, turn its automatic off, write it back."""
        held: dict[str, int] = {}
        for quality in QUALITIES:
            if settings.wanted(quality) not in (None, AUTO) or _first(self._port, quality.switch) is None:
                continue  # a value the settings fix, or nothing automatic to hold
            name = _first(self._port, quality.value)
            if name is None:
                continue
            reached = self._read(name)
            if reached is not None and self._manual(quality, reached):
                held[quality.setting] = int(self.applied[quality.setting])
        if held:
            logger.info("%s: automatics locked at %s", self._camera, held)
        return held

    # -- one quality ---------------------------------------------------------------------------

    def _automatic(self, quality: Automatic, on: bool) -> bool:
        switch = _first(self._port, quality.switch)
        if switch is None:
            if on:
                self._missing(quality, quality.switch, "automatic")
            return not on
        if not self._write(switch, quality.on if on else quality.off):
            return False
        if on:
            self.applied[quality.setting] = AUTO
        else:
            for name in quality.also_off:
                if name in self._port.names():
                    self._write(name, 0)
        return True

    def _manual(self, quality: Automatic, value: int) -> bool:
        name = _first(self._port, quality.value)
        if name is None:
            self._missing(quality, quality.value, "")
            return False
        if not self._automatic(quality, on=False):
            return False
        if not self._write(name, value):
            return False
        got = self._read(name)
        if got is None:
            return False
        if got != value:
            logger.info("%s: %s asked %d, got %d", self._camera, name, value, got)
        self.applied[quality.setting] = got
        return True

    def _missing(self, quality: Automatic, names: tuple[str, ...], what: str) -> None:
        label = f"{what} {quality.setting}".strip().replace("_", " ")
        self._notify(f"{self._camera} has no {label} control ({' / '.join(names)}): left as the camera has it")

    def _write(self, name: str, value: int) -> bool:
        try:
            self._port.set(name, value)
        except (OSError, ValueError, AttributeError) as error:  # refused, out of range, read-only
            self._notify(f"{self._camera}: setting {name} to {value} failed ({error})")
            return False
        return True

    def _read(self, name: str) -> int | None:
        try:
            return self._port.get(name)
        except (OSError, ValueError, AttributeError) as error:
            self._notify(f"{self._camera}: reading {name} failed ({error})")
            return None
