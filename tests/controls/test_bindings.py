"""The bindings table: shipped defaults match the keyboard spec, validation messages, smoothing."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pytest
import yaml

from engine.errors import DreamwallError
from installation.controls.actions import Action, Dispatcher
from installation.controls.bindings import DEFAULT_BINDINGS, Binding, Smoother, load_bindings, parse_bindings
from installation.testing.clocks import HandClock


@pytest.fixture(scope="module")
def default():
    return load_bindings()


def test_default_keyboard_matches_the_spec(default):
    keys = default.keyboard
    expected = {
        "right": ("next", None), "left": ("previous", None), "space": ("freeze", None), "h": ("hud", None),
        "f": ("fullscreen", None), "+": ("intensity_step", 0.1), "-": ("intensity_step", -0.1),
        "s": ("screenshot", None), "r": ("record", None), "b": ("blackout", None), "q": ("quit", None),
        "escape": ("quit", None),
    } | {str(n): ("select", n) for n in range(1, 10)}
    for key, (kind, value) in expected.items():
        assert (keys[key].kind, keys[key].value) == (kind, value), key
        assert keys[key].source == "keyboard"


@pytest.mark.filterwarnings("ignore:pygame.init")
def test_default_keys_are_real_pygame_key_names(default):
    import pygame

    for name in default.keyboard:
        pygame.key.key_code(name)  # raises ValueError for a name pygame does not know


def test_default_osc_covers_the_documented_addresses(default):
    for name in ("preset", "next", "previous", "intensity", "feedback", "freeze", "hud", "blackout", "record"):
        assert f"/dreamwall/{name}" in default.osc
    assert default.osc["/dreamwall/intensity"].continuous
    assert not default.osc["/dreamwall/next"].continuous


def test_round_trip_through_yaml(default, tmp_path: Path):
    path = default.save(tmp_path / "copy.yaml")
    again = load_bindings(path)
    assert again.keyboard == default.keyboard
    assert again.midi == default.midi
    assert again.osc == default.osc


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "bindings.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


BAD_TABLES = [
    ({"keyboard": {"spce": "freeze"}}, "keyboard.spce: unknown key name 'spce' (did you mean 'space'?)"),
    ({"keyboard": {"h": "hdu"}}, "keyboard.h: unknown action 'hdu' (did you mean 'hud'?)"),
    ({"keybaord": {}}, "keybaord: unknown key 'keybaord' (did you mean 'keyboard'?)"),
    ({"keyboard": {"1": "select"}}, "keyboard.1: action 'select' needs a value here"),
    ({"keyboard": {"h": {"action": "hud", "value": 1}}}, "keyboard.h: action 'hud' takes no value, got 1"),
    ({"keyboard": {"h": {"action": "hud", "valu": 1}}}, "keyboard.h.valu: unknown key 'valu' (did you mean 'value'?)"),
    ({"midi": {"cc": {128: "intensity"}}}, "midi.cc.128: expected a MIDI number 0-127, got 128"),
    ({"midi": {"channel": 17}}, "midi.channel: expected 1-16"),
    ({"midi": {"cc": {1: {"action": "intensity", "range": [0, 2]}}}}, "midi.cc.1.range: expected [LOW, HIGH] within"),
    ({"midi": {"cc": {1: {"action": "feedback", "smoothing": -1}}}}, "midi.cc.1.smoothing: expected seconds between"),
    ({"midi": {"notes": {60: {"action": "next", "range": [0, 1]}}}}, "midi.notes.60: range and smoothing apply only"),
    ({"osc": {"dreamwall/next": "next"}}, "osc.dreamwall/next: an OSC address starts with '/'"),
    (
        {"keyboard": {"+": {"action": "intensity_step", "value": 3}}},
        "keyboard.+: intensity_step value must be a number between -1 and 1, got 3",
    ),
]


@pytest.mark.parametrize(("data", "message"), BAD_TABLES)
def test_validation_names_file_and_key(tmp_path: Path, data, message):
    path = write(tmp_path, data)
    with pytest.raises(DreamwallError) as error:
        load_bindings(path)
    assert str(error.value).startswith(f"{path}: {message}")


def test_key_names_are_case_insensitive_for_letters():
    assert "h" in parse_bindings({"keyboard": {"H": "hud"}}).keyboard


def test_select_without_value_is_allowed_where_the_input_carries_one():
    table = parse_bindings({"osc": {"/p": "select"}, "midi": {"program_change": "select"}})
    assert table.osc["/p"] == Binding("select")
    assert table.midi.program_change.action("midi", 4) == Action("select", 4, "midi")


def test_continuous_binding_scales_onto_its_range():
    binding = parse_bindings({"midi": {"cc": {7: {"action": "feedback", "range": [0.2, 0.6]}}}}).midi.cc[7]
    assert binding.continuous
    for fraction in (0.0, 0.25, 0.5, 1.0):
        assert binding.scaled(fraction) == pytest.approx(0.2 + 0.4 * fraction)
    assert binding.scaled(7.0) == pytest.approx(0.6)  # clamped


def test_with_midi_replaces_only_that_control(default):
    learnt = default.with_midi("cc", 21, Binding("hud"))
    assert learnt.midi.cc[21] == Binding("hud")
    assert 21 not in default.midi.cc  # the original is untouched
    assert learnt.midi.notes == default.midi.notes and learnt.keyboard == default.keyboard


def posted(dispatcher: Dispatcher) -> list[Action]:
    seen: list[Action] = []
    for kind in ("intensity", "feedback"):
        dispatcher.on(kind, seen.append)
    dispatcher.drain()
    return seen


def test_smoother_glides_monotonically_to_the_target():
    dispatcher, clock = Dispatcher(), HandClock(0.0)
    smoother = Smoother(dispatcher, clock)
    binding = Binding("intensity", range=(0.0, 1.0), smoothing=0.2)
    smoother.set(binding, 0.0, "midi")  # first value: nothing to glide from, jumps
    smoother.set(binding, 1.0, "midi")
    while smoother.moving():
        clock.now += 0.02
        smoother.tick()
        assert clock.now < 5, "the glide never settles"
    values = [a.value for a in posted(dispatcher)]
    assert values[0] == 0.0 and values[-1] == 1.0
    assert all(b > a for a, b in itertools.pairwise(values[1:]))  # strictly rising, no overshoot
    assert len(values) > 10  # it really glided instead of jumping
    # Time constant 0.2 s: after 0.2 s about 63 % of the way.
    assert values[10] == pytest.approx(1 - 2.718281828 ** -1, abs=0.02)


def test_without_smoothing_the_value_jumps():
    dispatcher, clock = Dispatcher(), HandClock(0.0)
    smoother = Smoother(dispatcher, clock)
    binding = Binding("feedback", range=(0.0, 0.5))
    smoother.set(binding, 0.2, "osc")
    smoother.set(binding, 1.0, "osc")
    assert not smoother.moving()
    assert [a.value for a in posted(dispatcher)] == [0.1, 0.5]


def test_smoother_thread_settles_and_closes():
    dispatcher = Dispatcher()
    smoother = Smoother(dispatcher, rate=200).start()
    binding = Binding("intensity", range=(0.0, 1.0), smoothing=0.01)
    smoother.set(binding, 0.0, "osc")
    smoother.set(binding, 1.0, "osc")
    for _ in range(200):
        if not smoother.moving():
            break
        threading.Event().wait(0.01)
    smoother.close()
    assert posted(dispatcher)[-1].value == 1.0


def test_default_file_is_where_the_docs_say():
    assert DEFAULT_BINDINGS.parts[-2:] == ("bindings", "default.yaml")
    assert DEFAULT_BINDINGS.is_file()
