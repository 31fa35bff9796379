"""The fit rule: where a frame of one aspect lands in a size of another (pure geometry and arrays)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import DreamwallError
from engine.framing import aspect_size, frame_into, framing, shown_size

SIZES = [(320, 180), (640, 480), (180, 320), (1920, 1080), (100, 100), (17, 999), (1024, 768), (2560, 1080)]


@pytest.mark.parametrize("source", SIZES)
@pytest.mark.parametrize("target", SIZES)
def test_fill_crops_to_the_target_aspect_and_covers(source, target):
    geometry = framing(source, target, "fill")
    x, y, w, h = geometry.crop
    assert geometry.dest == (0, 0, *target)
    assert min(x, y) >= 0 and x + w <= source[0] and y + h <= source[1]
    assert w == source[0] or h == source[1]  # crops one dimension only
    assert abs(x - (source[0] - x - w)) <= 1 and abs(y - (source[1] - y - h)) <= 1  # centred
    assert abs(w * target[1] - h * target[0]) <= max(target)  # the target's aspect, up to a source pixel


@pytest.mark.parametrize("source", SIZES)
@pytest.mark.parametrize("target", SIZES)
def test_fit_shows_everything_centred_between_bars(source, target):
    geometry = framing(source, target, "fit")
    x, y, w, h = geometry.dest
    assert geometry.crop == (0, 0, *source)
    assert min(x, y) >= 0 and x + w <= target[0] and y + h <= target[1]
    assert w == target[0] or h == target[1]  # as large as fits
    assert abs(x - (target[0] - x - w)) <= 1 and abs(y - (target[1] - y - h)) <= 1
    assert abs(w * source[1] - h * source[0]) <= max(source)


@pytest.mark.parametrize("source", SIZES)
@pytest.mark.parametrize("target", SIZES)
def test_a_frame_composed_at_the_shown_size_is_only_cropped_or_barred(source, target):
    """The worker composes at shown_size; the screen then frames it with the same rule: the aspect survives."""
    for mode in ("fill", "fit"):
        composed = shown_size(source, target, mode)
        assert abs(composed[0] * source[1] - composed[1] * source[0]) <= max(source)  # the source's aspect
        geometry = framing(composed, target, mode)
        assert (geometry.crop[2:] == composed) if mode == "fit" else (geometry.dest[2:] == target)
        scale_x = geometry.dest[2] / geometry.crop[2]
        scale_y = geometry.dest[3] / geometry.crop[3]
        assert scale_x == pytest.approx(scale_y, rel=0.02) or min(geometry.crop[2:]) < 50
    assert shown_size(source, target, "stretch") == target


def test_stretch_maps_the_whole_frame_onto_the_whole_target():
    geometry = framing((640, 480), (1920, 1080), "stretch")
    assert geometry.crop == (0, 0, 640, 480) and geometry.dest == (0, 0, 1920, 1080)


def test_frame_into_crops_bars_or_stretches_a_real_image():
    image = np.zeros((48, 64, 3), np.uint8)  # 4:3, a white square in the middle third
    image[16:32, 24:40] = 255
    filled, fitted, stretched = (frame_into(image, (96, 54), mode) for mode in ("fill", "fit", "stretch"))
    assert filled.shape == fitted.shape == stretched.shape == (54, 96, 3)
    for picture in (filled, fitted):  # the square stays square
        rows, cols = np.nonzero(picture[..., 0] > 127)
        assert (cols.max() - cols.min()) == pytest.approx(rows.max() - rows.min(), abs=1)
    assert fitted[:, :10].max() == 0 and fitted[:, -10:].max() == 0  # pillarbox bars, 12 px each side
    rows, cols = np.nonzero(stretched[..., 0] > 127)
    assert (cols.max() - cols.min() + 1) / (rows.max() - rows.min() + 1) == pytest.approx(96 / 64 * 48 / 54, rel=0.1)


@pytest.mark.parametrize("source", [(640, 480), (2560, 1080), (1080, 1920), (1920, 1080)])
def test_aspect_size_spends_the_budget_at_the_aspect(source):
    width, height = aspect_size(source, 320 * 180)
    assert width * height == pytest.approx(320 * 180, rel=0.01)
    assert width / height == pytest.approx(source[0] / source[1], rel=0.01)


def test_aspect_size_keeps_the_short_side_above_the_minimum():
    assert aspect_size((3000, 100), 64 * 64, min_side=32) == (960, 32)


def test_an_unknown_mode_names_the_allowed_ones():
    with pytest.raises(DreamwallError, match=r"unknown fit 'letterbox'.*choose from: fill, fit, stretch"):
        framing((4, 3), (16, 9), "letterbox")
