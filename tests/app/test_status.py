"""ShowStatus: one value, three readers (status file, HUD, systemd) that say the same thing."""

import dataclasses

import pytest

from installation.app.status import ASLEEP_BADGE, CAMERA_LOST_BADGE, NO_CAMERA_NOTICE, OscStatus, ShowStatus
from installation.dreaming.worker import WorkerHealth
from installation.outputs.ndi_out import NdiOutStats
from installation.sources.capture import CaptureHealth

WORKER = WorkerHealth(state="running", fps=7.456, frames=120, dropped=3, errors=1, consecutive_errors=0,
                      last_error="oom once", step_ms=41.5, latency_ms=88.04, mode="camera", motion_level=0.12345,
                      reactive_scale=1.23456, process_size=(320, 180), notice=None,
                      threads="1 torch thread (48.1 ms per frame; 76.6 ms with 2)")
CAPTURE = CaptureHealth(state="ok", source="demo 640x360", fps=29.987, frames=400, dropped=12, reconnects=2,
                        last_error=None)


def status(**changes) -> ShowStatus:
    fields = dict(preset="melt", preset_number=2, network="squeezenet1_1", objective="fire7", backend="torch",
                  backend_reason="auto: cpu", device="cpu", device_reason="auto: no CUDA GPU", precision="fp32",
                  intensity=0.123456, audio_gain=None, frozen=False, asleep=False, headless=True, worker=WORKER,
                  capture=CAPTURE, source_spec="demo", display_fps=59.94, shown=100, errors=1,
                  last_error="oom once", notices=("a", "b"), recording=None, recording_hud=None, uptime_s=12.34,
                  osc=OscStatus(port=9000, ignored=4), demo_by_default=False)
    fields.update(changes)
    return ShowStatus(**fields)


def test_the_status_file_keeps_its_keys_and_rounding():
    data = status().as_json()
    assert data == {
        "preset": "melt", "network": "squeezenet1_1", "objective": "fire7", "backend": "torch",
        "backend_reason": "auto: cpu", "device": "cpu", "device_reason": "auto: no CUDA GPU", "precision": "fp32",
        "precision_reason": "",
        "intensity": 0.1235, "audio_gain": None, "frozen": False, "asleep": False,
        "fps": {"capture": 29.99, "dream": 7.46, "display": 59.94},
        "frames": {"captured": 400, "capture_dropped": 12, "dreamed": 120, "shown": 100},
        "latency_ms": 88.0,
        "source": {"description": "demo 640x360", "state": "ok", "reconnects": 2, "last_error": None},
        "worker": {"state": "running", "errors": 1, "last_error": "oom once", "mode": "camera", "step_ms": 41.5,
                   "notice": None, "threads": "1 torch thread (48.1 ms per frame; 76.6 ms with 2)",
                   "dreamer": "gradient", "student": None},
        "motion": {"level": 0.123, "scale": 1.235}, "process_size": [320, 180], "errors": 1,
        "last_error": "oom once", "notices": ["a", "b"], "recording": None, "uptime_s": 12.3, "headless": True,
        "osc": {"port": 9000, "ignored": 4}, "blackout": False, "camera": None, "ndi": None,
        "tempo": None,
    }  # fmt: skip


def test_the_status_file_counts_what_ndi_sent_and_dropped():
    ndi = NdiOutStats(name="STAGE (Dreamwall)", state="sending", sent=500, dropped=7, connections=2, fps=11.987,
                      send_ms=8.4567, last_error=None)  # fmt: skip
    assert status(ndi=ndi).as_json()["ndi"] == {"name": "STAGE (Dreamwall)", "state": "sending", "sent": 500,
                                                "dropped": 7, "connections": 2, "fps": 11.99, "send_ms": 8.46,
                                                "last_error": None}  # fmt: skip


def test_asleep_the_status_file_says_so_without_a_capture():
    data = status(capture=None, asleep=True).as_json()
    assert data["source"] == {"description": "demo", "state": "asleep", "reconnects": 0, "last_error": None}
    assert data["fps"]["capture"] == 0.0 and data["frames"]["captured"] == 0


def test_the_hud_reads_the_same_value():
    info = status(recording_hud=("dreamwall-1.mp4", 3.5, 1)).hud_info(("fresh",))
    assert (info.preset, info.preset_number, info.placement) == ("melt", 2, "cpu fp32")
    assert (info.capture_fps, info.dream_fps, info.intensity) == (29.99, 7.46, 0.1235)
    assert (info.source, info.source_health, info.process_size) == ("demo 640x360", "ok", (320, 180))
    assert (info.recording, info.recording_s, info.recording_dropped) == ("dreamwall-1.mp4", 3.5, 1)
    assert info.notices == ("fresh",) and info.last_error == "oom once" and info.badge is None


def test_the_hud_names_a_mode_other_than_camera_and_adds_the_worker_notice():
    worker = dataclasses.replace(WORKER, mode="attract", notice="out of memory: 320x180 -> 256x144")
    info = status(worker=worker).hud_info(())
    assert info.source_health == "ok (attract)"
    assert info.notices == ("out of memory: 320x180 -> 256x144",)


@pytest.mark.parametrize(("changes", "badge"), [
    ({}, None),
    ({"demo_by_default": True}, NO_CAMERA_NOTICE),
    ({"asleep": True, "capture": None, "demo_by_default": True}, ASLEEP_BADGE),
    ({"worker": dataclasses.replace(WORKER, mode="source-lost")}, CAMERA_LOST_BADGE),
    ({"capture": dataclasses.replace(CAPTURE, state="failed")}, CAMERA_LOST_BADGE),
])  # fmt: skip
def test_badge(changes, badge):
    assert status(**changes).badge == badge


def test_systemd_reads_the_same_fps():
    assert status().systemd_line() == "preset melt | dream 7.5 fps | display 59.9 fps"
