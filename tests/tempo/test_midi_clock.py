"""MIDI clock from an injected port (the MIDI input's own callback), timed by an injected monotonic clock."""

from __future__ import annotations

import random

import mido
import pytest

from installation.controls.actions import Dispatcher
from installation.controls.bindings import load_bindings
from installation.controls.midi import MidiInput
from installation.tempo.clock import TempoClock
from installation.tempo.midi_clock import PPQN, MidiClock


class Port:
    def __init__(self, callback) -> None:
        self.callback = callback

    def send(self, message: mido.Message) -> None:
        self.callback(message)

    def close(self) -> None:
        pass


class Backend:
    def __init__(self) -> None:
        self.port: Port | None = None

    def get_input_names(self) -> list[str]:
        return ["Drum machine:MIDI 1 24:0"]

    def open_input(self, name: str, callback) -> Port:
        self.port = Port(callback)
        return self.port


class Time:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def rig():
    time = Time()
    midi_clock = MidiClock(clock=time)
    backend = Backend()
    midi = MidiInput(Dispatcher(), load_bindings(), backend=backend, on_clock=midi_clock.feed)
    midi.scan()  # opens the port, as the hot-plug thread would
    yield time, midi_clock, backend.port
    midi.close()


def play(time: Time, port: Port, bpm: float, beats: float, jitter_s: float = 0.0) -> None:
    """Ticks at `bpm` for `beats` from now, each arriving up to `jitter_s` late (USB, the OS scheduler); the
    first is on the beat (after Start, the downbeat), and `now` is left where the next tick is due."""
    spacing = 60.0 / bpm / PPQN
    start, noise = time.now, random.Random(7)
    for tick in range(round(beats * PPQN)):
        time.now = start + tick * spacing + noise.uniform(0.0, jitter_s)
        port.send(mido.Message("clock"))
    time.now = start + round(beats * PPQN) * spacing


@pytest.mark.parametrize("bpm", [120.0, 174.0])
def test_tempo_within_one_percent(rig, bpm):
    time, midi_clock, port = rig
    port.send(mido.Message("start"))
    play(time, port, bpm, beats=4, jitter_s=0.001)
    state = midi_clock.reading(time.now)
    assert state is not None and state.source == "midi" and state.playing
    assert state.bpm == pytest.approx(bpm, rel=0.01)
    assert state.beat == pytest.approx(4.0, abs=1 / PPQN)  # four beats played since Start
    downbeat = midi_clock.reading(time.now + 0.05)  # the glide between ticks stops at the next tick
    assert downbeat.beat == pytest.approx(4.0) and (downbeat.bar, downbeat.beat_in_bar) == (2, 1)


def test_tempo_follows_a_change(rig):
    time, midi_clock, port = rig
    play(time, port, 120.0, beats=4)
    play(time, port, 90.0, beats=2)  # the window is two beats: the new tempo alone
    assert midi_clock.reading(time.now).bpm == pytest.approx(90.0, rel=0.01)


def test_stop_holds_the_beat_continue_resumes_start_restarts(rig):
    time, midi_clock, port = rig
    port.send(mido.Message("start"))
    play(time, port, 120.0, beats=2)
    port.send(mido.Message("stop"))
    held = midi_clock.reading(time.now)
    assert not held.playing
    play(time, port, 120.0, beats=2)  # a stopped drum machine keeps sending clock: the beat stays put
    time.now += 5.0  # and a clock that falls silent after Stop still holds the beat (no fall-back mid-song)
    stopped = midi_clock.reading(time.now)
    assert stopped is not None and not stopped.playing and stopped.beat == pytest.approx(held.beat)
    assert stopped.beat_at(time.now + 10) == stopped.beat  # nothing moves while stopped
    port.send(mido.Message("continue"))
    play(time, port, 120.0, beats=1)
    assert midi_clock.reading(time.now).beat == pytest.approx(held.beat + 1, abs=1 / PPQN)
    port.send(mido.Message("stop"))
    port.send(mido.Message("songpos", pos=32))  # bar 3: 32 sixteenths = 8 beats
    port.send(mido.Message("continue"))
    play(time, port, 120.0, beats=1)
    assert midi_clock.reading(time.now).beat == pytest.approx(9.0, abs=1 / PPQN)
    port.send(mido.Message("start"))
    play(time, port, 120.0, beats=0.5)
    assert midi_clock.reading(time.now).beat == pytest.approx(0.5, abs=1 / PPQN)


def test_a_silent_clock_is_absent_and_the_next_source_leads(rig):
    time, midi_clock, port = rig
    clock = TempoClock([midi_clock], clock=time)
    assert clock.state() is None  # nothing yet: seconds
    play(time, port, 128.0, beats=1)
    assert clock.state().source == "midi"
    clock.set_tempo(100.0, time.now, "osc")
    assert clock.state().source == "midi"  # MIDI clock comes before OSC
    time.now += 2.0  # the cable is pulled: no Stop, no ticks
    assert clock.state().source == "osc" and clock.state().bpm == 100.0


def test_clock_messages_ignore_the_channel_filter_and_never_become_actions(rig):
    _, midi_clock, _ = rig
    dispatcher = Dispatcher()
    midi = MidiInput(dispatcher, load_bindings(), backend=Backend(), on_clock=midi_clock.feed)
    midi.handle(mido.Message("clock"))
    assert dispatcher.drain() == 0
