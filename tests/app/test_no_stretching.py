"""No stretching, ever: a circle in a 4:3 or a 21:9 camera stays a circle all the way to the screen.

Through the real pieces: a synthetic camera -> the capture thread (its rotation) -> the dream
worker (the processing frame the dream steps get, the composed shown frame) -> the renderer's
screen and a recording of another size; and, end to end, a headless show's video file.
Before issue 21 the processing frame was the 16:9 process size whatever the camera
(a 4:3 circle came out 1.33 times as wide as high, a 21:9 one 0.76).
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
import torch

from engine.networks import DreamNet
from engine.objectives import parse_objective
from engine.temporal import FeedbackParams
from installation.controls.actions import Dispatcher
from installation.display.renderer import Renderer
from installation.dreaming.settings import DreamSettings
from installation.dreaming.worker import DreamWorker
from installation.outputs.recorder import Recorder
from installation.sources.capture import Capture, SequenceNumbers
from installation.sources.orientation import Orientation
from installation.testing.waiting import wait_until

FOUR_THREE, WIDE = (640, 480), (840, 360)  # 4:3 and 21:9 (7:3) cameras
LANDSCAPE, PORTRAIT = (320, 180), (180, 320)  # a 16:9 screen and a portrait one
GREY, WHITE = 80, 255
TOLERANCE = 0.05  # a circle's width/height may be off by a pixel's rounding, not by an aspect change


class CircleCamera:
    """A synthetic camera: a white disc (0.36 of the frame's height across) in the middle of a grey room."""

    description = "circle camera"

    def __init__(self, size: tuple[int, int]) -> None:
        width, height = size
        self.image = np.full((height, width, 3), GREY, np.uint8)
        cv2.circle(self.image, (width // 2, height // 2), round(0.18 * height), (WHITE,) * 3, -1, cv2.LINE_AA)

    def open(self) -> None:
        pass

    def read(self) -> np.ndarray:
        time.sleep(0.01)
        return self.image.copy()

    def close(self) -> None:
        pass


def disc(image: np.ndarray) -> tuple[int, int]:
    """(width, height) of the bright disc in an RGB image."""
    rows, cols = np.nonzero(image.min(axis=-1) > (GREY + WHITE) / 2)
    assert rows.size > 50, "no disc found"
    return cols.max() - cols.min() + 1, rows.max() - rows.min() + 1


def roundness(image: np.ndarray) -> float:
    """Width over height of the disc: 1 for a circle."""
    width, height = disc(image)
    return width / height


def assert_round(image: np.ndarray) -> None:
    """A circle, up to 5 % or two pixels of rounding (a small disc after several resizes)."""
    width, height = disc(image)
    assert abs(width - height) <= max(TOLERANCE * height, 2), f"the disc is {width}x{height}: stretched"


def identity_step(net, image, objective, params, generator, gradient, **_):
    """The dream step's place in the pipeline without changing pixels: the circle is measured as dreamt."""
    processing.append(image.detach().clone())
    return image


processing: list[torch.Tensor] = []


def dream_once(camera: tuple[int, int], screen: tuple[int, int], fit: str, net: DreamNet,
               orientation: Orientation = Orientation()):  # noqa: B008  # fmt: skip
    """The first dream of a circle camera composed for `screen`, and the processing frame it was dreamt at."""
    processing.clear()
    settings = DreamSettings(net=net, objective=parse_objective("fire3", net), steps=1,
                             feedback=FeedbackParams(feedback=0.0), fit=fit)  # fmt: skip
    capture = Capture(CircleCamera(camera), numbers=SequenceNumbers(), orientation=orientation)
    with capture, DreamWorker(capture, settings, step_fn=identity_step) as worker:
        worker.set_output_size(screen)
        assert wait_until(lambda: worker.latest() is not None, timeout=30)
        dream = worker.latest()
    assert dream is not None and processing
    pixels = processing[0][0].permute(1, 2, 0).mul(255).numpy()
    return dream, pixels


@pytest.mark.parametrize("camera", [FOUR_THREE, WIDE], ids=["4:3", "21:9"])
@pytest.mark.parametrize("screen", [LANDSCAPE, PORTRAIT], ids=["16:9 screen", "9:16 screen"])
@pytest.mark.parametrize("fit", ["fill", "fit"])
def test_a_circle_stays_a_circle_from_camera_to_screen_and_recording(camera, screen, fit, squeezenet,
                                                                      tmp_path) -> None:  # fmt: skip
    dream, dreamt_at = dream_once(camera, screen, fit, squeezenet)
    width, height = dreamt_at.shape[1], dreamt_at.shape[0]
    assert width * height == pytest.approx(320 * 180, rel=0.02)  # the CPU's pixel budget...
    assert width / height == pytest.approx(camera[0] / camera[1], rel=0.01)  # ...at the camera's aspect
    assert_round(dreamt_at)
    assert_round(dream.image)  # the composed shown frame
    assert dream.fit == fit

    renderer = Renderer(lambda: (dream.seq, dream.image), Dispatcher(), size=screen, windowed=True, fps=0,
                        fit=dream.fit)  # fmt: skip
    try:
        renderer.tick()
        on_screen = renderer.grab()()
    finally:
        renderer.close()
    assert on_screen.shape[:2] == (screen[1], screen[0])
    assert_round(on_screen)
    bars = on_screen.max(axis=-1) == 0
    assert bars.any() == (fit == "fit")  # fit letterboxes or pillarboxes; fill covers the screen

    recording_size = (240, 180)  # a 4:3 recording (begun before the screen changed): the rule frames the screen
    recorder = Recorder(tmp_path / "take.mp4", fps=25, size=recording_size, fit=fit)
    recorder.write(on_screen, block=True)
    video = cv2.VideoCapture(str(recorder.close()))
    ok, recorded = video.read()
    video.release()
    assert ok and recorded.shape[:2] == (recording_size[1], recording_size[0])
    assert_round(recorded)


def test_stretch_is_the_one_rule_that_changes_the_aspect(squeezenet) -> None:
    dream, dreamt_at = dream_once(FOUR_THREE, LANDSCAPE, "stretch", squeezenet)
    assert_round(dreamt_at)  # the dream itself is never stretched
    assert dream.image.shape[:2] == (LANDSCAPE[1], LANDSCAPE[0])
    assert roundness(dream.image) == pytest.approx((320 / 640) / (180 / 480), abs=TOLERANCE)  # 1.33: as asked


def test_a_camera_on_its_side_dreams_upright_at_a_portrait_size(squeezenet) -> None:
    dream, dreamt_at = dream_once(FOUR_THREE, PORTRAIT, "fill", squeezenet, Orientation(mirror=True, rotate=90))
    assert dreamt_at.shape[0] > dreamt_at.shape[1]  # 3:4 now
    assert dreamt_at.shape[1] / dreamt_at.shape[0] == pytest.approx(3 / 4, rel=0.01)
    assert_round(dreamt_at)
    assert dream.image.shape[:2] == (320, 240)  # 3:4 covering the 180x320 screen: 240x320, cropped to it later
    assert_round(dream.image)


@pytest.mark.parametrize("fit", ["fill", "fit"])
def test_a_headless_show_writes_round_circles_at_another_size(fit, presets_dir, tmp_path, make_app) -> None:
    """End to end: `live --source <4:3 camera> --size 320x180 --fit ...` writes a video whose circle is round."""
    out = tmp_path / "show.mp4"
    app = make_app(presets_dir, tmp_path, source_factory=lambda spec: CircleCamera(FOUR_THREE), size=LANDSCAPE,
                   fit=fit, frames=3, out=out, process_size=(128, 72), preset="default")  # fmt: skip
    try:
        assert app.run() == 0
    finally:
        app.close()
    assert app.worker.health().process_size == (111, 83)  # 128x72's 9,216 px at 4:3: 110.9 x 83.1
    video = cv2.VideoCapture(str(out))
    ok, frame = video.read()
    video.release()
    assert ok and frame.shape[:2] == (LANDSCAPE[1], LANDSCAPE[0])
    assert_round(frame)
    assert (frame[:, :10].max() < 30) == (fit == "fit")  # pillarbox bars only when fitting

