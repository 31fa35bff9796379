"""The size the worker dreams at: the preset's or the device's pixel budget at the camera's aspect,
stepped down on running out of memory.

A size setting (the device's auto size, a preset's `process_size`, `--process-size`) is a
pixel budget: it is spent at the aspect of the frames the dream is given (after the
capture's rotation), so a 4:3 or 21:9 camera is never squeezed into 16:9. A camera at
the setting's own aspect dreams at exactly the asked size.

An out-of-memory error on a kiosk GPU should cost detail, not the show: each one
shrinks both sides by OOM_STEP, never below MIN_SHORT_SIDE on the short side, and
the step-down is kept (and reported) for as long as the worker runs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from engine.framing import aspect_size
from engine.imageops import resize
from engine.sizes import MIN_FLOW_SIDE

CPU_PROCESS_SIZE = (320, 180)
GPU_PROCESS_SIZE = (960, 540)
OOM_STEP = 0.75  # each out-of-memory error shrinks both sides by this
MIN_SHORT_SIDE = 64  # ...but never below this many pixels on the short side
MAX_SIDE = 4096  # the largest side a process size may have (as DreamSettings checks)


def auto_process_size(device: torch.device | str) -> tuple[int, int]:
    """(width, height) to dream at when the preset says "auto": small on a CPU, larger on a GPU."""
    return CPU_PROCESS_SIZE if torch.device(device).type == "cpu" else GPU_PROCESS_SIZE


def is_out_of_memory(error: BaseException) -> bool:
    """CUDA's out-of-memory error, or a backend's RuntimeError saying the same."""
    return isinstance(error, torch.cuda.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower()
    )


def budget_size(asked: tuple[int, int], source: tuple[int, int] | None) -> tuple[int, int]:
    """`asked`'s pixels at `source`'s aspect (width, height); `asked` itself at its own aspect or without a source."""
    if source is None or asked[0] * source[1] == asked[1] * source[0]:
        return asked
    budget = aspect_size(source, asked[0] * asked[1], min_side=MIN_FLOW_SIDE, max_side=MAX_SIDE)
    return asked if budget_matches(asked, budget) else budget


def budget_matches(asked: tuple[int, int], budget: tuple[int, int]) -> bool:
    """Whether `budget` is `asked` up to rounding (a 854x480 camera keeps 320x180, not 320x180 +- 1)."""
    return abs(asked[0] - budget[0]) <= 1 and abs(asked[1] - budget[1]) <= 1


def scaled_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """`size` times `scale`, rounded, at least one pixel a side."""
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def smaller_scale(size: tuple[int, int], scale: float) -> float | None:
    """The next scale of `size` after running out of memory; None when already at the smallest."""
    smaller = max(scale * OOM_STEP, MIN_SHORT_SIDE / min(size))
    return smaller if smaller < scale else None


def fit(image: Tensor, size: tuple[int, int]) -> Tensor:
    """`image` at (width, height), e.g. the last dream after the processing size stepped down."""
    return resize(image, size[1], size[0]).clamp(0.0, 1.0)


class SizeGovernor:
    """The processing size now: the asked size (or the device's) at the frames' aspect, times the out-of-memory scale.

    Written by the worker thread only; `size`, `notice` and `steps` are single immutable
    values, so the health report reads them from any thread without a lock.
    """

    def __init__(self) -> None:
        self._base: tuple[int, int] | None = None
        self._scale = 1.0  # below 1 after running out of memory
        self._source: tuple[int, int] | None = None  # the last frame's (width, height): its aspect is kept
        self.size: tuple[int, int] | None = None
        self.notice: str | None = None  # the last step-down, for the status file and HUD
        self.steps = 0

    def follow(self, asked: tuple[int, int] | None, device: torch.device,
               source: tuple[int, int] | None = None) -> tuple[int, int]:  # fmt: skip
        """The size to dream this frame at: `asked` (None: the device's auto size) as a pixel budget at the
        aspect of `source` (the frame's width, height; None: the last frame's), stepped down so far."""
        if source is not None:
            self._source = source
        self._base = budget_size(asked or auto_process_size(device), self._source)
        self.size = scaled_size(self._base, self._scale)
        return self.size

    def step_down(self, release: Callable[[], None]) -> str | None:
        """Out of memory: a smaller size from the next frame on and the message saying so; None at the smallest.

        `release` drops what was built for the old size before the CUDA cache is emptied.
        """
        base = self._base
        scale = smaller_scale(base, self._scale) if base is not None else None
        if base is None or scale is None:
            return None
        old, new = scaled_size(base, self._scale), scaled_size(base, scale)
        self._scale = scale
        self.size = new
        release()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        self.notice = f"out of GPU memory at {old[0]}x{old[1]}: dreaming at {new[0]}x{new[1]} now"
        self.steps += 1
        return self.notice
