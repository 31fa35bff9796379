"""engine.beats: spans as written, the beat grid and the pulse shapes (pure arithmetic)."""

from __future__ import annotations

import math

import pytest

from engine.beats import (
    SHAPES,
    Span,
    check_tempo,
    exceeds,
    fit_interval,
    next_boundary,
    parse_span,
    pulse_gain,
    shape_value,
)
from engine.errors import DreamwallError


@pytest.mark.parametrize(("written", "span"), [
    (60, Span(60.0)), (2.5, Span(2.5)), ("30 s", Span(30.0)), ("16 bars", Span(16.0, "bars")),
    ("1 beat", Span(1.0, "beats")), ("bar", Span(1.0, "bars")), ("32 Beats", Span(32.0, "beats")),
])  # fmt: skip
def test_spans_as_a_preset_writes_them(written, span):
    assert parse_span(written, "duration:", "duration") == span
    assert parse_span(span.to_data(), "duration:", "duration") == span  # what a snapshot writes reads back


@pytest.mark.parametrize(("written", "message"), [
    ("16 barz", "duration: unknown unit 'barz' in '16 barz' (did you mean 'bars'?); use seconds, beats or bars"),
    ("sixteen", "duration: unknown unit 'sixteen' in 'sixteen'; use seconds, beats or bars"),
    ("16 bars please", "duration: must be a number of seconds or a span like '16 bars' or '1 beat', got "
                       "'16 bars please'"),
    (True, "duration: must be a number of seconds or a span like '16 bars' or '1 beat', got True"),
    (0, "duration must be between 1 and 86400, got 0"),
    ("0.5 beat", "duration: must be between 1 and 100000 beats, got '0.5 beat'"),
])  # fmt: skip
def test_malformed_durations_are_one_line(written, message):
    with pytest.raises(DreamwallError) as caught:
        parse_span(written, "duration:", "duration")
    assert str(caught.value) == message.replace("duration must", "duration: must")


def test_seconds_at_a_tempo_and_without_one():
    assert Span(16, "bars").seconds(120) == pytest.approx(32.0)
    assert Span(16, "bars").seconds(None) == pytest.approx(32.0)  # no clock: 120 BPM
    assert Span(1, "beats").seconds(174) == pytest.approx(60 / 174)
    assert Span(3, "bars").seconds(90, beats_per_bar=3) == pytest.approx(6.0)
    assert Span(4.0).seconds(60) == 4.0
    assert exceeds(Span(2, "bars"), Span(4, "beats")) and not exceeds(Span(1, "bars"), Span(4, "beats"))
    assert not exceeds(Span(10.0), Span(1, "bars"))  # depends on the tempo: not refused


@pytest.mark.parametrize("bpm", [19.9, 1000, float("nan"), "fast"])
def test_tempo_outside_20_to_999_is_refused(bpm):
    with pytest.raises(DreamwallError, match=r"^tempo must be"):
        check_tempo(bpm)
    assert check_tempo(20) == 20 and check_tempo(999) == 999


def test_boundaries():
    assert next_boundary(0.6, 1) == 1 and next_boundary(5.3, 4) == 8
    assert next_boundary(8.0, 4) == 8  # exactly on the line: lands there, not a bar later
    assert next_boundary(7.9999999999, 4) == 8


def test_shapes_are_one_on_the_beat_and_within_zero_and_one():
    for shape in SHAPES:
        assert shape_value(shape, 0.0) == pytest.approx(1.0)
        values = [shape_value(shape, i / 100) for i in range(100)]
        assert min(values) >= 0.0 and max(values) <= 1.0 + 1e-12
    assert shape_value("sine", 0.5) == pytest.approx(0.0) and shape_value("triangle", 0.25) == pytest.approx(0.5)
    assert shape_value("saw", 0.75) == pytest.approx(0.25)
    assert shape_value("square", 0.49) == 1.0 and shape_value("square", 0.5) == 0.0
    assert shape_value("exp_decay", 0.2) == pytest.approx((math.exp(-1) - math.exp(-5)) / (1 - math.exp(-5)))
    assert pulse_gain("sine", 0.5, 0.3) == pytest.approx(0.7) and pulse_gain("sine", 0.0, 0.3) == 1.0
    with pytest.raises(DreamwallError, match="did you mean 'sine'"):
        shape_value("sin", 0.1)


def test_fit_interval_weighs_every_event():
    times = [i * 0.5 + (0.01 if i == 3 else 0.0) for i in range(8)]
    assert fit_interval(times) == pytest.approx(0.5, abs=0.002)
    with pytest.raises(DreamwallError):
        fit_interval([1.0])
