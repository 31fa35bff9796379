"""The temporal bench's clips really move, at the asked size (the measure means nothing on a still clip)."""

from __future__ import annotations

import itertools

import numpy as np

from installation.benchmarks.temporal import GIF_SCALE, SKIP, clips, measure_flow_choices


def test_every_clip_moves_at_its_size() -> None:
    made = clips((64, 36), 4)
    assert len(made) == 5
    for name, frames in made.items():
        expected = (25 * GIF_SCALE, 14 * GIF_SCALE, 3) if name.startswith("gif") else (36, 64, 3)
        assert len(frames) == 4 and all(f.shape == expected and f.dtype == np.uint8 for f in frames), name
        changes = [np.abs(a.astype(int) - b).mean() for a, b in itertools.pairwise(frames)]
        assert min(changes) > 1.0, f"{name}: frame changes {changes}"


def test_flow_choices_are_judged_on_every_preset_and_scale() -> None:
    rows = measure_flow_choices(clips((96, 54), SKIP + 3))
    assert [(row.preset, row.size) for row in rows] == [("fast", "x1"), ("fast", "x0.5"), ("medium", "x1"),
                                                        ("medium", "x0.5")]  # fmt: skip
    assert all(0.0 <= row.e_source < 0.1 and row.ms > 0 for row in rows)
