"""The show's clock as `live` asks for it: Link when --link, the MIDI input's clock, OSC and taps, --tempo."""

from __future__ import annotations

import time
from collections.abc import Callable

from engine.beats import NOMINAL_BPM
from installation.tempo.clock import ManualTempo, TempoClock, TempoSource
from installation.tempo.midi_clock import MidiClock


def open_show_clock(link: bool, bpm: float | None, beats_per_bar: int,
                    clock: Callable[[], float] = time.monotonic) -> tuple[TempoClock, MidiClock]:  # fmt: skip
    """The one clock and the MIDI clock the MIDI input feeds. Order: Link, MIDI clock, then OSC/taps/--tempo.
    `bpm` (--tempo) starts the show's own beat, and is what Link proposes if it starts the session."""
    manual = ManualTempo(beats_per_bar)
    if bpm is not None:
        manual.set_tempo(bpm, clock(), "manual")
    midi = MidiClock(clock, beats_per_bar)
    sources: list[TempoSource] = []
    if link:
        from installation.tempo.link import LinkSource  # aalink only when asked for

        sources.append(LinkSource(bpm if bpm is not None else NOMINAL_BPM, beats_per_bar))
    return TempoClock([*sources, midi], manual, clock), midi
