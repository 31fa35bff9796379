"""The students that ship: each loads, belongs to its preset's current look, is small, and dreams something."""

from __future__ import annotations

import pytest
import torch

from installation.distill.student_file import STUDENTS_DIR, SUFFIX, load_student, look_hash, look_settings
from installation.presets.loader import PresetLibrary

SHIPPED = ("default", "melt", "creatures")
MAX_BYTES = 2_000_000


def test_three_looks_ship_a_student_and_nothing_else() -> None:
    assert sorted(p.stem for p in STUDENTS_DIR.glob(f"*{SUFFIX}")) == sorted(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_student_belongs_to_its_presets_look_and_dreams(name: str) -> None:
    """A preset edit that changes the look (network, objective, jitter, smoothing, octaves) fails here."""
    preset = PresetLibrary().load(name)
    path = STUDENTS_DIR / f"{name}{SUFFIX}"
    assert path.stat().st_size < MAX_BYTES
    found = load_student(path, expect_look=look_hash(look_settings(preset)))
    evaluation = found.manifest["evaluation"]
    assert evaluation["student_gain"] > 0 and evaluation["crops"] >= 6  # held-out figures were written
    frame = torch.rand(1, 3, 90, 160, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        detail = found.net(frame)
    assert detail.shape == frame.shape and detail.abs().mean() > 1e-3
