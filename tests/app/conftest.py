"""What the app tests share: a copy of the shipped presets to edit, and a headless App on the demo camera."""

import shutil
from pathlib import Path

import pytest

from installation.app.app import App
from installation.app.config import LiveConfig

ROOT = Path(__file__).resolve().parents[2]
TINY = (64, 36)


@pytest.fixture
def presets_dir(tmp_path):
    target = tmp_path / "presets"
    shutil.copytree(ROOT / "presets", target)
    return target


@pytest.fixture
def make_app():
    """App(presets_dir, tmp_path, **LiveConfig changes): headless on the demo camera at a tiny process size.

    `source_factory` replaces the camera (e.g. one a test can unplug).
    """

    def make(presets_dir, tmp_path, source_factory=None, **changes):
        config = dict(source="demo", headless=True, process_size=TINY, presets_dir=presets_dir,
                      status_file=tmp_path / "status.json", recordings_dir=tmp_path, screenshots_dir=tmp_path)
        config.update(changes)
        return App(LiveConfig(**config), source_factory=source_factory)

    return make
