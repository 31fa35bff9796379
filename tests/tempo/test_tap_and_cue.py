"""Tap tempo, OSC tempo and beats, and preset changes quantised to the beat, on an injected clock."""

from __future__ import annotations

import dataclasses

import pytest

from engine.beats import Span, seconds
from engine.errors import DreamwallError
from installation.presets.loader import PRESETS_DIR, load_preset
from installation.presets.playlist import Entry, Playlist, PlaylistPlayer
from installation.tempo.clock import BeatState, ManualTempo, TempoClock
from installation.tempo.cue import CuedChanges


def test_four_taps_give_the_tempo_and_the_first_is_the_downbeat():
    clock = TempoClock([])
    assert clock.state(10.0) is None  # no source: seconds
    for tap in range(4):
        clock.tap(10.0 + tap * 0.5 + (0.004 if tap == 2 else 0.0))  # 120 BPM, one tap a little late
    state = clock.state(11.5)
    assert state.source == "tap" and state.bpm == pytest.approx(120.0, rel=0.01)
    assert state.beat == pytest.approx(3.0) and state.beat_in_bar == 4  # taps 1-2-3-4 from the one
    assert clock.state(12.01).beat_in_bar == 1 and clock.state(12.01).bar == 2


def test_a_pause_starts_a_new_series_and_a_single_tap_only_moves_the_beat():
    manual = ManualTempo()
    for tap in range(4):
        manual.tap(tap * 0.5)
    manual.tap(30.0)  # long after: a new series, the tempo stays, this tap is a downbeat
    state = manual.reading(30.0)
    assert state.bpm == pytest.approx(120.0) and state.beat % 4 == pytest.approx(0.0)
    for tap in range(1, 4):
        manual.tap(30.0 + tap * 0.4)  # 150 BPM now
    assert manual.reading(31.2).bpm == pytest.approx(150.0)


def test_osc_tempo_and_beat_numbers():
    clock = TempoClock([])
    clock.set_tempo(100.0, 5.0, "osc")
    state = clock.state(5.0)
    assert (state.bpm, state.source) == (100.0, "osc")
    clock.tap(7.3, "osc", number=3)  # /dreamwall/beat 3: this moment is the third beat of a bar
    assert clock.state(7.3).beat_in_bar == 3 and clock.state(7.3).phase == pytest.approx(0.0)
    with pytest.raises(DreamwallError, match=r"^tempo must be between 20 and 999, got 1500$"):
        clock.set_tempo(1500.0, 8.0)
    assert clock.state(8.0).bpm == 100.0  # the last good tempo stays


class Time:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def band():
    """A show's clock at 120 BPM from t=0 (beat 0), driven by hand, and a playlist of three presets."""
    time = Time()
    clock = TempoClock([], clock=time)
    clock.set_tempo(120.0, 0.0, "osc")
    base = load_preset(PRESETS_DIR / "default.yaml")
    presets = {name: dataclasses.replace(base, name=name, transition=Span(1, "beats")) for name in "abc"}
    player = PlaylistPlayer(Playlist("p", tuple(Entry(n) for n in "abc")), presets, now=0.0, clock=time,
                            beats=clock.state)  # fmt: skip
    return time, clock, player


@pytest.mark.parametrize(("mode", "asked_at", "lands_at"), [("beat", 0.3, 0.5), ("bar", 0.3, 2.0),
                                                            ("bar", 2.7, 4.0), ("beat", 1.0, 1.0)])  # fmt: skip
def test_a_quantised_change_lands_on_the_line(band, mode, asked_at, lands_at):
    time, clock, player = band
    cued = CuedChanges()
    time.now = asked_at
    cued.ask(player.next, mode, clock.state(), time.now)
    assert cued.seconds_left(clock.state(), time.now) == pytest.approx(lands_at - asked_at)
    time.now = lands_at - 0.004  # a tick just before the line: nothing yet
    assert cued.due(clock.state(), time.now) == ([], None)
    time.now = lands_at + 0.013  # the next tick, 13 ms after the line
    moves, at = cued.due(clock.state(), time.now)
    assert at == pytest.approx(lands_at)
    for move in moves:
        move(at)
    assert player.current.name == "b"
    assert player.beats(at).beat_at(at) % (4 if mode == "bar" else 1) == pytest.approx(0.0, abs=1e-9)
    assert player.transition_seconds == pytest.approx(0.5)  # '1 beat' at 120 BPM
    assert player.crossfade(lands_at + 0.25) == pytest.approx(0.5)  # half-way through the beat, from the line


def test_changes_asked_while_one_waits_join_it(band):
    time, clock, player = band
    cued = CuedChanges()
    time.now = 0.1
    cued.ask(player.next, "bar", clock.state(), time.now)
    time.now = 1.2
    cued.ask(player.next, "bar", clock.state(), time.now)
    time.now = 2.0
    moves, _ = cued.due(clock.state(), time.now)
    for move in moves:
        move(2.0)
    assert player.current.name == "c"


def test_a_cue_without_a_running_clock_goes_at_once():
    cued = CuedChanges()
    state = BeatState(120.0, 0.3, 4, True, "midi", 0.0)
    cued.ask(lambda now: None, "bar", state, 0.0)
    stopped = dataclasses.replace(state, playing=False)
    moves, at = cued.due(stopped, 0.1)
    assert len(moves) == 1 and at is None


def test_durations_in_bars_follow_the_clock_and_fall_back_to_seconds(band):
    _, clock, player = band
    for name in "abc":
        player.replace_preset(dataclasses.replace(player._presets[name], duration=Span(2, "bars")))
    assert player.duration(0.0) == pytest.approx(4.0)  # 2 bars at 120
    assert not player.update(3.99)
    assert player.update(4.01) and player.current.name == "b"
    assert player._started == pytest.approx(4.0)  # the next entry starts on the bar line, not at the tick
    clock.set_tempo(60.0, 5.0, "osc")  # half as fast from beat 10 (t=5): b's end, beat 16, falls at t=11
    assert not player.update(10.95)
    assert player.update(11.05) and player.current.name == "c"
    idle = PlaylistPlayer(Playlist("q", (Entry("a", Span(16, "bars")), Entry("b"))), player._presets, now=0.0)
    assert idle.duration(0.0) == pytest.approx(32.0)  # no clock: 16 bars at 120 BPM
    assert not idle.update(31.9) and idle.update(32.1)
    seconds_only = PlaylistPlayer(Playlist("r", (Entry("a", seconds(3.0)), Entry("b"))), player._presets, now=0.0,
                                  beats=clock.state)  # fmt: skip
    assert seconds_only.update(3.01)  # seconds stay seconds with a clock
