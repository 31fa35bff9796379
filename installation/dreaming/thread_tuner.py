"""How many threads torch's CPU kernels get in a live show: the faster count, measured in the show itself.

On a small CPU the dream shares the cores with the display loop, the camera and the
optical flow. torch's kernels wait for all their threads at every operation, so one
thread descheduled by the display loop stalls the others: on the 2-core machine here the
default show (320x180) dreamt 12.8 frames/s on 2 threads and 21.2 on 1, while at 640x360
2 threads still won (5.7 vs 5.0). Alone, in a benchmark, 2 threads win at both sizes, so
no start-up probe can tell: the tuner tries the thread counts in the running show.

For each look (network, size, steps, precision) it alternates short blocks of frames on
each candidate (all threads, and one fewer), skips the first frame after each switch,
and keeps the count with the lower median time per frame. A new look tunes again.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable, Hashable

import torch

log = logging.getLogger(__name__)


def thread_candidates(threads: int) -> tuple[int, ...]:
    """All of torch's threads, and one fewer (a core for the display loop and the camera)."""
    return (threads, threads - 1) if threads > 1 else (threads,)


class ThreadTuner:
    """Fed each dreamt frame's time by the worker; sets torch's thread count (only the worker thread calls it)."""

    def __init__(self, candidates: tuple[int, ...], block: int = 4, rounds: int = 3, settle: int = 1,
                 set_threads: Callable[[int], None] = torch.set_num_threads) -> None:  # fmt: skip
        self.candidates = candidates
        self._block, self._rounds, self._settle = block, rounds, settle
        self._set_threads = set_threads
        self._key: Hashable = object()
        self.chosen: int | None = None
        self.summary = ""

    def _start(self, key: Hashable) -> None:
        self._key, self.chosen, self.summary = key, None, ""
        self._samples: dict[int, list[float]] = {threads: [] for threads in self.candidates}
        self._trial, self._skip = 0, self._settle
        self._set_threads(self.candidates[0])

    def frame_done(self, key: Hashable, ms: float) -> None:
        """One frame of the look `key` took `ms`."""
        if key != self._key:
            self._start(key)
        if self.chosen is not None:
            return
        if len(self.candidates) == 1:
            self._choose()
            return
        if self._skip:
            self._skip -= 1
            return
        threads = self.candidates[self._trial % len(self.candidates)]
        self._samples[threads].append(ms)
        if len(self._samples[threads]) % self._block:
            return
        self._trial += 1
        if self._trial == self._rounds * len(self.candidates):
            self._choose()
        else:
            self._set_threads(self.candidates[self._trial % len(self.candidates)])
            self._skip = self._settle

    def _choose(self) -> None:
        medians = {threads: statistics.median(times) for threads, times in self._samples.items() if times}
        self.chosen = min(medians, key=medians.__getitem__) if medians else self.candidates[0]
        self._set_threads(self.chosen)
        rivals = [threads for threads in self.candidates if threads != self.chosen and threads in medians]
        others = ", ".join(f"{medians[threads]:.1f} ms with {threads}" for threads in rivals)
        measured = f" ({medians[self.chosen]:.1f} ms per frame; {others})" if others else ""
        self.summary = f"{self.chosen} torch thread{'s' * (self.chosen != 1)}{measured}"
        log.info("dreaming on %s", self.summary)
