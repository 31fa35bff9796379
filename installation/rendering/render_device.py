"""Where an offline render dreams and in what precision: `render --device` and the preset's `precision`.

A render is for quality, so `auto` precision is fp32 on every device (the live show's
fp16-on-CUDA is for speed); a preset that says fp16 gets fp16 and needs a GPU: on one
machine without one, or on a Ray cluster without one, the render is refused before
anything is written. bf16 is the live show's CPU speed-up and renders in fp32.
"""

from __future__ import annotations

import logging

import torch

from engine.errors import DreamwallError
from installation.dreaming.placement import resolve_device

log = logging.getLogger(__name__)


def render_dtype(precision: str, device: torch.device, where: str) -> torch.dtype:
    if precision == "fp16":
        if device.type != "cuda":
            raise DreamwallError(f"{where}: precision fp16 needs a CUDA GPU; this render runs on {device} "
                                 "(use precision auto or fp32)")  # fmt: skip
        return torch.float16
    if precision == "bf16":
        log.info("%s: precision bf16 is the live show's CPU speed-up; the render dreams in fp32", where)
    return torch.float32


def local_placement(device_spec: str, precision: str, where: str) -> tuple[torch.device, torch.dtype]:
    """(device, dtype) for a render on this machine."""
    device, reason = resolve_device(device_spec)
    log.info("render on %s (%s)", device, reason)
    return device, render_dtype(precision, device, where)


def cluster_placement(device_spec: str, precision: str, gpus: int, cluster: str, where: str) -> tuple[str, str]:
    """("cpu" | "cuda", dtype name) for chunk tasks on a cluster with `gpus` GPUs in all."""
    spec = device_spec.strip().lower()
    if spec not in ("auto", "cpu", "cuda") and not spec.startswith("cuda:"):
        resolve_device(spec)  # the same one-line refusal of an unknown name as on one machine
    if gpus == 0 and (spec != "cpu" and (spec != "auto" or precision == "fp16")):
        why = f"--device {device_spec}" if spec != "auto" else f"{where} asks for precision fp16"
        raise DreamwallError(f"{why}, which needs a GPU, and {cluster} has none")
    device = "cpu" if spec == "cpu" or gpus == 0 else "cuda"  # a task's GPU is its cuda:0, whichever it is
    return device, str(render_dtype(precision, torch.device(device), where)).removeprefix("torch.")
