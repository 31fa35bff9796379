"""The status file (and so the panel) shows which camera runs, in which mode, with which controls applied.

Against the fake V4L2 layer (installation.testing.fake_cameras): no camera exists here.
"""

from __future__ import annotations

import threading

from installation.sources.cameras.controls import ControlSettings
from installation.sources.cameras.settings import CameraSettings
from installation.sources.cameras.source import CameraSource
from installation.testing.fake_cameras import FakeCamera, FakeLayer
from installation.testing.waiting import wait_for


def test_status_shows_the_camera_its_mode_and_applied_controls(presets_dir, tmp_path, make_app) -> None:
    layer, camera = FakeLayer(), FakeCamera.c920()
    layer.plug(camera, 0)
    settings = CameraSettings(controls=ControlSettings(exposure=156, white_balance="auto"), output=(640, 480))
    def source(spec: str) -> CameraSource:
        return CameraSource(spec, settings, layer=layer, open_capture=layer.open_capture)

    app = make_app(presets_dir, tmp_path, source="0", seconds=60, out=tmp_path / "c.mp4", source_factory=source)
    codes: list[int] = []
    runner = threading.Thread(target=lambda: codes.append(app.run()))
    runner.start()
    try:
        wait_for(lambda: app.worker.health().frames > 2, "dreams of the camera", timeout=60)
        status = app.snapshot()["camera"]
    finally:
        app.stop()
        runner.join(60)
    assert codes == [0]
    assert status == {"name": "HD Pro Webcam C920", "path": camera.by_id, "mode": "640x480 30 fps MJPG",
                      "controls": {"exposure": 156, "white_balance": "auto"}, "locked": False}
