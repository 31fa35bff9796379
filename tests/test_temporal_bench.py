"""The temporal bench's clips really move, at the asked size (the measure means nothing on a still clip)."""

from __future__ import annotations

import itertools

import numpy as np

from installation.benchmarks.temporal import GIF_SCALE, clips


def test_every_clip_moves_at_its_size() -> None:
    made = clips((64, 36), 4)
    assert len(made) == 5
    for name, frames in made.items():
        expected = (25 * GIF_SCALE, 14 * GIF_SCALE, 3) if name.startswith("gif") else (36, 64, 3)
        assert len(frames) == 4 and all(f.shape == expected and f.dtype == np.uint8 for f in frames), name
        changes = [np.abs(a.astype(int) - b).mean() for a, b in itertools.pairwise(frames)]
        assert min(changes) > 1.0, f"{name}: frame changes {changes}"
