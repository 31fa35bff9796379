"""`render --size` of another aspect than the input: the fit rule, through the real command and video file."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import run
from installation.outputs.images import write_image

INPUT = (128, 96)  # 4:3
OUTPUT = "160x90"  # 16:9
GREY, WHITE = 80, 255


@pytest.fixture(scope="module")
def circles(tmp_path_factory):
    """Three 4:3 frames of a white disc in a grey room (an image folder)."""
    folder = tmp_path_factory.mktemp("circles")
    for index in range(3):
        image = np.full((INPUT[1], INPUT[0], 3), GREY, np.uint8)
        cv2.circle(image, (INPUT[0] // 2, INPUT[1] // 2), 24, (WHITE,) * 3, -1, cv2.LINE_AA)
        write_image(folder / f"{index:03d}.png", image)
    return folder


def first_frame(path) -> np.ndarray:
    video = cv2.VideoCapture(str(path))
    ok, frame = video.read()
    video.release()
    assert ok
    return frame


def disc(image: np.ndarray) -> tuple[int, int]:
    rows, cols = np.nonzero(image.min(axis=-1) > (GREY + WHITE) / 2)
    return cols.max() - cols.min() + 1, rows.max() - rows.min() + 1


@pytest.mark.parametrize(("fit", "ratio", "bars"), [("fill", 1.0, False), ("fit", 1.0, True),
                                                    ("stretch", (160 / 128) / (90 / 96), False)])  # fmt: skip
def test_render_size_frames_the_input_by_the_fit_rule(circles, tmp_path, fit, ratio, bars) -> None:
    output = tmp_path / f"{fit}.mp4"
    code = run.main(["render", str(circles), "-o", str(output), "--octaves", "1", "--steps", "1", "--lr", "0.001",
                     "--layers", "fire3", "--size", OUTPUT, "--fit", fit])  # fmt: skip
    assert code == 0
    frame = first_frame(output)
    assert frame.shape[:2] == (90, 160)
    width, height = disc(frame)
    assert width / height == pytest.approx(ratio, abs=0.06)
    edges = frame[:, :15].max(), frame[:, -15:].max()  # fit: 4:3 in 16:9 leaves 20 px bars each side
    assert bool(max(edges) < 30) is bars  # the bars stay black: they are not dreamt
