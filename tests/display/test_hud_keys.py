"""Keys 1-9 follow the playlist (issue 10 #18): `run.py presets`, the README and the HUD agree."""

import re
from pathlib import Path

import pytest

import run
from installation.commands.presets import key_numbers, numbered
from installation.display.hud import HudInfo, hud_lines
from installation.presets.loader import PresetLibrary
from installation.presets.playlist import Entry, Playlist, load_named_playlist

ROOT = Path(__file__).resolve().parents[2]


def test_key_numbers_are_first_places_in_the_playlist_up_to_nine():
    names = ["b", "a", "b", *[f"x{n}" for n in range(8)]]
    playlist = Playlist("p", tuple(Entry(n) for n in names))
    keys = key_numbers(playlist)
    assert keys["b"] == 1 and keys["a"] == 2 and keys["x5"] == 9 and "x6" not in keys  # 10th entry: no key
    assert numbered(Playlist.of(["melt", "ghost"])) == "1 melt, 2 ghost"


def test_presets_listing_shows_each_presets_key(capsys: pytest.CaptureFixture[str]):
    assert run.main(["presets"]) == 0
    out = capsys.readouterr().out
    playlist = load_named_playlist("default", PresetLibrary())
    for number, entry in enumerate(playlist.entries, start=1):
        assert re.search(rf"^ok +key {number} +{entry.preset}: ", out, flags=re.MULTILINE), entry.preset
    assert f"playlist default (ordered): {numbered(playlist)}" in out


def test_readme_key_table_names_the_default_playlist_keys():
    playlist = load_named_playlist("default", PresetLibrary())
    readme = " ".join((ROOT / "docs" / "performer.md").read_text().split())  # line breaks as spaces
    assert f"the default playlist: {numbered(playlist)}." in readme


def test_hud_shows_the_key_with_the_name():
    assert hud_lines(HudInfo(preset="melt", preset_number=2))[0].text == "2 · melt"
