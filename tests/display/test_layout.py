"""Crossfades and the geometry of showing a dream on a screen: pure functions, no window."""

import itertools

import numpy as np
import pytest

from engine.errors import DreamwallError
from installation.display.crossfade import FadeClock, crossfade, ease
from installation.display.layout import fit
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


# ---- geometry ----------------------------------------------------------------------------

SIZES = [(320, 180), (640, 480), (180, 320), (1920, 1080), (100, 100), (17, 999), (1024, 768)]


@pytest.mark.parametrize("source", SIZES)
@pytest.mark.parametrize("screen", SIZES)
def test_fill_crops_to_screen_aspect_and_covers(source, screen):
    layout = fit(source, screen, "fill")
    x, y, w, h = layout.crop
    assert layout.dest == (0, 0, *screen)
    assert min(x, y) >= 0 and x + w <= source[0] and y + h <= source[1]
    assert w == source[0] or h == source[1]  # crop only one dimension
    assert abs(x - (source[0] - x - w)) <= 1 and abs(y - (source[1] - y - h)) <= 1  # centred
    # aspect equal up to one source pixel of rounding
    assert abs(w * screen[1] - h * screen[0]) <= max(screen)


@pytest.mark.parametrize("source", SIZES)
@pytest.mark.parametrize("screen", SIZES)
def test_letterbox_shows_everything_centred(source, screen):
    layout = fit(source, screen, "letterbox")
    x, y, w, h = layout.dest
    assert layout.crop == (0, 0, *source)
    assert min(x, y) >= 0 and x + w <= screen[0] and y + h <= screen[1]
    assert w == screen[0] or h == screen[1]  # as large as fits
    assert abs(x - (screen[0] - x - w)) <= 1 and abs(y - (screen[1] - y - h)) <= 1
    assert abs(w * source[1] - h * source[0]) <= max(source)


def test_unknown_scale_mode_suggests():
    with pytest.raises(DreamwallError, match="unknown scale mode 'leterbox' \\(did you mean 'letterbox'\\?\\)"):
        fit((4, 3), (16, 9), "leterbox")
