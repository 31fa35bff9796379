"""Musical time as arithmetic: spans in seconds, beats or bars, beat boundaries, and pulse shapes.

Pure: no clock is read here. The show's one clock (installation.tempo) says where the beat
is; this module says what "16 bars", "the next bar" and "a sine swell on each beat" mean
for that position. Without a clock a span in beats counts at NOMINAL_BPM, so a preset
written for the band still runs on seconds in a gallery.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from engine.bounds import BOUNDS
from engine.errors import DreamwallError, check_range, did_you_mean, excerpt, number_text

NOMINAL_BPM = 120.0  # what a beat lasts when no tempo source is present (Ableton Link's own default)
DEFAULT_BEATS_PER_BAR = 4
UNITS = ("seconds", "beats", "bars")
_UNIT_NAMES = {
    "s": "seconds", "sec": "seconds", "secs": "seconds", "second": "seconds", "seconds": "seconds",
    "beat": "beats", "beats": "beats", "bar": "bars", "bars": "bars",
}  # fmt: skip
_SPAN = re.compile(r"^\s*(?P<amount>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)?\s*(?P<unit>[A-Za-z_]+)\s*$")
QUANTIZE_MODES = ("off", "beat", "bar")
SHAPES = ("sine", "triangle", "saw", "square", "exp_decay")
EXP_DECAY_RATE = 5.0  # exp_decay falls to e^-5 (under 1 %) by the next beat: a hit, then quiet


def check_tempo(bpm: float, where: str = "tempo") -> float:
    """A tempo in BPM inside 20-999, else 'tempo must be between 20 and 999, got 1500'."""
    bound = BOUNDS["tempo"]
    if isinstance(bpm, bool) or not isinstance(bpm, (int, float)) or not math.isfinite(bpm):
        raise DreamwallError(f"{where} must be a number of beats per minute between {bound.low:g} and "
                             f"{bound.high:g}, got {excerpt(str(bpm))}")  # fmt: skip
    return check_range(where, float(bpm), bound.low, bound.high)


@dataclass(frozen=True)
class Span:
    """A length of time as written: `amount` of seconds, beats or bars."""

    amount: float
    unit: str = "seconds"

    @property
    def musical(self) -> bool:
        return self.unit != "seconds"

    def beats(self, beats_per_bar: int = DEFAULT_BEATS_PER_BAR, bpm: float = NOMINAL_BPM) -> float:
        """The span in beats (seconds count at `bpm`)."""
        if self.unit == "bars":
            return self.amount * beats_per_bar
        if self.unit == "beats":
            return self.amount
        return self.amount * bpm / 60.0

    def seconds(self, bpm: float | None = None, beats_per_bar: int = DEFAULT_BEATS_PER_BAR) -> float:
        """The span in seconds at `bpm` (None: no clock, beats count at NOMINAL_BPM)."""
        if self.unit == "seconds":
            return self.amount
        return self.beats(beats_per_bar) * 60.0 / (bpm if bpm else NOMINAL_BPM)

    def to_data(self) -> float | str:
        """As a preset file writes it: a plain number for seconds, else '16 bars'."""
        if self.unit == "seconds":
            return self.amount
        name = self.unit[:-1] if self.amount == 1 else self.unit
        return f"{number_text(self.amount)} {name}"

    def __str__(self) -> str:
        return f"{number_text(self.amount)} s" if self.unit == "seconds" else str(self.to_data())


def seconds(amount: float) -> Span:
    return Span(float(amount), "seconds")


def parse_span(value: object, where: str, name: str) -> Span:
    """A duration as a preset or playlist writes it: 60 (seconds), '30 s', '16 bars', '1 beat', 'bar'.

    `name` picks the ranges from engine.bounds: NAME for seconds, NAME_beats for beats and bars
    (a bar counted as 4 beats for the check). Errors start with `where`.
    """
    expected = "a number of seconds or a span like '16 bars' or '1 beat'"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise DreamwallError(f"{where} must be {expected}, got {_shown(value)}")
    if isinstance(value, str):
        match = _SPAN.match(value)
        if match is None:
            raise DreamwallError(f"{where} must be {expected}, got {_shown(value)}")
        word = match["unit"].lower()
        unit = _UNIT_NAMES.get(word)
        if unit is None:
            raise DreamwallError(f"{where} unknown unit '{excerpt(match['unit'])}' in {_shown(value)}"
                                 f"{did_you_mean(word, UNITS)}; use seconds, beats or bars")  # fmt: skip
        amount = float(match["amount"]) if match["amount"] is not None else 1.0
    else:
        amount, unit = float(value), "seconds"
    if unit == "seconds":
        if name not in BOUNDS:
            raise DreamwallError(f"{where} must be in beats or bars, like '1 beat' or '1 bar', got {_shown(value)}")
        bound = BOUNDS[name]
        return Span(check_range(where, amount, bound.low, bound.high), unit)
    bound = BOUNDS[f"{name}_beats"]
    in_beats = amount * (DEFAULT_BEATS_PER_BAR if unit == "bars" else 1)
    if not bound.low <= in_beats <= bound.high:
        raise DreamwallError(f"{where} must be between {bound.low:g} and {bound.high:g} beats, got "
                             f"{_shown(value)}")  # fmt: skip
    return Span(amount, unit)


def _shown(value: object) -> str:
    return f"'{excerpt(value)}'" if isinstance(value, str) else excerpt(str(value))


def exceeds(first: Span, second: Span, beats_per_bar: int = DEFAULT_BEATS_PER_BAR) -> bool:
    """Whether `first` is longer than `second` whatever the tempo (False when that depends on the tempo)."""
    if first.musical != second.musical:
        return False
    if first.musical:
        return first.beats(beats_per_bar) > second.beats(beats_per_bar)
    return first.amount > second.amount


# ---------------------------------------------------------------------------- the beat grid


def unit_beats(mode: str, beats_per_bar: int) -> float:
    """How many beats one quantisation step is: 'beat' -> 1, 'bar' -> beats_per_bar."""
    if mode not in ("beat", "bar"):
        raise DreamwallError(f"quantize must be one of {', '.join(QUANTIZE_MODES)}, got '{excerpt(mode)}'")
    return 1.0 if mode == "beat" else float(beats_per_bar)


def next_boundary(beat: float, every: float, tolerance: float = 1e-6) -> float:
    """The first multiple of `every` at or after `beat` (a request exactly on a boundary lands there)."""
    return math.ceil(beat / every - tolerance) * every


def nearest_boundary(beat: float, every: float) -> float:
    return round(beat / every) * every


# ---------------------------------------------------------------------------- pulse shapes


def shape_value(shape: str, phase: float) -> float:
    """The shape at `phase` (0-1 within one period): 1 on the beat, down to 0 at its lowest."""
    p = phase % 1.0
    if shape == "sine":
        return 0.5 + 0.5 * math.cos(2.0 * math.pi * p)
    if shape == "triangle":
        return 1.0 - 2.0 * min(p, 1.0 - p)
    if shape == "saw":
        return 1.0 - p
    if shape == "square":
        return 1.0 if p < 0.5 else 0.0
    if shape == "exp_decay":
        floor = math.exp(-EXP_DECAY_RATE)
        return (math.exp(-EXP_DECAY_RATE * p) - floor) / (1.0 - floor)
    raise DreamwallError(f"pulse shape must be one of {', '.join(SHAPES)}, got '{excerpt(shape)}'"
                         f"{did_you_mean(shape, SHAPES)}")  # fmt: skip


def pulse_gain(shape: str, phase: float, depth: float) -> float:
    """What the pulsed setting is multiplied by: 1 on the beat, 1 - depth at the shape's lowest."""
    return 1.0 - depth * (1.0 - shape_value(shape, phase))


# ---------------------------------------------------------------------------- tempo from events


def fit_interval(times: Sequence[float]) -> float:
    """Seconds between evenly spaced events (taps, MIDI clock ticks): the least-squares slope of the times
    against their index, which weighs every event instead of only the first and the last."""
    count = len(times)
    if count < 2:
        raise DreamwallError(f"a tempo needs at least two events, got {count}")
    mean_index = (count - 1) / 2.0
    mean_time = sum(times) / count
    covariance = sum((i - mean_index) * (t - mean_time) for i, t in enumerate(times))
    variance = sum((i - mean_index) ** 2 for i in range(count))
    return covariance / variance
