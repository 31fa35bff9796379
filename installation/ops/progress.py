"""A one-line progress bar on stderr for long offline jobs: count, speed and time left.

`ProgressBar` is called as `bar(done, total)`, the shape of engine.step.ProgressFn, so
`dream_octaves` can drive it directly; the renderer calls it once per frame.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """Draws `label [#####.....] 12/120 frames  0.80 frames/s  ETA 2:15` in place on a terminal.

    start: items already done before this run (a resumed render); the speed and ETA count
        only this run's work, so they are honest after a resume. None: the first call's
        count is where this run starts (a split render learns it from its work folder).
    detail: a call may add a few words after the ETA ("2/2 workers busy").
    On a stream that is not a terminal (logs, CI) it writes a plain line at most every
    `every_s` seconds and at the end, instead of carriage returns.
    """

    def __init__(
        self,
        label: str = "",
        unit: str = "steps",
        start: int | None = 0,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        width: int = 30,
        every_s: float = 10.0,
    ) -> None:
        self.label = label
        self.unit = unit
        self.start = start or 0
        self._started = start is not None
        self.done = self.start
        self.detail = ""
        self.total = 0
        self._stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._began = clock()
        self._width = width
        self._every_s = every_s
        self._last_line = -float("inf")
        self._ended = False  # the final line is written once, however often the count is repeated
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())

    @property
    def rate(self) -> float:
        """Items per second in this run."""
        elapsed = self._clock() - self._began
        return (self.done - self.start) / elapsed if elapsed > 0 else 0.0

    def text(self) -> str:
        total = max(1, self.total)
        filled = min(self._width, int(self._width * self.done / total))
        bar = "#" * filled + "." * (self._width - filled)
        rate = self.rate
        eta = format_duration((self.total - self.done) / rate) if rate > 0 else "?"
        prefix = f"{self.label} " if self.label else ""
        detail = f"  {self.detail}" if self.detail else ""
        return f"{prefix}[{bar}] {self.done}/{self.total} {self.unit}  {rate:.2f} {self.unit}/s  ETA {eta}{detail}"

    def __call__(self, done: int, total: int, detail: str = "") -> None:
        if not self._started:
            self.start, self._started, self._began = done, True, self._clock()
        self.done, self.total, self.detail = done, total, detail
        finished = done >= total
        if self._tty:
            self._stream.write("\r" + self.text() + ("\n" if finished else ""))
        else:
            now = self._clock()
            if (now - self._last_line >= self._every_s and not finished) or (finished and not self._ended):
                self._ended = finished
                self._stream.write(self.text() + "\n")
                self._last_line = now
        self._stream.flush()
