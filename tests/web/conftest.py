"""A panel over a fake show: a list of posted Actions and a status dict the test controls.

`serve` puts a panel on a real uvicorn server on 127.0.0.1 and `call` sends it real HTTP
requests with any headers (a Host or Origin a browser on another site would send).
"""

from __future__ import annotations

import http.client
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from installation.controls.actions import Action
from installation.web.routes import Panel
from installation.web.server import LogRing, PanelSource
from installation.web.service import WebServer

PRESETS = ["default", "melt", "eyes"]


class FakeShow:
    def __init__(self, shots: Path) -> None:
        self.posted: list[Action] = []
        self.status: dict[str, object] = {"preset": "default", "intensity": 0.2, "blackout": False}
        self.seq = 1
        self.image = np.full((360, 640, 3), 120, np.uint8)
        self.source = PanelSource(post=self.posted.append, status=lambda: dict(self.status),
                                  frame=lambda: (self.seq, self.image), presets=lambda: list(PRESETS),
                                  screenshots=shots)  # fmt: skip


@pytest.fixture
def show(tmp_path: Path) -> FakeShow:
    return FakeShow(tmp_path / "shots")


@pytest.fixture
def make_panel(show: FakeShow):
    def make(token: str | None = None, **kwargs: object) -> Panel:
        return Panel(show.source, token, LogRing(), **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def serve(make_panel) -> Iterator[Callable[..., WebServer]]:
    """start(panel=None, proxies=()) -> a started WebServer on 127.0.0.1 (a free port), closed after the test."""
    servers: list[WebServer] = []

    def start(panel: Panel | None = None, proxies: tuple[str, ...] = ()) -> WebServer:
        servers.append(WebServer(panel or make_panel(None), "127.0.0.1", 0, proxies).start())
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def call() -> Callable[..., tuple[int, str]]:
    """call(server, method, path, body=None, headers={}) -> (status, text); a Host in headers replaces the real one."""

    def send(server: WebServer, method: str, path: str, body: bytes | str | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, str]:  # fmt: skip
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request(method, path, body, headers or {})
            answer = connection.getresponse()
            return answer.status, answer.read().decode()
        finally:
            connection.close()

    return send
