"""The live parts on a real uvicorn thread: the status stream, the MJPEG preview, a clean stop."""

from __future__ import annotations

import json
import time
import urllib.request

import cv2
import numpy as np

from installation.web.server import preview_jpeg
from installation.web.service import WebServer


def read_until(response, marker: bytes, count: int, data: bytes = b"", limit: int = 2_000_000) -> bytes:
    while data.count(marker) < count and len(data) < limit:
        chunk = response.read1(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_preview_is_a_small_jpeg_of_the_newest_frame():
    rgb = np.zeros((720, 1280, 3), np.uint8)
    rgb[..., 0] = 255  # red in RGB
    image = cv2.imdecode(np.frombuffer(preview_jpeg(rgb), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (180, 320, 3)
    assert image[90, 160, 2] > 200 and image[90, 160, 0] < 50  # still red once back in BGR


def test_status_stream_and_preview_follow_the_show_and_the_server_stops_cleanly(make_panel, show):
    server = WebServer(make_panel(None), "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        with urllib.request.urlopen(base + "/api/events", timeout=5) as events:
            first = json.loads(events.readline().decode().removeprefix("data: "))
            assert first["status"]["preset"] == "default" and first["presets"] == ["default", "melt", "eyes"]
            show.status = {**show.status, "preset": "melt"}  # a key or MIDI knob changed it
            events.readline()
            second = json.loads(events.readline().decode().removeprefix("data: "))
            assert second["status"]["preset"] == "melt"
        with urllib.request.urlopen(base + "/api/preview.mjpg", timeout=5) as preview:
            assert preview.headers["Content-Type"].startswith("multipart/x-mixed-replace")
            data = read_until(preview, b"\xff\xd9", 1)  # one whole JPEG (its end marker)
            show.seq += 1  # a newer dream: a second frame follows; an unchanged one sends nothing
            data = read_until(preview, b"\xff\xd9", 2, data)
            assert data.count(b"--frame") == 2
    finally:
        started = time.monotonic()
        server.close()
    assert not server.thread.is_alive()
    assert time.monotonic() - started < 5.0
