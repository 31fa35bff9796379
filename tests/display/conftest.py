"""The display tests' shared fixture: windowed renderers without pacing, closed after each test."""

from __future__ import annotations

import pytest

from installation.display.renderer import Renderer


@pytest.fixture
def open_renderer():
    """open_renderer(size=..., **Renderer arguments): windowed, fps 0 (no pacing: tests should not sleep)."""
    made: list[Renderer] = []

    def make(**kwargs) -> Renderer:
        kwargs.setdefault("windowed", True)
        kwargs.setdefault("fps", 0)
        renderer = Renderer(**kwargs)
        made.append(renderer)
        return renderer

    yield make
    for renderer in made:
        renderer.close()
