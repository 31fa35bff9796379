"""An IP camera that stalls, against a real server no one here wrote: the bundled ffmpeg serving MJPEG over HTTP.

`ffmpeg -re -i clip -f mpjpeg -listen 1 http://127.0.0.1:PORT/cam.mjpg` on the loopback only.
The real app dreams the stream; the server is paused (SIGSTOP: the connection stays open and
nothing more comes, as a frozen IP camera does) and the show notices within the read timeout
and shows the badge; a server started again on the port is reconnected to; a server killed
for good leaves the show running on its last frame, with the badge.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from installation.app.status import CAMERA_LOST_BADGE
from installation.sources.openers import STREAM_READ_TIMEOUT_MS
from installation.testing.clips import pattern_clip
from installation.testing.mjpeg_camera import MjpegServer
from installation.testing.waiting import wait_for


@pytest.fixture
def server(tmp_path: Path):
    clip = pattern_clip(tmp_path / "cam.mp4", frames=40, fps=20, size=(96, 72), tone_hz=None)
    served = MjpegServer(clip).start()
    yield served
    served.kill()


def test_a_stalled_stream_is_noticed_reconnected_and_survived(presets_dir, tmp_path, make_app, server) -> None:
    app = make_app(presets_dir, tmp_path, source=server.url, seconds=300, out=tmp_path / "s.mp4")
    codes: list[int] = []
    runner = threading.Thread(target=lambda: codes.append(app.run()))
    runner.start()
    try:
        wait_for(lambda: app.worker.health().frames > 3 and app.worker.latest().mode == "camera",
                 "the stream dreamt", timeout=60)  # fmt: skip
        assert app.show_status().badge is None

        server.signal(signal.SIGSTOP)  # frozen: the connection stays open, nothing comes
        stopped = time.monotonic()
        wait_for(lambda: app.capture.health().state == "reconnecting", "the stall noticed", timeout=30)
        noticed = time.monotonic() - stopped
        assert noticed < STREAM_READ_TIMEOUT_MS / 1000 + 2.0
        assert app.show_status().badge == CAMERA_LOST_BADGE
        assert app.snapshot()["source"]["state"] == "reconnecting"

        server.kill()  # the camera is restarted: a new server on the same port
        server.start()
        wait_for(lambda: app.capture.health().state == "ok", "the reconnect", timeout=30)
        source_seq = app.worker.latest().source_seq
        wait_for(lambda: app.worker.latest().source_seq > source_seq + 3 and app.worker.latest().mode == "camera",
                 "stream frames dreamt again", timeout=30)  # fmt: skip
        assert app.capture.health().reconnects >= 1 and app.show_status().badge is None

        server.kill()  # gone for good
        wait_for(lambda: app.show_status().badge == CAMERA_LOST_BADGE, "the badge", timeout=30)
        dreams = app.worker.health().frames
        wait_for(lambda: app.worker.health().frames > dreams + 3, "the show going on without its camera", timeout=30)
        assert runner.is_alive()
    finally:
        app.stop()
        runner.join(60)
    assert codes == [0]
