"""NDI in (`--source ndi:NAME` | `ndi://HOST:PORT`): the spec, the did-you-mean, and a real sender made by the
test dreamt through the capture thread, lost (badge) and back (reconnect).

The real-network tests run in a loopback-only network namespace (installation.testing.netns)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import run
from engine.errors import DreamwallError
from installation.app.app import App
from installation.app.config import LiveConfig
from installation.app.status import CAMERA_LOST_BADGE
from installation.common.ndi import EXTRA_IPS_ENV, FoundSource, runtime
from installation.sources.ndi import NdiSource, NdiSpec, matching, parse_ndi_spec, unmatched
from installation.sources.openers import open_source
from installation.testing.netns import ran_in_loopback_netns
from installation.testing.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
CODEC_MEAN_LOSS = 6.0  # as tests/outputs/test_ndi_out.py: mean levels NDI's codec may leave on a frame


def test_an_ndi_spec_is_a_name_pattern_or_an_address():
    assert parse_ndi_spec("ndi:Resolume Arena") == NdiSpec(pattern="Resolume Arena")
    assert parse_ndi_spec(" NDI:obs ") == NdiSpec(pattern="obs")
    assert parse_ndi_spec("ndi://192.168.1.20:5961") == NdiSpec(address="192.168.1.20:5961")
    assert parse_ndi_spec("ndi://[::1]:5961") == NdiSpec(address="[::1]:5961")
    assert isinstance(open_source("ndi:Resolume"), NdiSource)  # the capture's FrameSource, not yet opened
    for bad, message in [("ndi:", "expected a part of an NDI source's name"),
                         ("ndi://stage-pc", "expected ndi://HOST:PORT with a port 1-65535"),
                         ("ndi://stage-pc:0", "expected ndi://HOST:PORT"),
                         ("ndi://:5961", "expected ndi://HOST:PORT")]:  # fmt: skip
        with pytest.raises(DreamwallError, match=message):
            parse_ndi_spec(bad)


def test_a_name_matches_exactly_first_then_as_a_part_of_a_name_in_any_case():
    found = [FoundSource("STAGE (Resolume Arena)", "10.0.0.2:5961"), FoundSource("STAGE (Resolume)", "10.0.0.2:5962"),
             FoundSource("FOH (OBS)", "10.0.0.3:5961")]  # fmt: skip
    assert [s.name for s in matching("resolume", found)] == ["STAGE (Resolume)"]  # the stream name, exactly
    assert [s.name for s in matching("arena", found)] == ["STAGE (Resolume Arena)"]
    assert [s.name for s in matching("stage", found)] == ["STAGE (Resolume Arena)", "STAGE (Resolume)"]
    assert str(unmatched("Resolum Arena", found, 3.0)) == (
        "no NDI source matches 'Resolum Arena' (did you mean 'STAGE (Resolume Arena)'?); "
        "found: 'STAGE (Resolume Arena)', 'STAGE (Resolume)', 'FOH (OBS)'")  # fmt: skip
    assert str(unmatched("OBS", [], 3.0)).startswith("no NDI source matches 'OBS': none found within 3 s")


# ---- the real runtime, in a loopback-only network namespace ------------------------------------


def ramp_image(width: int = 320, height: int = 180) -> np.ndarray:
    """Smooth colour ramps: what the codec keeps well, so a mismatch would show."""
    x, y = np.meshgrid(np.linspace(0, 255, width), np.linspace(0, 255, height))
    return np.dstack([x, y, np.full_like(x, 90.0)]).astype(np.uint8)


class TestSender:
    """An NDI sender made by the test (the same runtime), clocked by NDI at 30 fps on its own thread."""

    __test__ = False

    def __init__(self, name: str, image: np.ndarray) -> None:
        self.name = name
        self.rgbx = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> TestSender:
        ndi = runtime()
        settings = ndi.SendCreate()
        settings.ndi_name, settings.clock_video = self.name, True
        sender = ndi.send_create(settings)
        video = ndi.VideoFrameV2()
        video.data, video.FourCC = self.rgbx, ndi.FOURCC_VIDEO_TYPE_RGBX
        video.frame_rate_N, video.frame_rate_D = 30, 1
        self._stop.clear()

        def send() -> None:
            while not self._stop.is_set():
                ndi.send_send_video_v2(sender, video)  # waits for the frame's turn (clock_video)
            ndi.send_destroy(sender)

        self._thread = threading.Thread(target=send, name=f"test-sender {self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10.0)


def make_app(tmp_path: Path, source: str) -> App:
    presets = tmp_path / "presets"
    shutil.copytree(ROOT / "presets", presets, dirs_exist_ok=True)
    return App(LiveConfig(source=source, headless=True, process_size=(64, 36), seconds=300.0,
                          out=tmp_path / "show.mp4", presets_dir=presets, status_file=tmp_path / "status.json",
                          recordings_dir=tmp_path))  # fmt: skip


def test_an_ndi_sender_is_dreamt_lost_with_the_badge_and_back(request, tmp_path, monkeypatch):
    if ran_in_loopback_netns(request):
        return
    monkeypatch.setenv(EXTRA_IPS_ENV, "127.0.0.1")
    image = ramp_image()
    sender = TestSender("Test Pattern", image).start()
    app = make_app(tmp_path, "ndi:test pattern")
    codes: list[int] = []
    show = threading.Thread(target=lambda: codes.append(app.run()))
    show.start()
    try:
        wait_for(lambda: app.worker.health().frames > 3 and app.worker.health().mode == "camera",
                 "dreams of the NDI feed", timeout=60)  # fmt: skip
        frame = app.capture.latest()
        assert frame is not None and frame.image.shape == image.shape  # the sender's size, turned by nothing
        loss = np.abs(frame.image.astype(np.int16) - image.astype(np.int16)).mean()
        assert loss <= CODEC_MEAN_LOSS, loss
        assert app.snapshot()["source"]["description"] == "NDI 'test pattern'"
        assert app.hud_info().badge is None

        sender.stop()
        wait_for(lambda: app.hud_info().badge == CAMERA_LOST_BADGE, "the camera-lost badge", timeout=30)
        dreamt = app.worker.health().frames
        wait_for(lambda: app.worker.health().frames > dreamt + 2, "dreams while the sender is gone", timeout=30)

        sender.start()
        wait_for(lambda: app.capture.health().state == "ok" and app.worker.health().mode == "camera",
                 "the show to receive the sender again", timeout=60)  # fmt: skip
        assert app.capture.health().reconnects >= 1
        source_seq = app.worker.latest().source_seq
        wait_for(lambda: app.worker.latest().source_seq > source_seq + 3, "NDI frames dreamt again", timeout=30)
        assert app.hud_info().badge is None
    finally:
        app.stop()
        show.join(60.0)
        sender.stop()
    assert codes == [0]


def refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert run.main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    return lines[0]


def test_an_unknown_ndi_name_or_a_silent_address_is_one_line_at_the_start(request, tmp_path, monkeypatch, capsys):
    if ran_in_loopback_netns(request):
        return
    monkeypatch.setenv(EXTRA_IPS_ENV, "127.0.0.1")
    sender = TestSender("Test Pattern", ramp_image()).start()
    out = tmp_path / "show.mp4"
    try:
        line = refused(capsys, ["live", "--source", "ndi:Tset Pattern", "--frames", "1", "--out", str(out)])
        host: Any = line.split("did you mean '")[1].split(" (")[0] if "did you mean" in line else "?"
        assert line == (f"error: no NDI source matches 'Tset Pattern' (did you mean '{host} (Test Pattern)'?); "
                        f"found: '{host} (Test Pattern)'")  # fmt: skip
        line = refused(capsys, ["live", "--source", "ndi://127.0.0.1:5999", "--frames", "1", "--out", str(out)])
        assert line == ("error: source ndi://127.0.0.1:5999: no NDI sender answered within 3 s "
                        "(is it on, and is that its address and port?)")  # fmt: skip
    finally:
        sender.stop()
    assert not out.exists()
