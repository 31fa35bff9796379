"""Timing helpers shared by the benchmarks: warm-up, then the median of several runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(function: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of `function` in milliseconds after `warmup` untimed calls."""
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(samples)
