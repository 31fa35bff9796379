"""Where a worker frame's time goes (upload, flow, steps, post, compose + download), for the benchmarks.

On a GPU the worker's calls only queue work, so wall-clock marks would time the queueing.
CUDA events are recorded into the stream at each mark instead, and read after the frame's
one download has synchronised anyway: profiling adds no synchronisation of its own. On
the CPU the marks are plain perf_counter readings. The worker runs without a timer
unless a benchmark hands it one.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict

import torch

STAGES = ("upload", "flow", "steps", "post", "compose+download")


class StageTimer:
    """Collects per-stage milliseconds of each frame; `medians()` for the report."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self._marks: list[tuple[str, object]] = []
        self.samples: dict[str, list[float]] = defaultdict(list)

    def _now(self) -> object:
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.perf_counter()

    def begin(self) -> None:
        self._marks = [("", self._now())]

    def mark(self, stage: str) -> None:
        if self._marks:
            self._marks.append((stage, self._now()))

    def end(self) -> None:
        """After the frame's download: turn the marks into durations (the events are complete by then)."""
        for (_, start), (stage, stop) in zip(self._marks, self._marks[1:], strict=False):
            if self.cuda:
                stop.synchronize()  # type: ignore[attr-defined] - already done: the download synchronised
                ms = start.elapsed_time(stop)  # type: ignore[attr-defined]
            else:
                ms = (stop - start) * 1000.0  # type: ignore[operator]
            self.samples[stage].append(ms)
        self._marks = []

    def medians(self) -> dict[str, float]:
        return {stage: statistics.median(self.samples[stage]) for stage in STAGES if self.samples.get(stage)}
