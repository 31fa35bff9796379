"""Playlists: order, shuffling, manual navigation and crossfade timing, driven by an injected clock."""

from __future__ import annotations

import dataclasses
import itertools
import shutil
from pathlib import Path

import pytest

from engine.beats import seconds
from engine.errors import DreamwallError
from installation.presets.loader import PRESETS_DIR, PresetLibrary, display_path
from installation.presets.playlist import (
    Entry,
    Playlist,
    PlaylistPlayer,
    crossfade_weight,
    load_named_playlist,
    load_playlist,
    playlist_names,
)


@pytest.fixture(scope="module")
def presets() -> dict:
    base = PresetLibrary().load("default")
    return {
        name: dataclasses.replace(base, name=name, duration=seconds(duration), transition=seconds(transition))
        for name, duration, transition in [("a", 10.0, 2.0), ("b", 20.0, 4.0), ("c", 5.0, 0.0), ("d", 8.0, 1.0)]
    }


def test_crossfade_weight_runs_from_0_to_1_monotonically() -> None:
    for transition in (0.5, 2.0, 7.0):
        weights = [crossfade_weight(t * transition / 50, transition) for t in range(-5, 60)]
        assert weights[5] == 0.0 and weights[55] == 1.0
        assert all(0.0 <= w <= 1.0 for w in weights)
        assert all(a <= b for a, b in itertools.pairwise(weights))
        assert crossfade_weight(transition / 2, transition) == pytest.approx(0.5)
    assert crossfade_weight(0.0, 0.0) == 1.0


def test_ordered_playback_follows_durations(presets: dict) -> None:
    playlist = Playlist("p", (Entry("a"), Entry("b", seconds(3.0)), Entry("c")))
    player = PlaylistPlayer(playlist, presets, now=100.0)
    seen = [player.current.name]
    for now in [x * 0.5 + 100.0 for x in range(1, 80)]:
        if player.update(now):
            seen.append(player.current.name)
    # a for 10 s, b for its entry's 3 s, c for 5 s: switches at 110, 113, 118, 128, 131, 136
    assert seen == ["a", "b", "c", "a", "b", "c", "a"]


def test_late_updates_keep_the_schedule_and_long_pauses_skip_once(presets: dict) -> None:
    player = PlaylistPlayer(Playlist.of(["a", "b"]), presets, now=0.0)
    assert player.update(10.4)  # a's 10 s ended at 10.0; b starts then, not at 10.4
    assert player.current.name == "b"
    assert not player.update(29.9) and player.update(30.0)
    player = PlaylistPlayer(Playlist.of(["a", "b"]), presets, now=0.0)
    assert player.update(1000.0) and player.current.name == "b"
    assert not player.update(1000.0 + 19.9)


def test_shuffled_cycles_are_seeded_permutations_without_back_to_back_repeats() -> None:
    entries = tuple(Entry(n) for n in "abcd")
    playlist = Playlist("s", entries, shuffle=True, seed=3)
    orders = [playlist.order(cycle) for cycle in range(60)]
    assert all(sorted(order) == [0, 1, 2, 3] for order in orders)
    assert all(a[-1] != b[0] for a, b in itertools.pairwise(orders))
    assert orders == [Playlist("s", entries, shuffle=True, seed=3).order(c) for c in range(60)]
    assert len(set(orders)) > 1
    other = [Playlist("s", entries, shuffle=True, seed=4).order(c) for c in range(60)]
    assert other != orders


def test_next_previous_and_select_wrap_and_fade(presets: dict) -> None:
    player = PlaylistPlayer(Playlist.of(["a", "b", "c"]), presets, now=0.0)
    assert player.crossfade(0.0) == 1.0 and player.blend(0.0).previous is None
    assert player.previous(1.0).name == "c"
    assert player.next(2.0).name == "a"
    assert player.next(3.0).name == "b" and player.number == 2
    blend = player.blend(4.0)  # b's transition is 4 s: 1 s in
    assert blend.previous is not None and blend.previous.name == "a"
    assert 0.0 < blend.weight < 0.5
    assert player.blend(7.0).previous is None and player.crossfade(7.0) == 1.0
    assert player.select(3, 8.0).name == "c" and player.crossfade(8.0) == 1.0  # c has no transition
    assert player.select_name("a", 9.0).name == "a"
    with pytest.raises(DreamwallError, match=r"preset number must be between 1 and 3, got 4"):
        player.select(4)
    with pytest.raises(DreamwallError, match=r"unknown preset in playlist a\+b\+c 'bb' \(did you mean 'b'\?\)"):
        player.select_name("bb")


def test_select_in_a_shuffled_playlist_continues_from_the_chosen_entry(presets: dict) -> None:
    playlist = Playlist("s", tuple(Entry(n) for n in "abcd"), shuffle=True, seed=1)
    player = PlaylistPlayer(playlist, presets, now=0.0)
    for number in (1, 2, 3, 4):
        assert player.select(number, 0.0).name == "abcd"[number - 1]
        order = playlist.order(0)
        position = order.index(number - 1)
        if position + 1 < len(order):
            assert player.next(0.0).name == "abcd"[order[position + 1]]


def test_manual_mode_does_not_advance_and_hot_swaps_keep_timing(presets: dict) -> None:
    player = PlaylistPlayer(Playlist.of(["a", "b"]), presets, now=0.0, auto_advance=False)
    assert not player.update(1000.0) and player.current.name == "a"
    player.auto_advance = True
    player.replace_preset(dataclasses.replace(presets["a"], lr=0.05))
    assert player.current.lr == 0.05
    with pytest.raises(DreamwallError):
        player.replace_preset(dataclasses.replace(presets["a"], name="zz"))


def test_injected_clock_is_used_when_now_is_omitted(presets: dict) -> None:
    time = [0.0]
    player = PlaylistPlayer(Playlist.of(["a", "b"]), presets, clock=lambda: time[0])
    time[0] = 10.0
    assert player.update() and player.current.name == "b"
    time[0] = 11.0
    assert player.crossfade() == pytest.approx(crossfade_weight(1.0, 4.0))


def test_shipped_playlists_load() -> None:
    library = PresetLibrary()
    names = playlist_names(library)
    assert "default" in names
    for name in names:
        playlist = load_named_playlist(name, library)
        PlaylistPlayer(playlist, library.load_all(playlist.names()), now=0.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("entries: [default, mlet]\n", "key 'entries[1]': unknown preset 'mlet' (did you mean 'melt'?)"),
        ("entries:\n  - {preset: melt, duration: 0}\n",
         "key 'entries[0].duration': must be between 1 and 86400, got 0"),
        ("entries:\n  - {preset: melt, durration: 5}\n",
         "unknown key 'entries[0].durration' (did you mean 'entries[0].duration'?)"),
        ("entries: []\n", "key 'entries': must be a non-empty list of preset names, got a list"),
        ("order: random\nentries: [melt]\n", "key 'order': must be one of ordered, shuffled, got 'random'"),
        ("entires: [melt]\n", "unknown key 'entires' (did you mean 'entries'?)"),
    ],
)
def test_broken_playlists_name_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    folder = tmp_path / "presets"
    shutil.copytree(PRESETS_DIR, folder)
    path = folder / "playlists" / "bad.yaml"
    path.write_text(text)
    with pytest.raises(DreamwallError) as caught:
        load_playlist(path, PresetLibrary(folder))
    assert str(caught.value) == f"{display_path(path)}: {expected}"
