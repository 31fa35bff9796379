"""The dispatcher table: what each Action does to the show, applied on the main thread.

Controls only post Actions (design rule 8); this is the one place they take effect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.errors import DreamwallError
from installation.controls.actions import Action, Dispatcher

if TYPE_CHECKING:
    from installation.app.app import App


class Handlers:
    """Gets the app's parts through `app`; keeps the one piece of state a blackout needs."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._frozen_before_blackout = False

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

    def select(self, action: Action) -> None:
        """By number (a key, MIDI, OSC int) or by name; a wrong one is an error line, not a crash."""
        value, director, programme = action.value, self._app.director, self._app.programme
        try:
            if isinstance(value, (int, float)):
                director.change_preset(lambda: programme.select(int(value)))
            else:
                director.change_preset(lambda: programme.select_name(str(value)))
        except DreamwallError as error:
            self._app.messages.report_error(str(error))

    def set_intensity(self, value: float) -> None:
        director = self._app.director
        director.set_overrides(value, director.overrides.feedback)

    def toggle_freeze(self) -> None:
        """During a blackout the dream is paused anyway: a freeze then applies once the picture is back."""
        app = self._app
        if app.renderer is not None and app.renderer.blackout and not app.asleep:
            self._frozen_before_blackout = not self._frozen_before_blackout
        else:
            app.worker.set_frozen(not app.worker.frozen)

    def toggle_blackout(self) -> None:
        """Black screen and a paused dream (no CPU/GPU spent on a picture nobody sees); a freeze
        set before the blackout is still there after it. Asleep, sleep() owns the freeze."""
        app = self._app
        if app.renderer is None:
            return
        on = not app.renderer.blackout
        app.renderer.set_blackout(on)
        if app.asleep:
            return
        if on:
            self._frozen_before_blackout = app.worker.frozen
            app.worker.set_frozen(True)
        else:
            app.worker.set_frozen(self._frozen_before_blackout)


def _number(action: Action) -> float:
    return float(action.value or 0.0)
