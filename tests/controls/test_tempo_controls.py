"""Tap, tempo and beat as Actions: a key, a pad (the bindings file) and OSC, each timed when it was sent."""

from __future__ import annotations

import mido
import pytest
import yaml

from engine.errors import DreamwallError
from installation.controls.actions import Dispatcher
from installation.controls.bindings import load_bindings, parse_bindings
from installation.controls.midi import MidiInput
from installation.controls.osc import OscRouter


class Smoother:
    def set(self, binding, fraction, source) -> None:
        raise AssertionError("tempo controls never glide")


def drained(dispatcher: Dispatcher) -> list:
    actions = []
    dispatcher.on("tap", actions.append)
    dispatcher.on("tempo", actions.append)
    dispatcher.on("beat", actions.append)
    dispatcher.drain()
    return actions


def test_the_shipped_bindings_tap_on_t_a_pad_and_osc():
    bindings = load_bindings()
    assert bindings.keyboard["t"].kind == "tap"
    assert bindings.midi.notes[36].kind == "tap"
    assert {a: b.kind for a, b in bindings.osc.items() if a in ("/dreamwall/tempo", "/dreamwall/beat",
                                                                 "/dreamwall/tap")} == {
        "/dreamwall/tempo": "tempo", "/dreamwall/beat": "beat", "/dreamwall/tap": "tap"}  # fmt: skip


def test_osc_tempo_beat_and_tap_are_stamped_on_arrival():
    dispatcher = Dispatcher()
    router = OscRouter(dispatcher, load_bindings(), Smoother(), clock=lambda: 42.5)  # type: ignore[arg-type]
    router.handle("/dreamwall/tempo", 128.0)
    router.handle("/dreamwall/beat")
    router.handle("/dreamwall/beat", 3)
    router.handle("/dreamwall/tap", 1)
    router.handle("/dreamwall/tap", 0)  # a button's release
    actions = drained(dispatcher)
    assert [(a.kind, a.value, a.at) for a in actions] == [
        ("tempo", 128.0, 42.5), ("beat", None, 42.5), ("beat", 3, 42.5), ("tap", None, 42.5)]  # fmt: skip
    assert router.ignored == 0


@pytest.mark.parametrize("args", [(1500.0,), (19,), ("fast",), ()])
def test_osc_tempo_outside_20_to_999_is_dropped(args, caplog):
    dispatcher = Dispatcher()
    router = OscRouter(dispatcher, load_bindings(), Smoother())  # type: ignore[arg-type]
    router.handle("/dreamwall/tempo", *args)
    assert drained(dispatcher) == [] and router.ignored == 1


def test_a_pad_taps_through_the_bindings_file():
    dispatcher = Dispatcher()
    midi = MidiInput(dispatcher, load_bindings())
    midi.handle(mido.Message("note_on", note=36, velocity=100))
    (tap,) = drained(dispatcher)
    assert tap.kind == "tap" and tap.source == "midi" and tap.at is not None


def test_a_key_bound_to_a_tempo_is_checked(tmp_path):
    good = parse_bindings({"keyboard": {"f5": {"action": "tempo", "value": 174}}})
    assert good.keyboard["f5"].value == 174.0
    with pytest.raises(DreamwallError, match=r"^<bindings>: keyboard.f5: tempo must be between 20 and 999, got 1500$"):
        parse_bindings({"keyboard": {"f5": {"action": "tempo", "value": 1500}}})
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump({"keyboard": {"f5": "tempo"}}))
    with pytest.raises(DreamwallError, match="action 'tempo' needs a value here"):
        load_bindings(path)
