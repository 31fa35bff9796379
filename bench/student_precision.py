"""Whether bf16 makes a look's student faster on a CPU that runs bf16 natively (AVX-512 BF16, AMX).

    .venv/bin/python bench/student_precision.py [--look default] [--repeats 9]

The shipped student's one pass at 640x360 and 1280x720, fp32 in channels_last (what the show runs)
against bf16 under autocast (weights fp32, arithmetic bf16: how the gradient dreamer runs bf16 here)
and bf16 weights and input, alternated pass by pass, medians after a warm-up. Each pass runs on a
thread of its own, as the live worker's does: on the main thread glibc's default trim threshold hands
freed frame-sized blocks back to the kernel, which adds page faults the show never pays (run.py fixes
the thresholds; this script does not go through run.py). Prints the relative error of each bf16 pass
against fp32 too. On a CPU without native bf16, torch emulates it and the figures say so.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from installation.distill.student_file import load_student, student_path
from installation.dreaming.cpu_precision import native_bf16
from installation.dreaming.student_backends import Bf16Student
from installation.presets.loader import PresetLibrary

SIZES = ((640, 360), (1280, 720))


def _passes(net: nn.Module, image: Tensor) -> dict[str, Callable[[], Tensor]]:
    fp32 = net.to(memory_format=torch.channels_last)
    bf16 = Bf16Student(fp32)  # what the show runs where its preset dreams in bf16
    frame = image.contiguous(memory_format=torch.channels_last)

    def autocast() -> Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return fp32(frame).float()

    return {"fp32": lambda: fp32(frame), "bf16 autocast": autocast,
            "bf16 weights": lambda: bf16(frame)}  # fmt: skip


def measure(net: nn.Module, size: tuple[int, int], repeats: int) -> dict[str, tuple[float, float]]:
    """{pass: (median ms, relative error against fp32)} at `size`."""
    torch.manual_seed(0)
    image = torch.rand(1, 3, size[1], size[0])
    passes = _passes(net, image)
    samples: dict[str, list[float]] = {name: [] for name in passes}
    with torch.no_grad():
        reference = passes["fp32"]()
        errors = {name: float((run() - reference).norm() / reference.norm()) for name, run in passes.items()}
        for round_ in range(repeats + 2):
            for name, run in passes.items():
                began = time.perf_counter()
                run()
                if round_ >= 2:
                    samples[name].append((time.perf_counter() - began) * 1000)
    return {name: (statistics.median(times), errors[name]) for name, times in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--look", default="default")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    preset = PresetLibrary().load(args.look)
    net = load_student(student_path(preset.name, preset.path.parent / "students")).net.eval()
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    print(f"student of {args.look}, {torch.get_num_threads()} torch threads, native bf16: {native_bf16() or 'no'}")
    results: dict[tuple[int, int], dict[str, tuple[float, float]]] = {}
    for size in SIZES:
        worker = threading.Thread(target=lambda size=size: results.__setitem__(size, measure(net, size, args.repeats)))
        worker.start()
        worker.join()
        row = "   ".join(f"{name} {ms:6.1f} ms (error {error:.4f})" for name, (ms, error) in results[size].items())
        print(f"  {size[0]}x{size[1]}  {row}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
