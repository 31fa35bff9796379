"""Pad lights through an injected output port: the status lights the right pads, only changes are sent,
a vanished port is one notice and a retry with backoff, the section is validated like every key."""

from __future__ import annotations

import dataclasses
import itertools
import logging

import mido
import pytest
import yaml

from engine.errors import DreamwallError
from installation.controls.bindings import DEFAULT_BINDINGS, load_bindings, parse_bindings
from installation.controls.lights import Address, PadLights, parse_lights
from installation.controls.midi_out import MidiOutput
from installation.testing.clocks import HandClock

APC = "APC MINI:APC MINI MIDI 1 28:0"
THROUGH = "Midi Through:Midi Through Port-0 14:0"
SECTION = {
    "port": "apc", "lit": 1, "dark": 0,
    "presets": {1: 56, 2: 57, "ghost": {"note": 58, "lit": 3}},
    "freeze": {"note": 82, "lit": 5},
    "blackout": {"note": 83, "lit": 3, "channel": 2},
    "record": {"cc": 84, "lit": 127},
}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Status:
    preset: str = "default"
    preset_number: int = 1
    frozen: bool = False
    blackout: bool = False
    recording: str | None = None


class FakeOutPort:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[mido.Message] = []
        self.closed = False
        self.broken = False

    def send(self, message: mido.Message) -> None:
        assert not self.closed, "nothing is sent to a closed port"
        if self.broken:
            raise OSError("device unplugged")
        self.sent.append(message)

    def close(self) -> None:
        self.closed = True


class FakeOutBackend:
    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.opened: list[FakeOutPort] = []
        self.listed = 0

    def get_output_names(self) -> list[str]:
        self.listed += 1
        return list(self.names)

    def open_output(self, name: str) -> FakeOutPort:
        self.opened.append(FakeOutPort(name))
        return self.opened[-1]

    @property
    def port(self) -> FakeOutPort:
        return self.opened[-1]


def lights_on(names: list[str], table=None):
    clock, notices, backend = HandClock(), [], FakeOutBackend(names)
    table = table or parse_lights(SECTION, "test")
    output = MidiOutput(table.port, notices.append, backend=backend, clock=clock, rescan_interval=2.0,
                        backoff=(1.0, 8.0))  # fmt: skip
    return PadLights(table, output), backend, clock, notices


def pads(port: FakeOutPort) -> list[tuple]:
    """What the controller received, as (type, channel 1-16, number, value)."""
    out = []
    for m in port.sent:
        number, value = (m.note, m.velocity) if m.type == "note_on" else (m.control, m.value)
        out.append((m.type, m.channel + 1, number, value))
    port.sent.clear()
    return out


def test_the_status_lights_the_pads_and_only_changes_are_sent():
    lights, backend, _clock, _notices = lights_on([THROUGH, APC])
    assert lights.show(Status()) == 6
    port = backend.port
    assert port.name == APC
    assert sorted(pads(port)) == [("control_change", 1, 84, 0), ("note_on", 1, 56, 1), ("note_on", 1, 57, 0),
                                  ("note_on", 1, 58, 0), ("note_on", 1, 82, 0), ("note_on", 2, 83, 0)]
    assert lights.show(Status()) == 0 and pads(port) == []  # an idle show sends nothing
    lights.show(Status(preset="melt", preset_number=2))
    assert pads(port) == [("note_on", 1, 56, 0), ("note_on", 1, 57, 1)]
    lights.show(Status(preset="ghost", preset_number=7, frozen=True, blackout=True, recording="REC a 00:01"))
    assert pads(port) == [("note_on", 1, 57, 0), ("note_on", 1, 58, 3), ("note_on", 1, 82, 5),
                          ("note_on", 2, 83, 3), ("control_change", 1, 84, 127)]
    lights.close()
    assert sorted(pads(port)) == [("control_change", 1, 84, 0), ("note_on", 1, 58, 0), ("note_on", 1, 82, 0),
                                  ("note_on", 2, 83, 0)]  # quitting leaves no pad lit
    assert port.closed


def test_an_unplugged_controller_is_one_notice_then_retries_with_backoff_and_resends_all():
    lights, backend, clock, notices = lights_on([APC])
    lights.show(Status())
    first = backend.port
    pads(first)
    backend.names = [THROUGH]  # unplugged
    clock.now += 1.0
    lights.show(Status(preset_number=2))  # before the rescan: not noticed yet, the send still goes out
    clock.now += 1.5
    lights.show(Status(preset_number=2))
    assert first.closed and notices == [f"MIDI lights: '{APC}' is gone; will retry"]
    listed, tries = backend.listed, [clock.now]  # the loss, when the port list was read
    for _ in range(80):  # 40 s of ticks at 2 per second
        clock.now += 0.5
        before = backend.listed
        lights.show(Status(preset_number=3))
        if backend.listed != before:
            tries.append(clock.now)
    gaps = [round(b - a, 1) for a, b in itertools.pairwise(tries)]
    assert gaps[:3] == [2.0, 4.0, 8.0] and set(gaps[3:]) == {8.0}, gaps  # doubles, then capped
    assert backend.listed - listed == len(tries) - 1 and len(notices) == 1
    backend.names = [THROUGH, APC.replace("28:0", "32:0")]  # back, with a new ALSA client number
    clock.now += 8.0
    lights.show(Status(preset_number=3))
    assert backend.port is not first and backend.port.name.endswith("32:0")
    assert len(pads(backend.port)) == 6  # the pads' state after a replug is unknown: all of them again
    assert notices[-1] == "MIDI lights: reconnected to 'APC MINI:APC MINI MIDI 1 32:0'"


def test_a_failing_send_is_one_notice_and_never_raises():
    lights, backend, clock, notices = lights_on([APC])
    lights.show(Status())
    backend.port.broken = True
    lights.show(Status(frozen=True))
    lights.show(Status(frozen=True, blackout=True))
    assert backend.port.closed and len(notices) == 1 and "sending to" in notices[0]
    clock.now += 1.0
    lights.show(Status(frozen=True))
    assert len(backend.opened) == 2 and len(pads(backend.port)) == 6


def test_no_matching_output_warns_once_and_connects_when_it_appears(caplog):
    caplog.set_level(logging.WARNING)
    lights, backend, clock, notices = lights_on([THROUGH])
    for _ in range(20):
        clock.now += 1.0
        lights.show(Status())
    assert caplog.text.count("no MIDI output matching 'apc'") == 1 and not backend.opened
    backend.names.append(APC)
    clock.now += 8.0
    lights.show(Status())
    assert len(pads(backend.port)) == 6 and notices == []


def test_no_midi_backend_is_one_warning_and_the_lights_stay_dark(caplog):
    caplog.set_level(logging.WARNING)

    def no_alsa():
        raise OSError("MidiOutAlsa::initialize: error creating ALSA sequencer client object.")

    output = MidiOutput("apc", print, backend_factory=no_alsa)
    lights = PadLights(parse_lights(SECTION, "test"), output)
    for _ in range(3):
        assert lights.show(Status()) == 0
    lights.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        "MIDI unavailable: MidiOutAlsa::initialize: error creating ALSA sequencer client object.; "
        "the pad lights stay dark"]


def test_a_reloaded_table_switches_off_the_pads_it_no_longer_uses():
    lights, backend, _clock, _notices = lights_on([APC])
    lights.show(Status(frozen=True))
    pads(backend.port)
    smaller = parse_lights({**SECTION, "freeze": None, "presets": {1: 56, 2: 60}}, "test")
    lights.replace(smaller)
    assert sorted(pads(backend.port)) == [("note_on", 1, 57, 0), ("note_on", 1, 58, 0), ("note_on", 1, 82, 0)]
    lights.show(Status(preset_number=2, frozen=True))
    assert pads(backend.port) == [("note_on", 1, 56, 0), ("note_on", 1, 60, 1)]


def test_the_shipped_bindings_have_the_lights_off_and_a_section_survives_a_rewrite(tmp_path):
    assert load_bindings(DEFAULT_BINDINGS).lights is None
    data = {**load_bindings(DEFAULT_BINDINGS).to_data(), "lights": SECTION}
    table = parse_bindings(data, "test", tmp_path / "b.yaml")
    assert load_bindings(table.save()).lights == table.lights == parse_lights(SECTION, "test")
    assert table.lights is not None and table.lights.presets["ghost"].address == Address("note", 1, 58)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"prests": {}}, "lights.prests: unknown key 'prests' (did you mean 'presets'?)"),
        ({"freeze": {"nte": 3}}, "lights.freeze.nte: unknown key 'nte' (did you mean 'note'?)"),
        ({"freeze": {"note": 200}}, "lights.freeze.note: MIDI note/CC number must be between 0 and 127, got 200"),
        ({"record": {"cc": 1, "lit": 128}}, "lights.record.lit: MIDI velocity/value must be between 0 and 127"),
        ({"channel": 17}, "lights.channel: MIDI channel must be between 1 and 16, got 17"),
        ({"blackout": {"note": 1, "channel": 0}}, "lights.blackout.channel: MIDI channel must be between 1 and 16"),
        ({"lit": "green"}, "lights.lit: expected a whole number 0-127, got 'green'"),
        ({"freeze": {"note": 1, "cc": 1}}, "lights.freeze: a light is either a note or a cc"),
        ({"freeze": {"lit": 3}}, "lights.freeze: a light is either a note or a cc"),
        ({"freeze": 56}, "lights.freeze: note 56 on channel 1 is already the light of lights.presets.1"),
        ({"presets": {0: 1}}, "lights.presets.0: expected a preset number from 1 or a preset name"),
        ({"port": "apc("}, "lights.port: 'apc(' is not a valid regular expression"),
    ],
)
def test_a_bad_section_is_refused_with_the_key_and_the_range(change, message):
    with pytest.raises(DreamwallError) as error:
        parse_lights({**SECTION, **change}, "b.yaml")
    assert str(error.value).startswith(f"b.yaml: {message}"), str(error.value)


def test_controls_follow_a_reloaded_bindings_file(tmp_path, monkeypatch):
    """Hot reload: a new section re-maps the pads; removing the section darkens them."""
    from installation.controls.actions import Dispatcher
    from installation.controls.inputs import Controls, ControlsConfig

    backend = FakeOutBackend([APC])
    monkeypatch.setattr("installation.controls.midi_out.mido_output_backend", lambda: backend)
    path = tmp_path / "b.yaml"
    data = {**load_bindings(DEFAULT_BINDINGS).to_data(), "lights": SECTION}
    notices: list[str] = []
    controls = Controls(ControlsConfig(bindings=parse_bindings(data, "t", path).save(), midi=True), Dispatcher(),
                        notices.append)  # fmt: skip
    controls.start()
    try:
        controls.show(Status(preset_number=2))
        assert ("note_on", 1, 57, 1) in pads(backend.port)
        moved = {**SECTION, "presets": {2: 40}}
        controls.replace_bindings(parse_bindings({**data, "lights": moved}, "t", path))
        controls.show(Status(preset_number=2))
        assert sorted(pads(backend.port)) == [("note_on", 1, 40, 1), ("note_on", 1, 56, 0), ("note_on", 1, 57, 0),
                                              ("note_on", 1, 58, 0)]  # fmt: skip
        controls.replace_bindings(parse_bindings({k: v for k, v in data.items() if k != "lights"}, "t", path))
        assert ("note_on", 1, 40, 0) in pads(backend.port) and controls.lights is None
    finally:
        controls.close()


def test_the_commented_example_in_the_shipped_file_loads_as_written():
    text = DEFAULT_BINDINGS.read_text()
    example = "\n".join(line[2:] for line in text[text.index("# lights:"):].splitlines())
    table = parse_lights(yaml.safe_load(example)["lights"], "example")
    assert table is not None and table.presets[1].address == Address("note", 1, 56) and table.presets[1].lit == 1
    assert set(table.states) == {"freeze", "blackout", "record"}


def test_the_readme_snippet_loads_as_written():
    text = (DEFAULT_BINDINGS.parents[1] / "docs" / "performer.md").read_text()
    part = text[text.index("## Pad lights"):]
    snippet = part[part.index("```yaml") + 7:part.index("```", part.index("```yaml") + 7)]
    table = parse_lights(yaml.safe_load(snippet)["lights"], "README")
    assert table is not None and table.presets["ghost"].lit == 5 and table.port == "APC MINI"


def test_the_real_backend_on_this_machine_fails_soft(caplog):
    """python-rtmidi is installed, this machine may have no ALSA sequencer: one warning at most, no exception."""
    caplog.set_level(logging.WARNING)
    output = MidiOutput("no-such-pad-here", print)
    lights = PadLights(parse_lights(SECTION, "test"), output)
    for _ in range(3):
        assert lights.show(Status()) == 0
    lights.close()
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1


def test_on_and_off_keys_get_a_hint_not_a_riddle():
    """YAML 1.1 reads `on:` as the key true: say so instead of "unknown key 'True'"."""
    with pytest.raises(DreamwallError, match=r"lights.freeze: a key reads as true: YAML takes on/off/yes/no"):
        parse_lights(yaml.safe_load("freeze: {note: 82, on: 5}"), "b.yaml")
