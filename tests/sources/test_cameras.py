"""Cameras against a fake V4L2 world (no camera exists here): mode negotiation, controls, stable names.

The fakes (installation.testing.fake_cameras) record every call; the driver answers only
modes it lists and refuses a manual value while its automatic is on, as uvcvideo does.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.errors import DreamwallError
from installation.commands.cameras import NO_CAMERAS, list_cameras
from installation.sources.cameras.controls import ControlSettings
from installation.sources.cameras.devices import CameraSpec, check_camera_spec, find_camera
from installation.sources.cameras.modes import Mode, ModeRequest, choose_mode
from installation.sources.cameras.settings import CameraSettings, load_camera_file
from installation.sources.cameras.source import CameraSource
from installation.sources.capture import Backoff, Capture
from installation.sources.openers import SharedCapture, is_camera_spec, newest_frame
from installation.testing.fake_cameras import (
    C920_CONTROLS,
    C920_MODES,
    FakeCamera,
    FakeLayer,
    old_kernel_controls,
    refusing,
)
from installation.testing.waiting import wait_until

MODE_PROPS = {cv2.CAP_PROP_FOURCC: "fourcc", cv2.CAP_PROP_FRAME_WIDTH: "width", cv2.CAP_PROP_FRAME_HEIGHT: "height",
              cv2.CAP_PROP_FPS: "fps"}  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def camera_source(layer: FakeLayer, spec: str = "0", notices: list[str] | None = None, clock: Clock | None = None,
                  **settings: object) -> CameraSource:  # fmt: skip
    return CameraSource(spec, CameraSettings(**settings), layer=layer, open_capture=layer.open_capture,  # type: ignore[arg-type]
                        notify=(notices.append if notices is not None else None), clock=clock or Clock())  # fmt: skip


def mode_sets(layer: FakeLayer) -> list[str]:
    return [MODE_PROPS[prop] for kind, args in layer.capture_calls if kind == "set"
            for prop, _ in [args] if prop in MODE_PROPS]  # type: ignore[misc]  # fmt: skip


@pytest.fixture
def c920_at_0() -> tuple[FakeLayer, FakeCamera]:
    layer, camera = FakeLayer(), FakeCamera.c920()
    layer.plug(camera, 0)
    return layer, camera


# -- spec kinds ------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["0", "3", "/dev/video2", "/dev/v4l/by-id/usb-x-video-index0",
                                  "/dev/v4l/by-path/pci-0:1-video-index0", "name:C920", "NAME:c920"])  # fmt: skip
def test_camera_specs_are_cameras(spec: str) -> None:
    assert is_camera_spec(spec)


@pytest.mark.parametrize("spec", ["demo", "clip.mp4", "rtsp://host/cam", "http://127.0.0.1:8080/cam.mjpg"])
def test_other_specs_are_not_cameras(spec: str) -> None:
    assert not is_camera_spec(spec)


# -- modes -----------------------------------------------------------------------------------------


def test_fourcc_is_set_before_the_size_then_fps_and_the_result_read_back(c920_at_0, caplog) -> None:
    layer, camera = c920_at_0
    source = camera_source(layer, output=(1280, 720))
    with caplog.at_level(logging.INFO):
        source.open()
    assert mode_sets(layer) == ["fourcc", "width", "height", "fps"]
    assert source.mode == Mode(1280, 720, 30, "MJPG") == camera.driver.current
    assert "asked 1280x720 30 fps MJPG, got 1280x720 30 fps MJPG" in caplog.text
    assert source.read().shape == (720, 1280, 3)


def test_the_fake_driver_ignores_a_fourcc_set_after_the_size(c920_at_0) -> None:
    """Why the order matters (OpenCV issue 9540): asked the other way round, 1080p stays YUYV at 5 fps."""
    layer, camera = c920_at_0
    capture = layer.open_capture("/dev/video0")
    for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, 1920), (cv2.CAP_PROP_FRAME_HEIGHT, 1080),
                        (cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG")), (cv2.CAP_PROP_FPS, 30)):  # fmt: skip
        capture.set(prop, value)
    assert camera.driver.current.fourcc == "YUYV"


@pytest.mark.parametrize(
    ("output", "expected"),
    [((1920, 1080), Mode(1920, 1080, 60, "MJPG")), ((1280, 720), Mode(1280, 720, 30, "MJPG")),
     ((1024, 768), Mode(640, 480, 30, "MJPG")), ((320, 240), Mode(640, 480, 30, "MJPG"))],
)  # fmt: skip
def test_default_mode_is_the_largest_within_the_output_at_30_fps_mjpg_where_offered(output, expected) -> None:
    assert choose_mode(C920_MODES, ModeRequest(), output) == (expected, None)


def test_yuyv_asked_gets_the_largest_yuyv_at_30_fps() -> None:
    assert choose_mode(C920_MODES, ModeRequest(format="yuyv"), (1920, 1080)) == (Mode(640, 480, 30, "YUYV"), None)


def test_a_mode_the_camera_lacks_falls_back_to_the_nearest_with_a_notice(c920_at_0) -> None:
    layer, _ = c920_at_0
    notices: list[str] = []
    source = camera_source(layer, notices=notices, mode=ModeRequest(size=(1600, 900), fps=30))
    source.open()
    assert source.mode == Mode(1920, 1080, 30, "MJPG")
    assert notices == ["camera 0 (HD Pro Webcam C920, /dev/video0): camera has no 1600x900 30 fps mode: "
                       "using the nearest, 1920x1080 30 fps MJPG"]  # fmt: skip
    assert source.read() is not None


def test_a_mode_the_driver_refuses_falls_back_to_the_nearest_listed() -> None:
    layer = FakeLayer()
    layer.plug(refusing(FakeCamera.c920(), Mode(1920, 1080, 60, "MJPG")), 0)
    notices: list[str] = []
    source = camera_source(layer, notices=notices, mode=ModeRequest(size=(1920, 1080), fps=60, format="mjpg"))
    source.open()
    assert source.mode == Mode(1920, 1080, 30, "MJPG")
    assert notices == ["camera 0 (HD Pro Webcam C920, /dev/video0): the driver refused 1920x1080 60 fps MJPG: "
                       "running 1920x1080 30 fps MJPG"]  # fmt: skip
    assert source.read() is not None  # never a dead show


def test_the_capture_keeps_one_driver_buffer(c920_at_0) -> None:
    layer, _ = c920_at_0
    camera_source(layer).open()
    assert ("set", (cv2.CAP_PROP_BUFFERSIZE, 1)) in layer.capture_calls


# -- the newest frame ------------------------------------------------------------------------------


class QueuedCapture:
    """A driver with `queued` old frames waiting: grabs of those return at once, then one waits a frame interval."""

    def __init__(self, queued: int, clock: Clock, interval: float = 1 / 30) -> None:
        self.queue = list(range(queued + 1))  # the last one arrives after waiting
        self.clock, self.interval, self.grabbed = clock, interval, -1

    def grab(self) -> bool:
        if len(self.queue) == 1:
            self.clock.now += self.interval  # waited for the device
        self.grabbed = self.queue.pop(0)
        self.queue = self.queue or [self.grabbed + 1]
        return True

    def retrieve(self) -> tuple[bool, np.ndarray]:
        return True, np.full((2, 2, 3), self.grabbed, np.uint8)


@pytest.mark.parametrize("queued", [0, 1, 3])
def test_newest_frame_skips_what_the_driver_queued(queued: int) -> None:
    clock = Clock()
    capture = QueuedCapture(queued, clock)
    frame = newest_frame(capture, 30.0, clock)  # type: ignore[arg-type]
    assert frame is not None and int(frame[0, 0, 0]) == queued


def test_a_close_during_a_blocked_read_releases_after_the_read() -> None:
    held, log = SharedCapture(), []

    class Blocking:
        def release(self) -> None:
            log.append("release")

    def read(capture: object) -> None:
        held.release()  # another thread closing while the read blocks
        log.append("read returns")

    held.hold(Blocking())  # type: ignore[arg-type]
    held.read(read, "stream")
    assert log == ["read returns", "release"]
    with pytest.raises(ConnectionError):
        held.read(read, "stream")


# -- controls --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", ["new names", "old names"])
def test_a_manual_value_turns_its_automatic_off_first_and_is_read_back(kernel: str) -> None:
    controls = dict(C920_CONTROLS) if kernel == "new names" else old_kernel_controls(C920_CONTROLS)
    layer, camera = FakeLayer(), FakeCamera.c920(controls=controls)
    layer.plug(camera, 0)
    source = camera_source(layer, controls=ControlSettings(exposure=156, white_balance=4600, gain=40))
    source.open()
    writes = camera.controls.writes()
    exposure_auto, exposure = (("auto_exposure", "exposure_time_absolute") if kernel == "new names"
                               else ("exposure_auto", "exposure_absolute"))  # fmt: skip
    assert writes.index((exposure_auto, 1)) < writes.index((exposure, 156))
    wb_auto = "white_balance_automatic" if kernel == "new names" else "white_balance_temperature_auto"
    assert writes.index((wb_auto, 0)) < writes.index(("white_balance_temperature", 4600))
    assert ("get", exposure, None) in camera.controls.calls  # read back
    assert source.report().controls == {"exposure": 156, "gain": 40, "white_balance": 4600}


def test_a_missing_control_is_one_notice_even_after_reconnects() -> None:
    controls = {k: v for k, v in C920_CONTROLS.items() if not k.startswith("focus")}
    layer, camera = FakeLayer(), FakeCamera.c920(controls=controls)
    layer.plug(camera, 0)
    notices: list[str] = []
    source = camera_source(layer, notices=notices, controls=ControlSettings(focus=10, exposure="auto"))
    for _ in range(3):
        source.open()
        source.close()
    assert notices == ["camera 0 (HD Pro Webcam C920, /dev/video0) has no focus control (focus_absolute): "
                       "left as the camera has it"]  # fmt: skip
    assert camera.controls.values["auto_exposure"] == 3


def test_lock_after_holds_the_values_the_automatics_reached() -> None:
    layer = FakeLayer()
    camera = FakeCamera.c920(room={"exposure_time_absolute": 300, "white_balance_temperature": 3200,
                                   "focus_absolute": 40})  # fmt: skip
    layer.plug(camera, 0)
    clock = Clock()
    source = camera_source(layer, clock=clock, controls=ControlSettings(exposure="auto", lock_after=5.0))
    source.open()
    source.read()
    assert camera.controls.values["auto_exposure"] == 3 and not source.report().locked
    camera.controls.room.update(exposure_time_absolute=420, white_balance_temperature=5100, focus_absolute=12)
    clock.now = 5.0
    source.read()  # the automatics settled: their values now are held
    held = {"exposure": 420, "white_balance": 5100, "focus": 12}
    assert {k: source.report().controls[k] for k in held} == held and source.report().locked
    values = camera.controls.values
    automatics = ("auto_exposure", "white_balance_automatic", "focus_automatic_continuous")
    assert [values[name] for name in automatics] == [1, 0, 0]
    camera.controls.room.update(exposure_time_absolute=900)  # the room's light changes: nothing follows
    assert camera.controls.get("exposure_time_absolute") == 420
    # unplugged and back: the held values go straight back in
    camera.controls.values.update(C920_CONTROLS)
    source.close()
    source.open()
    assert camera.controls.values["exposure_time_absolute"] == 420 and camera.controls.values["auto_exposure"] == 1


# -- names, paths, a camera that comes back elsewhere ------------------------------------------------


def test_a_name_that_matches_no_camera_says_did_you_mean_and_lists_them(c920_at_0) -> None:
    layer, _ = c920_at_0
    with pytest.raises(DreamwallError) as error:
        check_camera_spec("name:HD Pro Webcam C930", layer)
    assert str(error.value) == (
        "no camera named 'HD Pro Webcam C930' (did you mean 'HD Pro Webcam C920'?); cameras present: "
        "0 'HD Pro Webcam C920' (/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920_A1B2C3-video-index0)"
    )


def test_a_path_that_matches_no_camera_says_did_you_mean(c920_at_0) -> None:
    layer, camera = c920_at_0
    with pytest.raises(DreamwallError, match=rf"no camera at {camera.by_id[:-1]}1 \(did you mean '{camera.by_id}'\?\)"):
        check_camera_spec(camera.by_id[:-1] + "1", layer)


def test_names_match_case_insensitively_and_paths_resolve(c920_at_0) -> None:
    layer, camera = c920_at_0
    for spec in ("name:c920", camera.by_id, camera.by_path, "/dev/video0", "0"):
        check_camera_spec(spec, layer)
        found = find_camera(CameraSpec.parse(spec), layer)
        assert found is not None and found.path == "/dev/video0"


def test_with_no_camera_plugged_in_the_show_starts_and_waits() -> None:
    check_camera_spec("name:C920", FakeLayer())  # no error: the kiosk booted before its camera


@pytest.mark.parametrize("by", ["by-id", "name"])
def test_a_camera_that_comes_back_under_another_index_is_found_by_path_and_name(by: str) -> None:
    layer, camera = FakeLayer(), FakeCamera.c920()
    layer.plug(camera, 0)
    spec = camera.by_id if by == "by-id" else "name:C920"
    source = camera_source(layer, spec, output=(640, 480))
    with Capture(source, backoff=Backoff(first=0.001, cap=0.01)) as capture:
        assert wait_until(lambda: capture.health().frames > 2)
        layer.unplug(camera)
        assert wait_until(lambda: capture.health().state == "reconnecting")
        layer.plug(FakeCamera.c920(serial="OTHER"), 0)  # another camera took index 0 ...
        if by == "name":
            layer.unplug(layer.plugged[0])  # (a name cannot tell two C920s apart: take it away again)
        layer.plug(camera, 4)  # ... and ours came back as /dev/video4
        assert wait_until(lambda: capture.health().state == "ok")
        frames = capture.health().frames
        assert wait_until(lambda: capture.health().frames > frames)
    assert ("open", "/dev/video4") in layer.capture_calls
    assert source.report().path == camera.by_id


def test_a_plain_index_means_that_index() -> None:
    layer, camera = FakeLayer(), FakeCamera.c920()
    layer.plug(camera, 2)
    source = camera_source(layer, "0")
    with pytest.raises(ConnectionError, match="camera 0 is not plugged in"):
        source.open()


# -- the camera file and the cameras command ----------------------------------------------------------


def test_camera_file_reads_a_camera_section(tmp_path: Path) -> None:
    path = tmp_path / "camera.yaml"
    path.write_text("camera:\n  size: 1280x720\n  fps: 30\n  format: MJPG\n  exposure: 156\n  gain: 0\n"
                    "  white_balance: auto\n  focus: auto\n  lock_after: 8\n")  # fmt: skip
    settings = load_camera_file(path)
    assert settings.mode == ModeRequest((1280, 720), 30.0, "mjpg")
    expected = ControlSettings(exposure=156, gain=0, white_balance="auto", focus="auto", lock_after=8.0)
    assert settings.controls == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("camera:\n  exposur: 100\n", "camera.yaml: camera.exposur: unknown key 'exposur' (did you mean 'exposure'?)"),
     ("camera:\n  white_balance: warm\n",
      "camera.white_balance must be 'auto' or a whole number from 1000 to 15000, got 'warm'"),
     ("camera:\n  gain: auto\n", "camera.gain must be 0 to 1000, got 'auto'"),
     ("camera:\n  lock_after: -1\n", "camera.lock_after must be between 0 and 3600, got -1"),
     ("camera:\n  format: h264\n", "camera format must be one of auto, mjpg, yuyv, got 'h264'"),
     ("cameras:\n  gain: 1\n", "camera.yaml: cameras: unknown key 'cameras' (did you mean 'camera'?)")],
)  # fmt: skip
def test_camera_file_mistakes_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "camera.yaml"
    path.write_text(text)
    with pytest.raises(DreamwallError) as error:
        load_camera_file(path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_cameras_lists_index_stable_path_name_modes_and_controls(c920_at_0, capsys) -> None:
    layer, camera = c920_at_0
    assert list_cameras(layer, sys.stdout) == 0
    out = capsys.readouterr().out
    assert out.startswith("0: HD Pro Webcam C920\n   path: /dev/video0\n")
    assert f"stable: {camera.by_id}" in out and "1920x1080 MJPG: 60, 30 fps" in out and "640x480 YUYV: 30 fps" in out
    assert "auto_exposure = 3 (0..10000, default ?)" in out


def test_cameras_on_a_machine_without_cameras_is_one_line(capsys) -> None:
    assert list_cameras(FakeLayer(), sys.stdout) == 0
    assert capsys.readouterr().out == NO_CAMERAS + "\n"
