"""Mirror and rotation, applied once by the capture: where a mark in the camera's corner ends up."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from engine.errors import DreamwallError
from installation.commands import live
from installation.sources.capture import Capture, SequenceNumbers
from installation.sources.orientation import Orientation, orientation_for
from installation.testing.waiting import wait_until

WIDTH, HEIGHT = 64, 48


def marked() -> np.ndarray:
    """A 64x48 grey frame with a red mark in its top-left corner and a green one top-right."""
    image = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
    image[:8, :8] = (255, 0, 0)
    image[:8, -8:] = (0, 255, 0)
    return image


def corner(image: np.ndarray, colour: tuple[int, int, int]) -> str:
    """Which corner holds the mark of `colour`: 'top-left', 'bottom-right', ..."""
    rows, cols = np.nonzero(np.all(image == colour, axis=-1))
    height, width = image.shape[:2]
    return ("top" if rows.mean() < height / 2 else "bottom") + "-" + ("left" if cols.mean() < width / 2 else "right")


@pytest.mark.parametrize(
    ("mirror", "rotate", "red", "green", "size"),
    [
        (False, 0, "top-left", "top-right", (64, 48)),
        (True, 0, "top-right", "top-left", (64, 48)),  # as in a mirror
        (False, 90, "top-right", "bottom-right", (48, 64)),  # a quarter turn clockwise
        (False, 180, "bottom-right", "bottom-left", (64, 48)),
        (False, 270, "bottom-left", "top-left", (48, 64)),
        (True, 90, "top-left", "bottom-left", (48, 64)),  # turned upright, then mirrored as shown
    ],
)
def test_each_turn_puts_the_corner_marks_where_a_viewer_expects(mirror, rotate, red, green, size) -> None:
    orientation = Orientation(mirror=mirror, rotate=rotate)
    source = marked()
    turned = orientation.apply(source)
    assert (corner(turned, (255, 0, 0)), corner(turned, (0, 255, 0))) == (red, green)
    assert (turned.shape[1], turned.shape[0]) == size == orientation.size(WIDTH, HEIGHT)
    assert np.array_equal(source, marked())  # the source's own buffer is never written


class MarkedCamera:
    description = "marked camera"

    def open(self) -> None:
        pass

    def read(self) -> np.ndarray:
        return marked()

    def close(self) -> None:
        pass


def test_the_capture_publishes_the_turned_frame() -> None:
    capture = Capture(MarkedCamera(), numbers=SequenceNumbers(), orientation=Orientation(mirror=True, rotate=90))
    with capture:
        assert wait_until(lambda: capture.latest() is not None, timeout=10)
        frame = capture.wait_newer(0, timeout=5)
    assert frame is not None and frame.image.shape == (WIDTH, HEIGHT, 3)  # portrait now
    assert corner(frame.image, (255, 0, 0)) == "top-left"


@pytest.mark.parametrize(
    ("spec", "mirrored"),
    [("0", True), ("/dev/video2", True), ("/dev/v4l/by-id/usb-046d_C920-video-index0", True), ("name:C920", True),
     ("clip.mp4", False), ("rtsp://10.0.0.5/stream", False), ("demo", False)],
)  # fmt: skip
def test_cameras_are_mirrored_by_default_files_and_streams_not(spec, mirrored) -> None:
    assert orientation_for(spec, None).mirror is mirrored
    assert orientation_for(spec, not mirrored).mirror is (not mirrored)  # --mirror / --no-mirror decide


def test_a_rotation_that_is_not_a_quarter_turn_names_the_allowed_ones() -> None:
    with pytest.raises(DreamwallError, match=r"rotate must be one of 0, 90, 180, 270 \(degrees clockwise\), got 45"):
        Orientation(rotate=45)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(exit_on_error=False)
    live.configure(parser)
    return parser.parse_args(argv)


def test_the_live_flags_reach_the_config() -> None:
    config = live.config_from_args(parse("--no-mirror", "--rotate", "270", "--fit", "fit"))
    assert (config.mirror, config.rotate, config.fit) == (False, 270, "fit")
    config = live.config_from_args(parse("--letterbox"))
    assert (config.mirror, config.rotate, config.fit) == (None, 0, "fit")  # None: by the kind of source
    assert live.config_from_args(parse("--mirror")).mirror is True
    with pytest.raises(argparse.ArgumentError, match="invalid choice: 45"):
        parse("--rotate", "45")
