"""Crossfades: pure functions, no window (the geometry on screen is tests/engine/test_framing.py)."""

import itertools

import numpy as np
import pytest

from installation.display.crossfade import FadeClock, crossfade, ease
from installation.testing.clocks import HandClock

# ---- crossfade -----------------------------------------------------------------------------


def test_ease_is_monotonic_symmetric_and_clamped():
    ts = np.linspace(-0.5, 1.5, 201)
    values = [ease(t) for t in ts]
    assert all(b >= a for a, b in itertools.pairwise(values))
    assert ease(0) == 0 and ease(1) == 1 and ease(-3) == 0 and ease(7) == 1
    for t in np.linspace(0, 1, 11):
        assert ease(t) + ease(1 - t) == pytest.approx(1.0)


def test_crossfade_endpoints_midpoint_and_monotonic():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    assert np.array_equal(crossfade(a, b, 0.0), a)
    assert np.array_equal(crossfade(a, b, 1.0), b)
    mid = crossfade(a, b, 0.5).astype(int)
    assert np.abs(mid - (a.astype(int) + b.astype(int)) / 2).max() <= 0.5
    distances = [np.abs(crossfade(a, b, t).astype(int) - b).sum() for t in np.linspace(0, 1, 21)]
    assert all(later <= earlier for earlier, later in itertools.pairwise(distances))
    assert crossfade(a, b, 0.3).dtype == np.uint8
    with pytest.raises(ValueError, match="one shape"):
        crossfade(a, b[:6], 0.5)


def test_fade_clock_runs_from_start():
    clock = HandClock()
    fade = FadeClock(2.0, clock)
    assert fade.progress() == 0.0 and not fade.started
    fade.start()
    clock.now += 1.0
    assert fade.progress() == pytest.approx(0.5) and fade.weight() == pytest.approx(0.5)
    clock.now += 5.0
    assert fade.done() and fade.weight() == 1.0
