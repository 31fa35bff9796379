"""A panel over a fake show: a list of posted Actions and a status dict the test controls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from installation.controls.actions import Action
from installation.web.routes import Panel
from installation.web.server import LogRing, PanelSource

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
