"""The dispatcher table on fakes: each Action reaches the right part, and only that part."""

from types import SimpleNamespace

import pytest

from engine.errors import DreamwallError
from installation.app.handlers import Handlers
from installation.app.pauses import Pauses
from installation.controls.actions import ACTION_KINDS, Action, Dispatcher
from installation.dreaming.looks import Overrides


class Recorded:
    """Stands in for any part: records calls by name."""

    def __init__(self, calls: list, name: str) -> None:
        self._calls, self._name = calls, name

    def __getattr__(self, attribute: str):
        return lambda *args: self._calls.append((f"{self._name}.{attribute}", *args))


class Worker:
    def __init__(self) -> None:
        self.frozen = False

    def set_frozen(self, on: bool) -> None:
        self.frozen = on


class Director:
    def __init__(self, calls: list) -> None:
        self.calls = calls
        self.overrides = Overrides(intensity=None, feedback=0.2)
        self.intensity = 0.5

    def change_preset(self, move) -> None:
        move()
        self.calls.append(("director.change_preset",))

    def set_overrides(self, intensity, feedback) -> None:
        self.calls.append(("director.set_overrides", intensity, feedback))


class Renderer:
    def __init__(self, calls: list) -> None:
        self.calls, self.blackout = calls, False

    def set_blackout(self, on: bool) -> None:
        self.blackout = on

    def toggle_hud(self) -> None:
        self.calls.append(("renderer.toggle_hud",))


class Programme(Recorded):
    def select_name(self, name: str, now=None) -> None:
        self._calls.append(("programme.select_name", name))

    def select(self, number: int, now=None) -> None:
        if number > 8:
            raise DreamwallError(f"preset number must be between 1 and 8, got {number}")
        self._calls.append(("programme.select", number))


@pytest.fixture
def rig():
    calls: list = []
    app = SimpleNamespace(
        director=Director(calls), programme=Programme(calls, "programme"), worker=Worker(), renderer=None,
        asleep=False, outputs=SimpleNamespace(record=Recorded(calls, "record")), controls=Recorded(calls, "controls"),
        messages=Recorded(calls, "messages"), sleep=lambda: calls.append(("app.sleep",)),
        wake=lambda: calls.append(("app.wake",)), stop=lambda: calls.append(("app.stop",)),
        screenshot=lambda: calls.append(("app.screenshot",)),
    )  # fmt: skip
    app.pauses = Pauses(app.worker)
    dispatcher = Dispatcher()
    Handlers(app).register(dispatcher)  # type: ignore[arg-type]

    def press(kind: str, value=None) -> list:
        calls.clear()
        dispatcher.post(Action(kind, value, source="test"))
        dispatcher.drain()
        return list(calls)

    return app, press, dispatcher


def test_every_action_kind_has_a_handler(rig):
    _, _, dispatcher = rig
    assert sorted(dispatcher._handlers) == sorted(ACTION_KINDS)


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("next", None, [("programme.next",), ("director.change_preset",)]),
    ("previous", None, [("programme.previous",), ("director.change_preset",)]),
    ("select", 3, [("programme.select", 3), ("director.change_preset",)]),
    ("select", "ghost", [("programme.select_name", "ghost"), ("director.change_preset",)]),
    ("intensity", 0.8, [("director.set_overrides", 0.8, 0.2)]),
    ("intensity_step", -0.25, [("director.set_overrides", 0.25, 0.2)]),
    ("feedback", 0.7, [("director.set_overrides", None, 0.7)]),
    ("record", None, [("record.toggle",)]),
    ("screenshot", None, [("app.screenshot",)]),
    ("sleep", None, [("app.sleep",)]),
    ("wake", None, [("app.wake",)]),
    ("quit", None, [("app.stop",)]),
    ("learn", None, [("controls.arm_learn",)]),
    ("hud", None, []),  # no window: nothing to toggle
])  # fmt: skip
def test_each_action_reaches_its_part(rig, kind, value, expected):
    _, press, _ = rig
    assert press(kind, value) == expected


def test_a_wrong_preset_number_is_an_error_line(rig):
    _, press, _ = rig
    assert press("select", 42) == [("messages.report_error", "preset number must be between 1 and 8, got 42")]


def test_hud_toggles_when_there_is_a_window(rig):
    app, press, _ = rig
    app.renderer = Renderer([])
    press("hud")
    assert app.renderer.calls == [("renderer.toggle_hud",)]


def test_a_freeze_during_a_blackout_waits_for_the_picture(rig):
    app, press, _ = rig
    app.renderer = Renderer([])
    press("blackout")
    assert app.renderer.blackout and app.worker.frozen
    press("freeze")
    assert app.worker.frozen  # paused anyway; the freeze is remembered
    press("blackout")
    assert not app.renderer.blackout and app.worker.frozen


def test_asleep_a_blackout_keeps_the_screen_black_and_is_remembered_for_the_morning(rig):
    app, press, _ = rig
    app.renderer, app.asleep = Renderer([]), True
    app.pauses.set("asleep", True)
    app.renderer.set_blackout(True)
    press("blackout")  # on
    press("blackout")  # off again: still night
    assert app.renderer.blackout and app.worker.frozen
    press("blackout")  # on, for the morning
    app.asleep = False
    app.pauses.set("asleep", False)
    assert app.worker.frozen  # the blackout asked for at night holds after the wake


def test_a_freeze_toggled_at_night_does_not_wake_the_dream_and_survives_the_wake(rig):
    app, press, _ = rig
    app.pauses.set("asleep", True)
    press("freeze")
    assert app.worker.frozen  # before: the toggle unfroze the worker, which dreamt on all night
    app.pauses.set("asleep", False)
    assert app.worker.frozen  # the performer's freeze holds
    press("freeze")
    assert not app.worker.frozen
