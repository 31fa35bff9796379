"""Shared fixtures: real embedded networks loaded once per session, sample photos."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import numpy as np
import pytest
import skimage.data
import torch

from engine.networks import DreamNet, load_network

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Tiny tensors: thread hand-offs cost more than the work on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def squeezenet() -> DreamNet:
    return load_network("squeezenet1_1")


@pytest.fixture(scope="session")
def lite0() -> DreamNet:
    return load_network("efficientnet-lite0")


@pytest.fixture(scope="session")
def chelsea() -> np.ndarray:
    return skimage.data.chelsea()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A presets folder: the shipped default.yaml and a one-key melt.yaml."""
    shutil.copy(Path(__file__).resolve().parents[1] / "presets" / "default.yaml", tmp_path / "default.yaml")
    (tmp_path / "melt.yaml").write_text("lr: 0.02\n")
    return tmp_path

