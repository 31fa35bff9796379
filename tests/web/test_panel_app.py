"""The panel on the real app (headless demo): requests land as Actions, a key shows on it, it stops with the show."""

from __future__ import annotations

import io
import json
import threading
import urllib.request

import pytest

from installation.app.app import App
from installation.app.config import LiveConfig
from installation.controls.actions import Action
from installation.controls.inputs import ControlsConfig
from installation.testing.waiting import wait_for


def get_state(base: str) -> dict:
    with urllib.request.urlopen(base + "/api/state", timeout=5) as answer:
        return json.loads(answer.read())


def post(base: str, body: dict) -> int:
    request = urllib.request.Request(base + "/api/action", data=json.dumps(body).encode(), method="POST",
                                     headers={"X-Dreamwall-Token": "local", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return answer.status


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("DREAMWALL_STATE_DIR", str(tmp_path / "state"))
    app = App(LiveConfig(source="demo", headless=True, seconds=120, out=tmp_path / "show.mp4", web_port=0,
                         process_size=(160, 90), controls=ControlsConfig(midi=False)), stdout=io.StringIO())
    runner = threading.Thread(target=app.run, daemon=True)
    runner.start()
    yield app
    app.stop()
    runner.join(30)


def test_panel_requests_are_actions_and_keys_show_on_the_panel(app):
    base = f"http://127.0.0.1:{app.web.port}"
    first = wait_for(lambda: get_state(base)["status"], "the first status")
    assert first["midi"] == "off" and first["feedback"] == 0.95 and first["memory_mb"] > 0  # the panel's extras
    assert post(base, {"kind": "select", "value": "melt"}) == 200
    wait_for(lambda: get_state(base)["status"]["preset"] == "melt", "melt on the panel")
    assert post(base, {"kind": "intensity", "value": 0.9}) == 200
    wait_for(lambda: get_state(base)["status"]["intensity"] == 0.9, "intensity 0.9")
    app.dispatcher.post(Action("next", source="keyboard"))  # a key press, not the panel
    wait_for(lambda: get_state(base)["status"]["preset"] not in ("melt",), "the key's preset on the panel")
    web = app.web
    app.stop()
    wait_for(lambda: not web.thread.is_alive(), "the panel to stop with the show", timeout=30)
