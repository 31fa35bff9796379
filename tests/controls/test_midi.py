"""MIDI through an injected backend and port (no ALSA sequencer here): mapping, hot-plug, learn."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
from pathlib import Path

import mido
import pytest
import yaml

from engine.errors import DreamwallError
from installation import HOME
from installation.controls.actions import ACTION_KINDS, Action, Dispatcher
from installation.controls.bindings import DEFAULT_BINDINGS, Binding, load_bindings
from installation.controls.midi import SEQUENCER, MidiInput


class FakePort:
    def __init__(self, name: str, callback) -> None:
        self.name = name
        self.callback = callback
        self.closed = False

    def feed(self, message: mido.Message) -> None:
        """What rtmidi's thread does when the device sends a message."""
        assert not self.closed, "a closed port delivers nothing"
        self.callback(message)

    def close(self) -> None:
        self.closed = True


class FakeBackend:
    """Stands in for mido.Backend: a list of port names that tests plug and unplug."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.opened: list[FakePort] = []

    def get_input_names(self) -> list[str]:
        return list(self.names)

    def open_input(self, name: str, callback) -> FakePort:
        if name not in self.names:
            raise OSError(f"no port {name}")
        port = FakePort(name, callback)
        self.opened.append(port)
        return port

    @property
    def port(self) -> FakePort:
        return self.opened[-1]


THROUGH = "Midi Through:Midi Through Port-0 14:0"
NANO = "nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0"


class SpySmoother:
    def __init__(self) -> None:
        self.calls = []

    def set(self, binding, fraction, source):
        self.calls.append((binding.kind, round(fraction, 4), source))

    def start(self):
        return self

    def close(self) -> None:
        pass


def actions_of(dispatcher: Dispatcher) -> list[tuple[str, object, str]]:
    seen: list[Action] = []
    for kind in ACTION_KINDS:
        dispatcher.on(kind, seen.append)
    dispatcher.drain()
    return [(a.kind, a.value, a.source) for a in seen]


@pytest.fixture
def table(tmp_path: Path):
    """A private copy of the shipped bindings, so learn can rewrite it."""
    return load_bindings(load_bindings(DEFAULT_BINDINGS).save(tmp_path / "bindings.yaml"))


def make_input(table, names, pattern="nano", **options):
    dispatcher, backend, smoother = Dispatcher(), FakeBackend(names), SpySmoother()
    midi = MidiInput(dispatcher, table, pattern, backend=backend, smoother=smoother, rescan_interval=3600, **options)
    return dispatcher, backend, smoother, midi


def test_notes_cc_and_program_change_become_actions(table):
    dispatcher, backend, smoother, midi = make_input(table, [THROUGH, NANO])
    midi.start()
    try:
        assert midi.connected == NANO
        port = backend.port
        port.feed(mido.Message("note_on", note=60, velocity=100))
        port.feed(mido.Message("note_on", note=60, velocity=0))  # a note-off in disguise: nothing
        port.feed(mido.Message("note_off", note=60))
        port.feed(mido.Message("note_on", note=59, velocity=1))
        port.feed(mido.Message("program_change", program=4))
        port.feed(mido.Message("control_change", control=1, value=127))
        port.feed(mido.Message("control_change", control=7, value=0))
        port.feed(mido.Message("control_change", control=99, value=10))  # unbound
        port.feed(mido.Message("pitchwheel", pitch=100))  # not a control we map
    finally:
        midi.close()
    assert actions_of(dispatcher) == [("next", None, "midi"), ("previous", None, "midi"), ("select", 5, "midi")]
    assert smoother.calls == [("intensity", 1.0, "midi"), ("feedback", 0.0, "midi")]


def test_cc_trigger_fires_once_per_press(table):
    """The sustain pedal (CC 64 -> freeze) sends a stream of values; only rising past 64 counts."""
    dispatcher, backend, _smoother, midi = make_input(table, [NANO])
    midi.start()
    for value in (0, 30, 64, 100, 127, 90, 10, 0, 127):
        backend.port.feed(mido.Message("control_change", control=64, value=value))
    midi.close()
    assert actions_of(dispatcher) == [("freeze", None, "midi"), ("freeze", None, "midi")]


def test_channel_filter(tmp_path: Path):
    table = load_bindings(DEFAULT_BINDINGS)
    path = tmp_path / "ch.yaml"
    data = table.to_data()
    data["midi"]["channel"] = 2
    path.write_text(yaml.safe_dump(data))
    dispatcher, backend, _smoother, midi = make_input(load_bindings(path), [NANO])
    midi.start()
    backend.port.feed(mido.Message("note_on", note=60, velocity=90, channel=0))  # channel 1: ignored
    backend.port.feed(mido.Message("note_on", note=60, velocity=90, channel=1))  # channel 2
    midi.close()
    assert actions_of(dispatcher) == [("next", None, "midi")]


def test_hot_plug_the_mapping_resumes(table, caplog):
    caplog.set_level(logging.INFO, logger="installation.controls.midi")
    dispatcher, backend, _smoother, midi = make_input(table, [THROUGH, NANO])
    midi.start()
    first = backend.port
    first.feed(mido.Message("note_on", note=60, velocity=90))
    backend.names = [THROUGH]  # unplugged
    midi.scan()
    assert midi.connected is None and first.closed
    midi.scan()  # still gone: no second warning
    backend.names = [THROUGH, NANO.replace("20:0", "24:0")]  # back, with a new ALSA client number
    midi.scan()
    assert midi.connected == NANO.replace("20:0", "24:0")
    backend.port.feed(mido.Message("note_on", note=59, velocity=90))
    midi.close()
    assert backend.port.closed
    assert actions_of(dispatcher) == [("next", None, "midi"), ("previous", None, "midi")]
    assert caplog.text.count("disconnected") == 1
    assert "reconnected to" in caplog.text


def test_no_device_warns_once_and_connects_when_it_appears(table, caplog):
    caplog.set_level(logging.WARNING, logger="installation.controls.midi")
    dispatcher, backend, _smoother, midi = make_input(table, [THROUGH])
    midi.start()
    for _ in range(5):
        midi.scan()
    assert midi.connected is None
    assert caplog.text.count("no MIDI input matching 'nano'") == 1
    backend.names.append(NANO)
    midi.scan()
    backend.port.feed(mido.Message("note_on", note=60, velocity=90))
    midi.close()
    assert actions_of(dispatcher) == [("next", None, "midi")]


def test_without_pattern_the_first_real_port_is_used(table):
    _dispatcher, _backend, _smoother, midi = make_input(table, [THROUGH, NANO, "Other:Other 30:0"], pattern=None)
    midi.start()
    assert midi.connected == NANO
    midi.close()


def test_no_backend_is_one_warning_and_the_show_runs_on(table, caplog):
    caplog.set_level(logging.WARNING, logger="installation.controls.midi")

    def no_alsa():
        raise OSError("MidiInAlsa::initialize: error creating ALSA sequencer client object.")

    midi = MidiInput(Dispatcher(), table, "nano", backend_factory=no_alsa, smoother=SpySmoother())
    assert midi.start() is midi
    midi.scan()
    midi.close()
    midi.close()  # idempotent
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "running without MIDI" in warnings[0].getMessage()


def test_the_real_backend_on_this_machine_fails_soft(table, caplog):
    """python-rtmidi is installed but there is no ALSA sequencer here: one warning, no exception."""
    caplog.set_level(logging.WARNING, logger="installation.controls.midi")
    midi = MidiInput(Dispatcher(), table, "no-such-device-here", smoother=SpySmoother()).start()
    midi.close()
    assert midi.connected is None
    # Either "MIDI unavailable" (no sequencer) or "no MIDI input matching" (no device): once.
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1


def test_bad_pattern_is_a_user_error(table):
    with pytest.raises(DreamwallError, match=r"MIDI device pattern 'nano\(' is not a valid regular expression"):
        MidiInput(Dispatcher(), table, "nano(")


def test_learn_binds_the_next_control_and_rewrites_the_file(table):
    learnt = []
    dispatcher, backend, _smoother, midi = make_input(table, [NANO], on_learned=lambda *args: learnt.append(args))
    midi.start()
    port = backend.port
    midi.learn(Action("hud", source="keyboard"))
    assert midi.learning == Action("hud", source="keyboard")
    port.feed(mido.Message("control_change", control=21, value=127))  # consumed by learning
    assert midi.learning is None
    port.feed(mido.Message("control_change", control=21, value=0))
    port.feed(mido.Message("control_change", control=21, value=127))  # now it toggles the HUD
    midi.learn(Action("intensity_step", 0.1, source="keyboard"))
    port.feed(mido.Message("control_change", control=22, value=5))
    midi.learn(Action("select", 4, source="keyboard"))
    port.feed(mido.Message("note_on", note=40, velocity=80))
    port.feed(mido.Message("note_on", note=40, velocity=80))
    midi.close()
    assert actions_of(dispatcher) == [("hud", None, "midi"), ("select", 4, "midi")]
    assert [args[:2] for args in learnt] == [("cc", 21), ("cc", 22), ("note", 40)]
    # The file on disk now holds the learnt bindings, alongside everything that was there.
    reloaded = load_bindings(table.path)
    assert reloaded.midi.cc[21] == Binding("hud")
    assert reloaded.midi.cc[22].kind == "intensity" and reloaded.midi.cc[22].continuous
    assert reloaded.midi.notes[40] == Binding("select", 4)
    assert reloaded.keyboard == table.keyboard and reloaded.osc == table.osc
    assert reloaded.midi.cc[1] == table.midi.cc[1]
    assert not [p for p in table.path.parent.iterdir() if p.name.startswith(".")]  # no temp files left


def test_learn_keeps_working_when_the_file_cannot_be_written(table, tmp_path: Path, caplog):
    blocked = tmp_path / "blocked"
    blocked.mkdir()  # a directory where the file should be: the rename fails, even for root
    table = dataclasses.replace(table, path=blocked)
    dispatcher, backend, _smoother, midi = make_input(table, [NANO])
    midi.start()
    midi.learn(Action("blackout", source="keyboard"))
    backend.port.feed(mido.Message("note_on", note=30, velocity=80))
    backend.port.feed(mido.Message("note_on", note=30, velocity=80))
    midi.close()
    assert actions_of(dispatcher) == [("blackout", None, "midi")]
    assert "could not be saved" in caplog.text
    assert midi.bindings.midi.notes[30] == Binding("blackout")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left behind
    assert not list(blocked.iterdir())


def test_learn_keeps_the_lights_section_when_it_rewrites_the_file(tmp_path: Path):
    data = load_bindings(DEFAULT_BINDINGS).to_data()
    data["lights"] = {"port": "apc", "lit": 1, "presets": {1: 56, "ghost": {"cc": 20, "lit": 3}}, "freeze": 82}
    path = tmp_path / "with-lights.yaml"
    path.write_text(yaml.safe_dump(data))
    table = load_bindings(path)
    _dispatcher, backend, _smoother, midi = make_input(table, [NANO])
    midi.start()
    midi.learn(Action("blackout", source="keyboard"))
    backend.port.feed(mido.Message("note_on", note=30, velocity=80))
    midi.close()
    reloaded = load_bindings(path)
    assert reloaded.midi.notes[30] == Binding("blackout")
    assert reloaded.lights == table.lights and reloaded.lights is not None
    assert reloaded.lights.presets["ghost"].lit == 3 and reloaded.lights.states["freeze"].address.number == 82


@pytest.mark.skipif(SEQUENCER.exists(), reason="this machine has an ALSA sequencer")
def test_a_show_without_a_sequencer_says_so_once_in_our_words(tmp_path):
    """libasound wrote its own "ALSA lib seq_hw.c:... open /dev/snd/seq failed" line on every live start."""
    result = subprocess.run([sys.executable, "run.py", "live", "--source", "demo", "--headless", "--frames", "1",
                             "--out", str(tmp_path / "clip.mp4")], cwd=HOME, capture_output=True, text=True,
                            timeout=180, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ALSA lib" not in result.stderr and "MidiInAlsa" not in result.stderr
    said = [line for line in result.stderr.splitlines() if "MIDI" in line]
    assert len(said) == 1 and said[0].endswith(
        "MIDI unavailable: this machine has no ALSA MIDI sequencer (/dev/snd/seq is missing: no sound hardware, "
        "or the snd-seq kernel module is not loaded); running without MIDI control"), said
