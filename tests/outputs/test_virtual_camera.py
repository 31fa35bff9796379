"""Virtual camera: a missing backend or device is reported once and is not fatal; a working
backend receives every frame at its size; a device that fails while running switches off."""

from __future__ import annotations

import logging

import numpy as np

from installation.outputs import virtual_camera
from installation.outputs.virtual_camera import VirtualCamera


class FakeCamera:
    def __init__(self, width: int, height: int, fps: float, device: str | None = None) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.device = device or "/dev/video9"
        self.frames: list[np.ndarray] = []
        self.closed = 0
        self.fail = False

    def send(self, frame: np.ndarray) -> None:
        if self.fail:
            raise RuntimeError("device vanished")
        assert frame.shape == (self.height, self.width, 3) and frame.dtype == np.uint8
        self.frames.append(frame)

    def close(self) -> None:
        self.closed += 1


def test_missing_pyvirtualcam_is_one_clear_message_and_not_fatal(monkeypatch, caplog):
    def missing():
        raise ImportError("No module named 'pyvirtualcam'")

    monkeypatch.setattr(virtual_camera, "_import_pyvirtualcam", missing)
    with caplog.at_level(logging.WARNING, logger="installation.outputs.virtual_camera"):
        assert VirtualCamera.open((64, 48), 30) is None
    assert len(caplog.records) == 1
    message = caplog.records[0].message
    assert "pyvirtualcam is not installed" in message and "v4l2loopback" in message


def test_missing_loopback_device_is_reported_not_raised(caplog):
    def no_device(**_: object) -> FakeCamera:
        raise RuntimeError("'v4l2loopback' backend: no v4l2 loopback device found")

    with caplog.at_level(logging.WARNING, logger="installation.outputs.virtual_camera"):
        assert VirtualCamera.open((64, 48), 30, factory=no_device) is None
    assert len(caplog.records) == 1 and "no v4l2 loopback device" in caplog.records[0].message
    assert "exclusive_caps=1" in caplog.records[0].message


def test_fake_backend_receives_every_frame_at_the_camera_size():
    made: list[FakeCamera] = []

    def factory(**kwargs: object) -> FakeCamera:
        made.append(FakeCamera(**kwargs))  # type: ignore[arg-type]
        return made[-1]

    camera = VirtualCamera.open((64, 48), 25, device="/dev/video7", factory=factory)
    assert camera is not None and camera.active and made[0].device == "/dev/video7"
    frame = np.full((48, 64, 3), 7, np.uint8)
    camera.send(frame)
    camera.send(np.zeros((90, 120, 3), np.uint8))  # another size: framed, not refused
    assert len(made[0].frames) == 2 == camera.frames_sent
    assert np.array_equal(made[0].frames[0], frame)
    camera.close()
    camera.close()
    assert made[0].closed == 1 and not camera.active
    camera.send(frame)  # after close: ignored
    assert len(made[0].frames) == 2


def test_a_frame_of_another_aspect_is_cropped_not_squeezed():
    made: list[FakeCamera] = []
    camera = VirtualCamera.open((64, 36), 25, factory=lambda **kwargs: made.append(FakeCamera(**kwargs)) or made[-1])
    assert camera is not None
    square = np.zeros((48, 64, 3), np.uint8)  # a 4:3 frame with a 24x24 white square in the middle
    square[12:36, 20:44] = 255
    camera.send(square)
    rows, cols = np.nonzero(made[0].frames[0][..., 0] > 127)
    assert cols.max() - cols.min() == rows.max() - rows.min()  # still square (stretched it was 24x18)


def test_device_failing_while_running_switches_the_output_off(caplog):
    fake = FakeCamera(64, 48, 30)
    camera = VirtualCamera(fake, (64, 48))
    fake.fail = True
    with caplog.at_level(logging.WARNING, logger="installation.outputs.virtual_camera"):
        camera.send(np.zeros((48, 64, 3), np.uint8))
        camera.send(np.zeros((48, 64, 3), np.uint8))
    assert not camera.active and fake.closed == 1
    assert len(caplog.records) == 1 and "device vanished" in caplog.records[0].message
