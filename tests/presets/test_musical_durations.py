"""Durations and transitions in beats or bars, quantize and pulse in preset and playlist files."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from engine.beats import Span
from engine.errors import DreamwallError
from installation.commands import live
from installation.presets.loader import PRESETS_DIR, PresetLibrary, display_path, load_preset
from installation.presets.playlist import load_playlist
from installation.presets.snapshot import preset_values


@pytest.fixture
def library(tmp_path) -> PresetLibrary:
    shutil.copytree(PRESETS_DIR, tmp_path / "presets")
    return PresetLibrary(tmp_path / "presets")


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_preset_for_the_band(library):
    path = write(library.directory / "band.yaml", "duration: 16 bars\ntransition: 1 beat\nquantize: bar\n"
                 "pulse: {target: intensity, shape: exp_decay, every: 1 beat, depth: 0.4}\n")  # fmt: skip
    preset = load_preset(path)
    assert (preset.duration, preset.transition, preset.quantize) == (Span(16, "bars"), Span(1, "beats"), "bar")
    assert (preset.pulse.target, preset.pulse.shape, preset.pulse.depth) == ("intensity", "exp_decay", 0.4)
    values = preset_values(preset)  # what a screenshot carries reads back as the same preset
    assert values["duration"] == "16 bars" and values["transition"] == "1 beat"


@pytest.mark.parametrize(("text", "message"), [
    ("duration: 16 barz\n", "key 'duration': unknown unit 'barz' in '16 barz' (did you mean 'bars'?); use seconds, "
                            "beats or bars"),
    ("transition: 2 bars\nduration: 4 beats\n", "key 'transition': must not exceed duration (4 beats), got 2 bars"),
    ("quantize: bars\n", "key 'quantize': must be one of off, beat, bar, got 'bars' (did you mean 'bar'?)"),
    ("pulse: {every: 2 s}\n", "key 'pulse.every': must be in beats or bars, like '1 beat' or '1 bar', got '2 s'"),
    ("pulse: {shape: sin}\n", "key 'pulse.shape': must be one of sine, triangle, saw, square, exp_decay, got 'sin' "
                              "(did you mean 'sine'?)"),
    ("pulse: {target: lr}\n", "key 'pulse.target': must be one of off, intensity, feedback, mix, got 'lr'"),
])  # fmt: skip
def test_bad_musical_keys_are_one_line(library, text, message):
    path = write(library.directory / "band.yaml", text)
    with pytest.raises(DreamwallError) as caught:
        load_preset(path)
    assert str(caught.value) == f"{display_path(path)}: {message}"
    assert "\n" not in str(caught.value)


def test_playlists_take_bars_and_a_quantize_rule(library):
    path = write(library.directory / "playlists" / "gig.yaml",
                 "quantize: beat\nentries:\n  - {preset: melt, duration: 32 bars}\n  - ghost\n")  # fmt: skip
    playlist = load_playlist(path, library)
    assert playlist.quantize == "beat" and playlist.entries[0].duration == Span(32, "bars")
    write(path, "entries:\n  - {preset: melt, duration: 16 barz}\n")
    with pytest.raises(DreamwallError, match=r"key 'entries\[0\].duration': unknown unit 'barz'.*did you mean 'bars'"):
        load_playlist(path, library)


def test_a_tempo_outside_20_to_999_ends_the_start_with_exit_2(capsys):
    parser = argparse.ArgumentParser(prog="run.py live")
    live.configure(parser)
    assert parser.parse_args(["--tempo", "174", "--link"]).tempo == 174.0
    with pytest.raises(SystemExit) as stopped:
        parser.parse_args(["--tempo", "1500"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip().endswith("argument --tempo: tempo must be between 20 and 999, got 1500")
