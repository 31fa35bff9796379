"""The record control in a headless show (no screen to grab): the panel's button, like a key, MIDI or OSC,
posts the one `record` Action, and a playable recording appears in the recordings folder."""

from __future__ import annotations

import io
import json
import threading
import urllib.request
from pathlib import Path

import pytest

from installation.app.app import App
from installation.app.config import LiveConfig
from installation.controls.actions import Action
from installation.controls.inputs import ControlsConfig
from installation.outputs.video_io import count_frames
from installation.testing.waiting import wait_for


def status(base: str) -> dict:
    with urllib.request.urlopen(base + "/api/state", timeout=5) as answer:
        return json.loads(answer.read())["status"] or {}


def press_record(base: str) -> int:
    request = urllib.request.Request(base + "/api/action", data=json.dumps({"kind": "record"}).encode(),
                                     method="POST", headers={"X-Dreamwall-Token": "local",
                                                             "Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=5) as answer:
        return answer.status


@pytest.fixture
def show(tmp_path, monkeypatch):
    monkeypatch.setenv("DREAMWALL_STATE_DIR", str(tmp_path / "state"))
    recordings = tmp_path / "recordings"
    app = App(LiveConfig(source="demo", headless=True, seconds=300, out=tmp_path / "show.mp4", web_port=0,
                         process_size=(64, 36), recordings_dir=recordings, status_file=tmp_path / "status.json",
                         controls=ControlsConfig(midi=False)), stdout=io.StringIO())  # fmt: skip
    runner = threading.Thread(target=app.run, daemon=True)
    runner.start()
    yield app, recordings
    app.stop()
    runner.join(60)


def test_the_panels_record_button_records_a_headless_show(show):
    app, recordings = show
    base = f"http://127.0.0.1:{app.web.port}"
    wait_for(lambda: status(base).get("frames", {}).get("shown", 0) > 0, "the first shown frame")
    assert press_record(base) == 200
    name = wait_for(lambda: (status(base).get("recording") or "").startswith("REC dreamwall-")
                    and status(base)["recording"], "a named recording on the panel")  # fmt: skip
    wait_for(lambda: app.outputs.record.recorder is not None and app.outputs.record.recorder.frames_written >= 3,
             "three recorded frames")  # fmt: skip
    assert press_record(base) == 200
    wait_for(lambda: status(base).get("recording") is None, "the recording to stop")
    files = sorted(recordings.glob("*.mp4"))
    assert [path.name for path in files] == [name.split()[1]]
    assert count_frames(files[0]) >= 3
    assert not list(recordings.glob(".*")), "no hidden temp file"
    assert any(f"saved {files[0].name}" in notice for notice in app.notices)


def test_a_recording_left_on_is_finished_when_the_headless_show_ends(show):
    app, recordings = show
    app.dispatcher.post(Action("record", source="osc"))  # a key or MIDI posts the same Action
    wait_for(lambda: app.outputs.record.recorder is not None and app.outputs.record.recorder.frames_written >= 2,
             "two recorded frames")  # fmt: skip
    app.stop()
    wait_for(lambda: list(recordings.glob("dreamwall-*.mp4")), "the recording under its name")
    (path,) = recordings.glob("dreamwall-*.mp4")
    assert count_frames(Path(path)) >= 2
