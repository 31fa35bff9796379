"""The soak's panel visitor against the real panel (must pass) and against panels with issue 20's faults (must fail)."""

import itertools
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from installation.controls.actions import Action
from installation.soak.panel import BAD_PROBES, PanelClient, judge_panel
from installation.web.routes import Panel
from installation.web.server import LogRing, PanelSource
from installation.web.service import WebServer

PRESETS = ["default", "melt"]


class ObedientShow:
    """A show whose state follows the actions at once (the real one applies them on its next tick)."""

    def __init__(self) -> None:
        self.status: dict[str, object] = {"preset": "default", "frozen": False, "asleep": False, "blackout": False}
        self.posted: list[str] = []

    def post(self, action: Action) -> None:
        self.posted.append(action.kind)
        if action.kind == "freeze":
            self.status["frozen"] = not self.status["frozen"]
        elif action.kind in ("sleep", "wake"):
            self.status["asleep"] = self.status["frozen"] = action.kind == "sleep"


def visit(port: int, rounds: int) -> PanelClient:
    """`rounds` rounds, one after the other on this thread; every round may sleep/wake or freeze."""
    client = PanelClient(port, None, threading.Event(), calm=lambda: True)
    for number in range(rounds):
        client.round(number)
    return client


@pytest.fixture
def real_panel(tmp_path):
    show = ObedientShow()
    image = np.full((90, 160, 3), 100, np.uint8)
    frames = itertools.count(1)  # a new dream at every look: the preview never waits
    source = PanelSource(post=show.post, status=lambda: dict(show.status), frame=lambda: (next(frames), image),
                         presets=lambda: list(PRESETS), screenshots=tmp_path)
    server = WebServer(Panel(source, None, LogRing()), "127.0.0.1", 0).start()
    yield server, show
    server.close()


def test_the_real_panel_refuses_every_bad_request_and_obeys_the_good_ones(real_panel):
    server, show = real_panel
    client = visit(server.port, rounds=len(BAD_PROBES))
    report = client.report
    judged = judge_panel(report)
    assert judged.failures == [], report.as_json()
    assert report.refused == len(BAD_PROBES)
    assert report.state_changes >= 4  # freeze/unfreeze and sleep/wake, each half seen in /api/state
    assert report.stream_frames >= 1 and report.events >= 1
    assert "quit" not in show.posted and show.status["frozen"] is False


class NaivePanel(BaseHTTPRequestHandler):
    """A panel without the guards: obeys any request, and a body it cannot parse is a 500."""

    show = ObedientShow()

    def log_message(self, *args) -> None:
        pass

    def _answer(self, code: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/api/preview"):
            self._answer(200, b"--frame\r\n", "multipart/x-mixed-replace; boundary=frame")
        elif self.path.startswith("/api/events"):
            self._answer(200, b"data: {}\n\n", "text/event-stream")
        else:
            self._answer(200, json.dumps({"status": self.show.status}).encode())

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            kind = json.loads(body)["kind"]
        except (ValueError, KeyError, TypeError, RecursionError):
            self._answer(500, b"internal server error")
            return
        self.show.post(Action("next") if kind not in ("freeze", "sleep", "wake") else Action(kind))
        self._answer(200, b"{}")


def test_a_panel_without_its_guards_fails_on_5xx_and_obeyed_requests():
    server = ThreadingHTTPServer(("127.0.0.1", 0), NaivePanel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        report = visit(server.server_address[1], rounds=len(BAD_PROBES)).report
    finally:
        server.shutdown()
        server.server_close()
    failures = judge_panel(report).failures
    assert failures[:2] == [
        f"panel: 3 answer(s) 5xx, e.g. {'; '.join(report.server_errors.examples[:2])}",
        f"panel: 8 bad request(s) obeyed, e.g. {'; '.join(report.obeyed.examples[:2])}",
    ]
    assert "4000 nested" not in " ".join(report.obeyed.examples)  # the 500s: malformed, nested, not UTF-8
    assert report.obeyed.examples[0] == "unknown action: answered 200: b'{}'"


def test_a_panel_that_does_not_answer_fails():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    report = visit(port, rounds=1).report
    failures = judge_panel(report).failures
    assert failures and failures[0].startswith("panel: ") and "request(s) unanswered" in failures[0]
