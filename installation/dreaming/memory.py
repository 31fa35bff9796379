"""Whether this machine can hold a dream or an export at a size: engine.memory's estimate against what is free.

Checked at a command's start, so a size the machine cannot hold is one line (exit 2)
instead of minutes of swapping and the kernel's out-of-memory killer taking the machine.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch

from engine.errors import DreamwallError
from engine.memory import WORK, memory_need
from engine.panorama import seen_size

MEMINFO = Path("/proc/meminfo")


def available_memory(device: torch.device | str = "cpu") -> tuple[int, str] | None:
    """(bytes free for new work, where that figure comes from); None where this machine does not say."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return free, f"free on {device}"
    try:
        lines = MEMINFO.read_text().splitlines()
    except OSError:  # not Linux: no figure to check against
        return None
    for line in lines:
        name, _, value = line.partition(":")
        if name == "MemAvailable":
            return int(value.split()[0]) * 1024, "available (MemAvailable in /proc/meminfo)"
    return None


def _gb(count: float) -> str:
    return f"{count / 1e9:.1f} GB"


def check_memory(works: Iterable[str], network: str, layers: Iterable[str], size: tuple[int, int],
                 device: torch.device | str = "cpu", option: str = "--size") -> None:  # fmt: skip
    """Refuse in one line a size whose most demanding work (each one of engine.memory.WORK) cannot fit here."""
    names = list(layers)
    width, height = size
    needs = [memory_need(work, network, names, width, height) for work in works if work in WORK]
    free = available_memory(device)
    if not needs or free is None:
        return
    need = max(needs, key=lambda each: each.bytes)
    available, where = free
    if need.bytes <= available:
        return
    fitting = need.largest_fitting(available)
    advice = (f"the largest {option} of this aspect that fits is about {fitting[0]}x{fitting[1]}" if fitting
              else "free some memory first")  # fmt: skip
    raise DreamwallError(f"{need.describe()} needs about {_gb(need.bytes)} of memory, but this machine has "
                         f"{_gb(available)} {where}; {advice}")  # fmt: skip


def backend_works(backend: str | None, device: torch.device | str, network: str) -> tuple[str, ...]:
    """What a dream with `backend` may run at its size: the dream step, and the graph export it builds first."""
    from engine.backends import AUTO, ranking

    device_type = torch.device(device).type
    names = ranking(device_type, network) if backend in (None, AUTO) else (backend,)
    targets = {"onnx": "export-onnx", "tensorrt": "export-tensorrt"}
    return ("dream", *(targets[name] for name in names if name in targets))


def check_dream_memory(network: str, layers: Iterable[str], size: tuple[int, int], device: torch.device | str,
                       backend: str | None = None, panorama_pad: int = 0, option: str = "--size") -> None:  # fmt: skip
    """check_memory for dreaming at `size` (padded as a panorama is) with `backend` (None: auto)."""
    seen = seen_size(size, panorama_pad)
    check_memory(backend_works(backend, device, network), network, layers, seen, device, option)
