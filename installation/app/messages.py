"""Notices and errors: the log, the status file's last five, the HUD's fresh ones and its red line."""

from __future__ import annotations

import logging
from collections.abc import Callable

from installation.display.hud import fresh_notices

log = logging.getLogger("installation.app.app")  # the name operators grep their logs for


class Messages:
    """`current()` is the preset on show: an error line belongs to the preset version it was said for."""

    def __init__(self, clock: Callable[[], float], current: Callable[[], object]) -> None:
        self._clock = clock
        self._current = current
        self.notices: list[str] = []
        self.last_error: str | None = None
        self.errors = 0
        self._posted: tuple[tuple[float, str], ...] = ()  # (posted at, text): the HUD shows the fresh ones
        self._error_preset: object = None

    def notify(self, text: str) -> None:
        self._remember(text)
        self._posted = (*self._posted[-4:], (self._clock(), text))

    def _remember(self, text: str) -> None:
        """The log and the status file's last five notices."""
        log.warning("%s", text)
        self.notices = [*self.notices[-4:], text]

    def report_error(self, text: str) -> None:
        """Not a HUD notice as well: the HUD says an error once, on its red line."""
        self.errors += 1
        self.last_error = text
        self._error_preset = self._current()
        self._remember(text)

    def forget_fixed_error(self) -> None:
        """The red line goes when its preset reloaded fine or another preset is on (the log keeps it)."""
        if self.last_error is not None and self._current() is not self._error_preset:
            self.last_error = None

    def fresh(self) -> tuple[str, ...]:
        """The notices the HUD still shows now."""
        return fresh_notices(self._posted, self._clock())
