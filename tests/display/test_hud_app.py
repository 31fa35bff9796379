"""What App tells the HUD and the badge (issue 10, 15-18): a real app on the demo source, headless."""

import dataclasses
import functools
import re
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

import installation.app.app as app_module
from installation.app.app import NO_CAMERA_NOTICE, App
from installation.app.config import HEADLESS_DEFAULT_SECONDS, LiveConfig
from installation.controls.actions import Action
from installation.display.hud import as_hud_info, hud_lines
from installation.outputs.recorder import Recorder, RecordToggle
from installation.testing.clocks import HandClock

ROOT = Path(__file__).resolve().parents[2]


class NullWriter:
    def write(self, rgb: np.ndarray) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


class FakeRenderer:
    """Only what the blackout handler touches."""

    def __init__(self) -> None:
        self.blackout = False

    def set_blackout(self, on: bool) -> None:
        self.blackout = on

    def close(self) -> None:
        pass


@pytest.fixture
def make_app(tmp_path):
    presets_dir = tmp_path / "presets"
    shutil.copytree(ROOT / "presets", presets_dir)
    made = []

    def make(**changes):
        config = dict(source="demo", headless=True, process_size=(64, 36), presets_dir=presets_dir,
                      status_file=tmp_path / "status.json", recordings_dir=tmp_path, screenshots_dir=tmp_path)
        config.update(changes)
        clock = HandClock(1000.0)
        app = App(LiveConfig(**config), clock=clock)
        made.append(app)
        return app, clock

    yield make
    for app in made:
        app.close()


def lines_of(app: App) -> list:
    return hud_lines(as_hud_info(app.hud_info()))


def test_notices_leave_the_hud_after_ten_seconds_but_stay_in_the_status(make_app):
    app, clock = make_app()
    app.notify("reloaded preset melt")
    assert "reloaded preset melt" in app.hud_info().notices
    clock.now += 10.5
    assert "reloaded preset melt" not in app.hud_info().notices
    assert app.snapshot()["notices"][-1] == "reloaded preset melt"


def test_a_fixed_preset_clears_its_error_line_and_the_error_is_said_once(make_app, tmp_path):
    app, _ = make_app()
    reload_clock = [100.0]
    app.reloader.clock = lambda: reload_clock[0]

    def poll_settled():
        for _ in range(2):
            reload_clock[0] += 1.0
            app.reloader.poll()
        app.housekeeping.run_handed()

    path = tmp_path / "presets" / "default.yaml"
    good = path.read_text()
    path.write_text(re.sub(r"^lr: [0-9.]+ ", "lr: 7 ", good, count=1, flags=re.M))  # whatever the default lr is
    poll_settled()
    error = app.last_error
    assert error is not None and "got 7" in error
    texts = [line.text for line in lines_of(app)]
    assert texts.count(error) == 1  # the red line only, not a yellow notice too
    path.write_text(re.sub(r"^lr: [0-9.]+ ", "lr: 0.04 ", good, count=1, flags=re.M))
    poll_settled()
    assert "error" not in [line.label for line in lines_of(app)] and app.last_error is None


def test_another_preset_clears_the_error_line(make_app):
    app, _ = make_app()
    app.dispatcher.post(Action("select", 42, source="test"))
    app.dispatcher.drain()
    assert app.hud_info().last_error == "preset number must be between 1 and 8, got 42"
    app.dispatcher.post(Action("next", source="test"))
    app.dispatcher.drain()
    assert app.hud_info().last_error == ""


def test_hud_rec_line_reads_rec_name_time(make_app, tmp_path):
    app, _ = make_app()
    clock = HandClock(1000.0)
    factory = functools.partial(Recorder, writer_factory=lambda *a: NullWriter(), clock=clock)
    record = app.outputs.record = RecordToggle(tmp_path, 25, recorder_factory=factory,
                                               now=lambda: datetime(2025, 1, 31, 18, 30, 5))
    record.toggle()
    record.write(np.zeros((36, 64, 3), np.uint8))
    clock.now += 3.4
    rec = [line for line in lines_of(app) if line.label == "REC"]
    assert rec == [("REC", "dreamwall-20250131-183005.mp4 00:03", "error")]  # once REC, once the time
    record.stop()


def test_hud_shows_the_key_number_of_the_preset(make_app):
    app, _ = make_app()
    app.dispatcher.post(Action("select", 3, source="test"))
    app.dispatcher.drain()
    assert lines_of(app)[0].text.startswith(f"3 · {app.programme.current.name} · intensity")


def test_badge_follows_no_camera_sleep_and_camera_lost(make_app, monkeypatch):
    monkeypatch.setattr(app_module, "camera_available", lambda index: False)
    app, _ = make_app(source=None)
    assert app.hud_info().badge == NO_CAMERA_NOTICE
    assert [line.text for line in lines_of(app)].count(NO_CAMERA_NOTICE) == 1  # notice and state said once
    app.sleep()
    assert app.hud_info().badge == "asleep until opening time"
    app.wake()
    health = app.worker.health()
    monkeypatch.setattr(app.worker, "health", lambda: dataclasses.replace(health, mode="source-lost"))
    assert app.hud_info().badge == "camera lost: reconnecting"


def test_badge_says_camera_lost_while_the_capture_reconnects_and_clears_after(make_app, monkeypatch):
    app, _ = make_app()
    health = app.capture.health()
    monkeypatch.setattr(app.capture, "health", lambda: dataclasses.replace(health, state="reconnecting"))
    assert app.hud_info().badge == "camera lost: reconnecting"
    monkeypatch.setattr(app.capture, "health", lambda: dataclasses.replace(health, state="ok"))
    assert app.hud_info().badge is None


def test_a_chosen_source_has_no_badge(make_app):
    app, _ = make_app()
    assert app.hud_info().badge is None


def test_blackout_pauses_the_dream_and_keeps_a_user_freeze(make_app):
    app, _ = make_app()
    app.renderer = FakeRenderer()

    def press(kind: str) -> None:
        app.dispatcher.post(Action(kind, source="test"))
        app.dispatcher.drain()

    press("blackout")
    assert app.renderer.blackout and app.worker.frozen  # no dreaming on a black screen
    press("blackout")
    assert not app.renderer.blackout and not app.worker.frozen
    press("freeze")
    press("blackout")
    press("blackout")
    assert app.worker.frozen  # the user's freeze survives the blackout


def test_a_windowed_show_writes_no_camera_frame_to_disk_and_tells_systemd_once_dreams_show(tmp_path, monkeypatch):
    """README: without R, S or headless output no camera frame reaches the disk; READY=1 follows the first dream."""
    import socket
    import threading

    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    out = tmp_path / "out"
    out.mkdir()
    app = App(LiveConfig(source="demo", headless=False, windowed=True, size=(160, 90), process_size=(64, 36),
                         presets_dir=ROOT / "presets", recordings_dir=out, screenshots_dir=out, out=out / "clip.mp4"))
    dreamed = threading.Event()

    def stop_after_dreams() -> None:
        while not dreamed.wait(0.05):
            if app.snapshot()["frames"]["dreamed"] >= 3:
                dreamed.set()
        app.stop()

    stopper = threading.Thread(target=stop_after_dreams, daemon=True)
    stopper.start()
    try:
        assert app.run() == 0
    finally:
        dreamed.set()
        stopper.join(5.0)
        app.close()
    assert app.snapshot()["frames"]["dreamed"] >= 3  # it really showed dreams
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == []  # the socket is not a file
    notify.setblocking(False)
    first = dict(line.split("=", 1) for line in notify.recv(4096).decode().split("\n"))
    notify.close()
    assert first == {"READY": "1", "STATUS": "showing default"}


def test_without_a_display_the_default_run_is_a_ten_second_headless_clip(tmp_path, monkeypatch):
    """README, set-up: no display -> headless, a 10 s clip out/dreamwall-<time>.mp4, its path and the fps printed."""
    import io
    import time

    monkeypatch.setattr(app_module, "display_available", lambda: False)
    out = tmp_path / "out"
    printed = io.StringIO()
    app = App(LiveConfig(source="demo", process_size=(64, 36), presets_dir=ROOT / "presets", recordings_dir=out,
                         screenshots_dir=out), clock=lambda: time.monotonic() * 20, stdout=printed)  # 10 s in 0.5 s
    try:
        assert app.headless and HEADLESS_DEFAULT_SECONDS == 10.0
        assert app.run() == 0  # ends by itself: no --frames, no --seconds
    finally:
        app.close()
    (clip,) = out.iterdir()
    assert re.fullmatch(r"dreamwall-\d{8}-\d{6}\.mp4", clip.name)
    assert re.search(rf"^wrote {re.escape(str(clip))} \(\d+ dreamed frames, [0-9.]+ dream fps\)$", printed.getvalue(),
                     flags=re.MULTILINE), printed.getvalue()  # fmt: skip
