"""The dispatcher table: what each Action does to the show, applied on the main thread.

Controls only post Actions (design rule 8); this is the one place they take effect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.errors import DreamwallError
from installation.controls.actions import Action, Dispatcher
from installation.tempo.clock import TempoClock

if TYPE_CHECKING:
    from installation.app.app import App


class Handlers:
    """Gets the app's parts through `app`; why the dream is paused lives in `app.pauses`."""

    def __init__(self, app: App) -> None:
        self._app = app

    def register(self, dispatcher: Dispatcher) -> None:
        app, director, programme = self._app, self._app.director, self._app.programme
        on = dispatcher.on
        on("next", lambda a: director.change_preset(programme.next))
        on("previous", lambda a: director.change_preset(programme.previous))
        on("select", self.select)
        on("intensity", lambda a: self.set_intensity(_number(a)))
        on("intensity_step", lambda a: self.set_intensity(director.intensity + _number(a)))
        on("feedback", lambda a: director.set_overrides(director.overrides.intensity, _number(a)))
        on("freeze", lambda a: self.toggle_freeze())
        on("record", lambda a: app.outputs.record.toggle())
        on("screenshot", lambda a: app.screenshot())
        on("sleep", lambda a: app.sleep())
        on("wake", lambda a: app.wake())
        on("quit", lambda a: app.stop())
        on("learn", lambda a: app.controls.arm_learn())
        on("hud", lambda a: app.renderer and app.renderer.toggle_hud())
        on("fullscreen", lambda a: app.renderer and app.renderer.toggle_fullscreen())
        on("blackout", lambda a: self.toggle_blackout())
        on("tap", lambda a: self.tempo(a, lambda clock, at: clock.tap(at, "tap")))
        on("beat", lambda a: self.tempo(a, lambda clock, at: clock.tap(at, "osc", _beat_number(a))))
        on("tempo", lambda a: self.tempo(a, lambda clock, at: clock.set_tempo(
            _number(a), at, "osc" if a.source == "osc" else "manual")))

    def select(self, action: Action) -> None:
        """By number (a key, MIDI, OSC int) or by name; a wrong one is an error line, not a crash."""
        value, director, programme = action.value, self._app.director, self._app.programme
        try:
            if isinstance(value, (int, float)):
                director.change_preset(lambda now=None: programme.select(int(value), now))
            else:
                director.change_preset(lambda now=None: programme.select_name(str(value), now))
        except DreamwallError as error:
            self._app.messages.report_error(str(error))

    def tempo(self, action: Action, change: Callable[[TempoClock, float], object]) -> None:
        """A tap, a beat or a tempo, timed when the control sent it (a tap applied a tick late is still on
        time); a tempo out of 20-999 BPM is an error line."""
        clock = self._app.tempo
        try:
            change(clock, action.at if action.at is not None else self._app.clock())
        except DreamwallError as error:
            self._app.messages.report_error(str(error))

    def set_intensity(self, value: float) -> None:
        director = self._app.director
        director.set_overrides(value, director.overrides.feedback)

    def toggle_freeze(self) -> None:
        """A performer's freeze; during a blackout or the night it applies once the picture is back."""
        self._app.pauses.toggle("freeze")

    def toggle_blackout(self) -> None:
        """Black screen and a paused dream (no CPU/GPU spent on a picture nobody sees)."""
        app = self._app
        if app.renderer is None:
            return
        on = not app.pauses.holds("blackout")
        app.pauses.set("blackout", on)
        app.renderer.set_blackout(on or app.asleep)  # the night keeps the screen black whatever is toggled


def _number(action: Action) -> float:
    return float(action.value or 0.0)


def _beat_number(action: Action) -> int | None:
    """`/dreamwall/beat 3`: the third beat of the bar; without a number, just a beat."""
    return int(action.value) if isinstance(action.value, (int, float)) and action.value >= 1 else None
