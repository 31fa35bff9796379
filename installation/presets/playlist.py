"""Playlists: which preset is on screen when, and how far the crossfade into it has got.

A `Playlist` is a frozen value read from presets/playlists/NAME.yaml. A `PlaylistPlayer`
walks it with a clock passed in (every method takes `now`), so tests drive time by
hand and nothing here sleeps or spawns threads. The player is not thread-safe: the
app thread owns it and applies actions (next, previous, select) to it.

Durations and transitions may be musical ('16 bars', '1 beat'): with a tempo source
(`beats`, the show's one clock) an entry lasts that many beats of it, ending on the
beat or bar line nearest where it would end; without one, beats count at 120 BPM.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.beats import DEFAULT_BEATS_PER_BAR, QUANTIZE_MODES, Span, nearest_boundary, parse_span
from engine.errors import DreamwallError, did_you_mean, unknown_name
from installation.common.yamlfile import display_path, read_yaml_mapping, show
from installation.presets.loader import Preset, PresetLibrary, unknown_key
from installation.tempo.clock import BeatState

ORDERS = ("ordered", "shuffled")
PLAYLIST_KEYS = ("description", "order", "seed", "quantize", "entries")
ENTRY_KEYS = ("preset", "duration")
Beats = Callable[[float], BeatState | None]
"""now -> where the beat is (the show's one clock), None without a tempo source."""


@dataclass(frozen=True)
class Entry:
    preset: str
    duration: Span | None = None  # None: the preset's own duration


@dataclass(frozen=True)
class Playlist:
    name: str
    entries: tuple[Entry, ...]
    shuffle: bool = False
    seed: int = 0
    description: str = ""
    quantize: str | None = None  # off | beat | bar for every preset; None: each preset's own

    def __post_init__(self) -> None:
        if not self.entries:
            raise DreamwallError(f"playlist {self.name} has no entries")

    @classmethod
    def of(cls, names: Sequence[str], name: str = "") -> Playlist:
        """A plain ordered playlist, e.g. for `--preset NAME` or every preset in the folder."""
        return cls(name or "+".join(names), tuple(Entry(n) for n in names))

    def order(self, cycle: int) -> tuple[int, ...]:
        """Entry indices for one pass. Shuffled passes are seeded per cycle and never
        start with the entry that ended the previous pass (no back-to-back repeat)."""
        count = len(self.entries)
        if not self.shuffle or count == 1:
            return tuple(range(count))
        indices = list(range(count))
        random.Random(f"{self.seed}:{cycle}").shuffle(indices)
        last_of_previous = self.order(cycle - 1)[-1] if cycle > 0 else None
        if indices[0] == last_of_previous:
            indices[0], indices[-1] = indices[-1], indices[0]
        return tuple(indices)

    def names(self) -> list[str]:
        """Preset names in listed order, without repeats."""
        return list(dict.fromkeys(e.preset for e in self.entries))


def crossfade_weight(elapsed: float, transition: float) -> float:
    """Weight of the incoming preset `elapsed` seconds into a `transition`-second crossfade.

    0 at the start, 1 when done, smoothstep between (no visible jolt at either end).
    """
    if transition <= 0 or elapsed >= transition:
        return 1.0
    if elapsed <= 0:
        return 0.0
    x = elapsed / transition
    return x * x * (3.0 - 2.0 * x)


# ---------------------------------------------------------------------------- files


def _duration(value: object, where: str) -> Span:
    return parse_span(value, where, "duration")  # the same rule as a preset's own duration


def _entry(item: object, index: int, shown: str, available: Sequence[str]) -> Entry:
    path = f"entries[{index}]"
    if isinstance(item, str):
        name, duration = item, None
    elif isinstance(item, Mapping):
        for key in item:
            if key not in ENTRY_KEYS:
                raise unknown_key(shown, f"{path}.{key}", [f"{path}.{k}" for k in ENTRY_KEYS])
        if "preset" not in item:
            raise DreamwallError(f"{shown}: key '{path}': needs 'preset: NAME'")
        name = item["preset"]
        duration = _duration(item["duration"], f"{shown}: key '{path}.duration':") if "duration" in item else None
    else:
        raise DreamwallError(
            f"{shown}: key '{path}': must be a preset name or {{preset: NAME, duration: S}}, got {show(item)}"
        )
    if not isinstance(name, str) or name not in available:
        hint = did_you_mean(name, available) if isinstance(name, str) else ""
        raise DreamwallError(f"{shown}: key '{path}': unknown preset {show(name)}{hint}")
    return Entry(name, duration)


def load_playlist(path: Path, library: PresetLibrary) -> Playlist:
    """A playlist file, its preset names checked against the library (presets themselves load later)."""
    path = Path(path)
    shown = display_path(path)
    data = read_yaml_mapping(path, "playlist")
    for key in data:
        if key not in PLAYLIST_KEYS:
            raise unknown_key(shown, str(key), PLAYLIST_KEYS)
    order = data.get("order", "ordered")
    if order not in ORDERS:
        raise DreamwallError(f"{shown}: key 'order': must be one of {', '.join(ORDERS)}, got {show(order)}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DreamwallError(f"{shown}: key 'seed': must be a whole number 0 or more, got {show(seed)}")
    quantize = data.get("quantize")
    if quantize is False:
        quantize = "off"  # YAML 1.1 reads a bare off as false
    if quantize is not None and quantize not in QUANTIZE_MODES:
        hint = did_you_mean(quantize, QUANTIZE_MODES) if isinstance(quantize, str) else ""
        raise DreamwallError(f"{shown}: key 'quantize': must be one of {', '.join(QUANTIZE_MODES)}, "
                             f"got {show(quantize)}{hint}")  # fmt: skip
    description = data.get("description", "")
    if not isinstance(description, str):
        raise DreamwallError(f"{shown}: key 'description': must be text, got {show(description)}")
    entries = data.get("entries")
    if not isinstance(entries, list) or not entries:
        raise DreamwallError(f"{shown}: key 'entries': must be a non-empty list of preset names, got {show(entries)}")
    available = library.names()
    parsed = tuple(_entry(item, index, shown, available) for index, item in enumerate(entries))
    return Playlist(path.stem, parsed, order == "shuffled", seed, description, quantize)


def playlists_dir(library: PresetLibrary) -> Path:
    return library.directory / "playlists"


def playlist_names(library: PresetLibrary) -> list[str]:
    return sorted(p.stem for p in playlists_dir(library).glob("*.yaml") if not p.name.startswith("."))


def load_named_playlist(name: str, library: PresetLibrary) -> Playlist:
    path = playlists_dir(library) / f"{name}.yaml"
    if not path.is_file():
        raise unknown_name("playlist", name, playlist_names(library))
    return load_playlist(path, library)


# ---------------------------------------------------------------------------- playing


@dataclass(frozen=True)
class Blend:
    """What the renderer shows at one moment: `weight` of current over previous."""

    current: Preset
    previous: Preset | None
    weight: float


class PlaylistPlayer:
    """Walks a playlist in time: automatic advance after each entry's duration, manual
    next/previous/select, and the crossfade weight into the current preset."""

    def __init__(
        self,
        playlist: Playlist,
        presets: Mapping[str, Preset],
        now: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        auto_advance: bool = True,
        beats: Beats | None = None,
    ) -> None:
        missing = [n for n in playlist.names() if n not in presets]
        if missing:
            raise unknown_name("preset", missing[0], presets)
        self.playlist = playlist
        self._presets = dict(presets)
        self._clock = clock
        self.auto_advance = auto_advance
        self.beats: Beats = beats if beats is not None else _no_tempo
        self._position = 0
        self._previous: Preset | None = None
        self._start(self._now(now))

    def _start(self, moment: float, beat: float | None = None) -> None:
        """The current entry starts at `moment` (at `beat` on the clock, when known); a musical
        transition is turned into seconds at the tempo of this moment."""
        state = self.beats(moment)
        self._started = moment
        self._started_beat = beat if beat is not None else (state.beat_at(moment) if state is not None else None)
        bpm, per_bar = (state.bpm, state.beats_per_bar) if state is not None else (None, DEFAULT_BEATS_PER_BAR)
        self.transition_seconds = min(self.current.transition.seconds(bpm, per_bar),
                                      self.duration_span().seconds(bpm, per_bar))  # fmt: skip

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else now

    def _entry_at(self, position: int) -> Entry:
        count = len(self.playlist.entries)
        cycle, offset = divmod(position, count)
        return self.playlist.entries[self.playlist.order(cycle)[offset]]

    @property
    def entry(self) -> Entry:
        return self._entry_at(self._position)

    @property
    def current(self) -> Preset:
        return self._presets[self.entry.preset]

    @property
    def number(self) -> int:
        """1-based number of the current entry in the playlist as listed (what key N selects)."""
        return self.playlist.entries.index(self.entry) + 1

    def duration_span(self) -> Span:
        return self.entry.duration if self.entry.duration is not None else self.current.duration

    def duration(self, now: float | None = None) -> float:
        """The current entry's time on screen in seconds, at the tempo of `now`."""
        state = self.beats(self._now(now))
        if state is None:
            return self.duration_span().seconds()
        return self.duration_span().seconds(state.bpm, state.beats_per_bar)

    @property
    def quantize(self) -> str:
        """How a change asked by a control waits: the playlist's rule, else the preset on screen's."""
        return self.playlist.quantize or self.current.quantize

    def _go(self, position: int, now: float | None, beat: float | None = None) -> Preset:
        self._previous = self.current
        self._position = position
        self._start(self._now(now), beat)
        return self.current

    def next(self, now: float | None = None) -> Preset:
        return self._go(self._position + 1, now)

    def previous(self, now: float | None = None) -> Preset:
        return self._go(self._position - 1, now)

    def select(self, number: int, now: float | None = None) -> Preset:
        """Entry `number` (1-based, as listed); shuffled playback continues from there."""
        count = len(self.playlist.entries)
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= count:
            raise DreamwallError(f"preset number must be between 1 and {count}, got {show(number)}")
        cycle = self._position // count
        return self._go(cycle * count + self.playlist.order(cycle).index(number - 1), now)

    def select_name(self, name: str, now: float | None = None) -> Preset:
        names = [e.preset for e in self.playlist.entries]
        if name not in names:
            raise unknown_name(f"preset in playlist {self.playlist.name}", name, names)
        return self.select(names.index(name) + 1, now)

    def update(self, now: float | None = None) -> bool:
        """Advance past entries whose time is up; True when the preset changed.

        Time carries over (a late call does not stretch the schedule); after a long
        pause (e.g. the machine slept) it moves on by one entry, not through many.
        """
        if not self.auto_advance:
            return False
        moment = self._now(now)
        span, state = self.duration_span(), self.beats(moment)
        if span.musical and state is not None and self._started_beat is not None:
            return self._update_on_beats(span, state, moment, self._started_beat)
        elapsed = moment - self._started
        duration = span.seconds(state.bpm if state is not None else None)
        if elapsed < duration:
            return False
        start = self._started + duration if elapsed < 2 * duration else moment
        self._go(self._position + 1, start)
        return True

    def _update_on_beats(self, span: Span, state: BeatState, moment: float, started: float) -> bool:
        """An entry of N beats or bars ends N of them after the beat (bar) line nearest its start."""
        grid = float(state.beats_per_bar) if span.unit == "bars" else 1.0
        length = span.beats(state.beats_per_bar)
        end = nearest_boundary(started, grid) + length
        beat = state.beat_at(moment)
        if beat < end:
            return False
        if beat - end < length:  # on time, or a tick late: the next entry starts on the line
            self._go(self._position + 1, state.time_of(end), end)
        else:  # a long pause (the machine slept): one entry on, from now
            self._go(self._position + 1, moment)
        return True

    def crossfade(self, now: float | None = None) -> float:
        """Weight of the current preset; 1 when there is nothing to fade from."""
        if self._previous is None:
            return 1.0
        return crossfade_weight(self._now(now) - self._started, self.transition_seconds)

    def blend(self, now: float | None = None) -> Blend:
        moment = self._now(now)
        weight = self.crossfade(moment)
        return Blend(self.current, self._previous if weight < 1.0 else None, weight)

    def replace_preset(self, preset: Preset) -> None:
        """Swap in a new version of a preset (hot reload); timing is kept."""
        if preset.name not in self._presets:
            raise unknown_name("preset", preset.name, self._presets)
        if self._previous is not None and self._previous.name == preset.name:
            self._previous = preset
        self._presets[preset.name] = preset


def _no_tempo(now: float) -> BeatState | None:
    return None
