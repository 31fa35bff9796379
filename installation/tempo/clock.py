"""Time in a show comes from one clock: the first present of Link, MIDI clock, OSC/tap and a set tempo.

Each source answers `reading(now)` with a frozen BeatState (or None while it is absent);
the TempoClock asks them in order once per tick and keeps the answer for the status
readers. Every time is the monotonic clock the app injects (tests drive it by hand);
a state carries the moment it was read, so a consumer extrapolates to its own `now`.
Without any source the show runs on seconds, as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from engine.beats import DEFAULT_BEATS_PER_BAR, check_tempo, nearest_boundary
from installation.tempo.tap import TapTempo

log = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass(frozen=True)
class BeatState:
    """Where the beat is at `at` (monotonic seconds): a frozen reading, safe to hand between threads."""

    bpm: float
    beat: float  # beats since the timeline's origin (Link's timeline, the song position, the first tap)
    beats_per_bar: int
    playing: bool  # False: the transport stopped, the beat holds still
    source: str  # link | midi | osc | tap | manual
    at: float
    peers: int | None = None  # Link: the other peers in the session

    @property
    def phase(self) -> float:
        """0-1 within the current beat."""
        return self.beat % 1.0

    @property
    def bar_phase(self) -> float:
        """0-1 within the current bar."""
        return (self.beat % self.beats_per_bar) / self.beats_per_bar

    @property
    def beat_in_bar(self) -> int:
        """1-based, as a musician counts."""
        return int(self.beat % self.beats_per_bar) + 1

    @property
    def bar(self) -> int:
        return int(self.beat // self.beats_per_bar) + 1

    def beat_at(self, now: float) -> float:
        """The beat at `now`, extrapolated at this tempo (held still while stopped)."""
        return self.beat + (now - self.at) * self.bpm / 60.0 if self.playing else self.beat

    def time_of(self, beat: float) -> float:
        """When `beat` falls (or fell), at this tempo."""
        return self.at + (beat - self.beat) * 60.0 / self.bpm

    def describe(self) -> str:
        """For the HUD: '128.0 BPM  3/4  link (2 peers)'."""
        source = self.source if self.peers is None else f"{self.source} ({self.peers} peer{'s' * (self.peers != 1)})"
        stopped = "" if self.playing else "  stopped"
        return f"{self.bpm:.1f} BPM  {self.beat_in_bar}/{self.beats_per_bar}  {source}{stopped}"

    def as_json(self) -> dict[str, Any]:
        """The status file's and the panel's `tempo` object."""
        return {"bpm": round(self.bpm, 2), "beat": round(self.beat, 3), "beat_in_bar": self.beat_in_bar,
                "bar": self.bar, "beats_per_bar": self.beats_per_bar, "playing": self.playing,
                "source": self.source, "peers": self.peers}  # fmt: skip


class TempoSource(Protocol):
    name: str

    def reading(self, now: float) -> BeatState | None:
        """The beat now, or None while this source has nothing to say."""
        ...


class Proposer(Protocol):
    """A source that takes a tempo from the show (Link: the whole session follows)."""

    def propose(self, bpm: float) -> None: ...


class ManualTempo:
    """A tempo someone gives by hand: taps (a key, a pad), OSC `/dreamwall/tempo` and `/dreamwall/beat`,
    or `--tempo`. `label` says which one set it last. Thread-safe."""

    name = "manual"

    def __init__(self, beats_per_bar: int = DEFAULT_BEATS_PER_BAR) -> None:
        self.beats_per_bar = beats_per_bar
        self._lock = threading.Lock()
        self._bpm: float | None = None
        self._anchor = (0.0, 0.0)  # (time, beat): the beat at that moment
        self.label = "manual"
        self._taps = {"tap": TapTempo(), "osc": TapTempo()}  # a beat message is a tap from the desk
        self._tapped_beat = 0.0  # the beat the last tap was given: the next tap of its series is one more

    def _beat(self, now: float) -> float:
        if self._bpm is None:
            return 0.0
        at, beat = self._anchor
        return beat + (now - at) * self._bpm / 60.0

    def set_tempo(self, bpm: float, now: float, label: str) -> None:
        """A new tempo from now on; the beat carries on from where it is."""
        check_tempo(bpm)
        with self._lock:
            self._anchor = (now, self._beat(now))
            self._bpm = float(bpm)
            self.label = label

    def tap(self, now: float, label: str = "tap", number: int | None = None) -> float | None:
        """A beat is now (a tap, or `/dreamwall/beat [N]` with N its place in the bar); the tempo once there are
        two taps in a row. The first tap of a series is a downbeat; returns the tempo it set, if any."""
        taps = self._taps[label]
        series_start = taps.add(now)
        bpm = taps.bpm()
        with self._lock:
            beat = self._beat(now)
            if number is not None:
                target = nearest_boundary(beat - (number - 1), self.beats_per_bar) + (number - 1)
            elif series_start:
                target = nearest_boundary(beat, self.beats_per_bar)
            else:
                target = self._tapped_beat + 1.0
            self._anchor, self._tapped_beat = (now, target), target
            if bpm is not None:
                self._bpm = bpm
                self.label = label
            elif self._bpm is not None:
                self.label = label
        return bpm

    def reading(self, now: float) -> BeatState | None:
        with self._lock:
            if self._bpm is None:
                return None
            return BeatState(self._bpm, self._beat(now), self.beats_per_bar, True, self.label, now)


class TempoClock:
    """The first present source decides; its reading is kept for the status and the panel."""

    def __init__(
        self,
        sources: Sequence[TempoSource],
        manual: ManualTempo | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.manual = manual if manual is not None else ManualTempo()
        self._sources = [*sources, self.manual]
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: BeatState | None = None
        self._source_name: str | None = None

    @property
    def beats_per_bar(self) -> int:
        return self.manual.beats_per_bar

    def state(self, now: float | None = None) -> BeatState | None:
        """Ask the sources in order; None: no tempo anywhere, the show runs on seconds."""
        moment = self._clock() if now is None else now
        found = next((s for s in (source.reading(moment) for source in self._sources) if s is not None), None)
        with self._lock:
            self._latest = found
            name = found.source if found is not None else None
            changed, self._source_name = name != self._source_name, name
        if changed:
            log.info("tempo from %s", found.describe() if found is not None else "nowhere: the show runs on seconds")
        return found

    @property
    def latest(self) -> BeatState | None:
        """The last tick's reading (any thread)."""
        with self._lock:
            return self._latest

    def _propose(self, bpm: float) -> None:
        for source in self._sources:
            propose = getattr(source, "propose", None)
            if propose is not None:
                propose(bpm)

    def set_tempo(self, bpm: float, now: float, label: str = "osc") -> None:
        """`/dreamwall/tempo` (or a key bound to a tempo): Link's session is offered it too."""
        self.manual.set_tempo(bpm, now, label)
        self._propose(bpm)

    def tap(self, now: float, label: str = "tap", number: int | None = None) -> None:
        bpm = self.manual.tap(now, label, number)
        if bpm is not None:
            self._propose(bpm)

    def close(self) -> None:
        for source in self._sources:
            close = getattr(source, "close", None)
            if close is not None:
                close()
