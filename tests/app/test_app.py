"""The installation end to end on the CPU: demo source, real squeezenet, tiny process size."""

import re
from pathlib import Path

import pygame
import pytest
import torch

from installation.controls.actions import Action
from installation.ops.status import read_status
from installation.outputs.video_io import count_frames

ROOT = Path(__file__).resolve().parents[2]
TINY = (64, 36)


def test_headless_run_writes_the_requested_frames_and_status(presets_dir, tmp_path, capsys, make_app):
    out = tmp_path / "clip.mp4"
    app = make_app(presets_dir, tmp_path, frames=6, out=out)
    assert app.run() == 0
    assert count_frames(out) == 6
    stdout = capsys.readouterr().out
    assert stdout.splitlines()[0] == "preset: default"
    assert f"wrote {out} (6 dreamed frames" in stdout
    status = read_status(tmp_path / "status.json")
    assert status["preset"] == "default" and status["network"] == "squeezenet1_1"
    assert status["frames"]["dreamed"] >= 6 and status["frames"]["shown"] == 6
    assert status["source"]["state"] in ("ok", "closed") and status["source"]["description"].startswith("demo")
    assert status["fps"]["dream"] > 0 and status["uptime_s"] > 0
    assert status["errors"] == 0 and status["last_error"] is None
    assert not list(tmp_path.glob(".*.mp4*")), "no temporary video left behind"


def test_actions_change_the_preset_and_headless_prints_it(presets_dir, tmp_path, capsys, make_app):
    app = make_app(presets_dir, tmp_path, frames=3, out=tmp_path / "a.mp4")
    app.dispatcher.post(Action("next", source="test"))
    app.dispatcher.post(Action("select", "ghost", source="test"))
    assert app.run() == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("preset:")]
    assert lines == ["preset: default", "preset: melt", "preset: ghost"]
    assert app.programme.current.name == "ghost"


def test_intensity_controls_reach_the_worker(presets_dir, tmp_path, make_app):
    app = make_app(presets_dir, tmp_path)
    try:
        lr_max = app.programme.current.lr_max
        app.dispatcher.post(Action("intensity", 1.0))
        app.dispatcher.drain()
        assert app.worker.settings.step.lr == pytest.approx(lr_max)
        app.dispatcher.post(Action("intensity_step", -0.25))
        app.dispatcher.post(Action("feedback", 0.3))
        app.dispatcher.drain()
        assert app.worker.settings.step.lr == pytest.approx(0.75 * lr_max)
        assert app.worker.settings.feedback.feedback == pytest.approx(0.3)
    finally:
        app.close()


def test_broken_preset_edit_is_reported_and_last_good_kept(presets_dir, tmp_path, make_app):
    app = make_app(presets_dir, tmp_path)
    clock = [100.0]
    app.reloader.clock = lambda: clock[0]

    def poll_settled():
        for _ in range(2):  # a change is applied once the file stopped changing
            clock[0] += 1.0
            app.reloader.poll()
        app.housekeeping.run_handed()  # what the main loop does each tick: applies happen on its thread

    try:
        path = presets_dir / "default.yaml"
        good_lr = app.worker.settings.step.lr
        path.write_text(re.sub(r"^lr: [0-9.]+ ", "lr: 7 ", path.read_text(), count=1, flags=re.M))
        poll_settled()
        assert app.last_error == f"{path}: key 'lr': must be between 0 and 1, got 7 (kept last good)"
        assert app.notices[-1] == app.last_error  # what the HUD shows
        assert app.worker.settings.step.lr == good_lr
        path.write_text(path.read_text().replace("lr: 7 ", "lr: 0.04 "))
        poll_settled()
        assert app.worker.settings.step.lr == pytest.approx(0.04)
    finally:
        app.close()


def test_sleep_releases_the_camera_and_wake_brings_it_back(presets_dir, tmp_path, make_app):
    app = make_app(presets_dir, tmp_path)
    try:
        capture = app.capture
        app.dispatcher.post(Action("sleep", source="schedule"))
        app.dispatcher.drain()
        assert app.capture is None and capture.health().state == "closed"
        assert app.worker.frozen and app.snapshot()["asleep"]
        app.dispatcher.post(Action("wake", source="schedule"))
        app.dispatcher.drain()
        assert app.capture is not None and app.capture is not capture
        assert app.capture.wait_newer(0, timeout=5.0) is not None
        assert not app.worker.frozen
    finally:
        app.close()


def test_keyboard_in_a_window_drives_the_show(presets_dir, tmp_path, make_app):
    app = make_app(presets_dir, tmp_path, headless=False, windowed=True, size=(160, 90))
    try:
        pygame.display.init()  # the renderer opens its window on this same (dummy) video system
        for key in (pygame.K_RIGHT, pygame.K_h, pygame.K_q):
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=""))
        assert app.run() == 0
    finally:
        app.close()
    assert app.programme.current.name == "melt"
    assert app.renderer.hud_visible


def test_osc_messages_reach_a_running_headless_instance(tmp_path):
    """Real UDP packets on loopback to a real process; the change is read back from --status-file."""
    import json
    import signal
    import subprocess
    import sys
    import time

    from pythonosc.udp_client import SimpleUDPClient

    status_path = tmp_path / "status.json"
    process = subprocess.Popen(
        [sys.executable, "run.py", "live", "--source", "demo", "--headless", "--seconds", "120", "--no-midi",
         "--process-size", "64x36", "--osc-port", "0", "--status-file", str(status_path),
         "--out", str(tmp_path / "osc.mp4")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )

    def status_when(predicate, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if status_path.exists():
                status = json.loads(status_path.read_text())
                if predicate(status):
                    return status
            assert process.poll() is None, process.communicate()
            time.sleep(0.1)
        raise AssertionError(f"status never matched: {status_path.read_text() if status_path.exists() else None}")

    try:
        status = status_when(lambda s: s["osc"] is not None and s["frames"]["dreamed"] > 0)
        assert status["preset"] == "default"
        client = SimpleUDPClient("127.0.0.1", status["osc"]["port"])
        client.send_message("/dreamwall/preset", "ghost")
        status_when(lambda s: s["preset"] == "ghost")
        client.send_message("/dreamwall/intensity", 2.5)     # out of range: dropped, never fatal
        client.send_message("/dreamwall/nonsense", 1)        # unknown address: dropped
        client.send_message("/dreamwall/preset", 3)          # by number
        status = status_when(lambda s: s["preset"] == "creatures")
        assert status["osc"]["ignored"] >= 2
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "preset: ghost" in out and "preset: creatures" in out
    assert (tmp_path / "osc.mp4").exists()


def test_explicit_backend_that_cannot_run_is_refused_before_any_work(presets_dir, tmp_path, make_app):
    from engine.errors import DreamwallError

    with pytest.raises(DreamwallError) as error:
        make_app(presets_dir, tmp_path, backend="tensorrt")
    assert str(error.value).startswith("backend 'tensorrt' cannot run here: tensorrt needs CUDA")


def test_preset_backend_that_cannot_run_falls_back_to_torch_with_a_notice(presets_dir, tmp_path, make_app):
    default = presets_dir / "default.yaml"
    default.write_text(default.read_text().replace("backend: auto ", "backend: tensorrt "))
    app = make_app(presets_dir, tmp_path, frames=2, out=tmp_path / "b.mp4")
    assert app.run() == 0
    status = read_status(tmp_path / "status.json")
    assert status["backend"] == "torch"
    assert any(n.startswith("backend tensorrt unavailable") for n in status["notices"])


def test_audio_level_pushes_the_step_size_up_to_lr_max(presets_dir, tmp_path, monkeypatch, make_app):
    from installation.controls.audio import AudioReactive

    class LoudRoom:
        gain = 1.0

        def intensity(self):
            return self.gain

        def close(self):
            pass

    room = LoudRoom()
    monkeypatch.setattr(AudioReactive, "open", classmethod(lambda cls, device=None: room))
    app = make_app(presets_dir, tmp_path, audio=True)
    try:
        preset = app.programme.current
        room.gain = 1.5
        app.loop.tick()
        assert app.worker.settings.step.lr == pytest.approx(1.5 * preset.lr)
        room.gain = 10.0
        app.loop.audio_checked = None
        app.loop.tick()
        assert app.worker.settings.step.lr == pytest.approx(preset.lr_max)
        assert app.snapshot()["audio_gain"] == 10.0
    finally:
        app.close()


def test_no_audio_input_is_a_notice_not_a_failure(presets_dir, tmp_path, monkeypatch, make_app):
    from installation.controls.audio import AudioReactive

    def no_sounddevice():
        raise ImportError("No module named 'sounddevice'")

    real_open = AudioReactive.open
    monkeypatch.setattr(AudioReactive, "open", lambda device=None: real_open(device, importer=no_sounddevice))
    app = make_app(presets_dir, tmp_path, audio=True, frames=2, out=tmp_path / "a.mp4")
    assert app.run() == 0
    assert "audio-reactive off: no audio input (see the log)" in app.notices


def test_knob_moves_do_not_rebuild_the_objective(presets_dir, tmp_path, monkeypatch, make_app):
    from installation.presets.loader import Preset

    app = make_app(presets_dir, tmp_path)
    try:
        builds = []
        real_build = Preset.build_objective
        monkeypatch.setattr(Preset, "build_objective", lambda self, net, *a: builds.append(self.name)
                            or real_build(self, net, *a))
        for value in (0.1, 0.4, 0.7, 0.9):
            app.dispatcher.post(Action("intensity", value, source="midi"))
        app.dispatcher.drain()
        assert builds == []
        app.dispatcher.post(Action("next"))
        app.dispatcher.drain()
        assert builds == ["melt"]
    finally:
        app.close()


def test_fp16_preset_on_a_cpu_exits_at_start_and_is_a_notice_on_reload(presets_dir, tmp_path, make_app):
    from engine.errors import DreamwallError

    default = presets_dir / "default.yaml"
    original = default.read_text()
    default.write_text(original.replace("precision: auto ", "precision: fp16 "))
    with pytest.raises(DreamwallError, match="preset default: precision fp16 needs a CUDA GPU; this show runs on cpu"):
        make_app(presets_dir, tmp_path)
    default.write_text(original)
    app = make_app(presets_dir, tmp_path)
    clock = [100.0]
    app.reloader.clock = lambda: clock[0]
    try:
        default.write_text(original.replace("precision: auto ", "precision: fp16 "))
        for _ in range(2):
            clock[0] += 1.0
            app.reloader.poll()
        app.housekeeping.run_handed()
        assert ("preset default: precision fp16 needs a CUDA GPU; this show runs on cpu: dreaming in fp32"
                in app.notices)  # fmt: skip
        assert app.notices[-1] == "reloaded preset default"  # the show went on with the edit
        assert app.worker.settings.dtype == torch.float32 and app.programme.current.precision == "fp16"
    finally:
        app.close()


def test_status_says_where_and_how_the_dream_runs(presets_dir, tmp_path, make_app):
    app = make_app(presets_dir, tmp_path, frames=2, out=tmp_path / "c.mp4", size=(128, 72))
    assert app.run() == 0
    status = read_status(tmp_path / "status.json")
    assert status["device"] == "cpu" and status["precision"] == "fp32"
    assert status["device_reason"] == "auto: no CUDA GPU, dreaming on the CPU"
    assert count_frames(tmp_path / "c.mp4") == 2


def test_a_screenshot_carries_the_look_on_screen_with_the_knobs(presets_dir, tmp_path, make_app):
    """What the show dreams now (preset and knob moves) goes into the PNG and comes back as a preset."""
    import numpy as np

    from installation.outputs.png_settings import read_settings
    from installation.presets.snapshot import recover_preset

    app = make_app(presets_dir, tmp_path)
    try:
        app.dispatcher.post(Action("select", "melt", source="test"))
        app.dispatcher.post(Action("intensity", 0.5))
        app.dispatcher.post(Action("feedback", 0.3))
        app.dispatcher.drain()
        path = app.outputs.screenshot(None, lambda: np.zeros((36, 64, 3), np.uint8), app.settings_record())
        record = read_settings(path)
        assert record["preset_name"] == "melt" and record["source"] == "live"
        recovered = recover_preset(record, presets_dir / "found.yaml", path.name)
        assert recovered.lr == pytest.approx(app.worker.settings.step.lr)
        assert recovered.feedback == pytest.approx(0.3)
        assert recovered.objective == app.programme.current.objective
    finally:
        app.close()


def test_a_cpu_show_tunes_its_threads_says_so_and_gives_them_back(presets_dir, tmp_path, make_app):
    threads = torch.get_num_threads()
    app = make_app(presets_dir, tmp_path, frames=60)
    assert app.run() == 0
    status = read_status(tmp_path / "status.json")
    tuned = status["worker"]["threads"]
    if threads > 1:
        assert re.fullmatch(r"[12] torch threads? \(\d+\.\d ms per frame; \d+\.\d ms with [12]\)", tuned), tuned
    assert torch.get_num_threads() == threads  # the test process (and anything after the show) is as it was
