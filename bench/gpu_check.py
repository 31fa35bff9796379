"""GPU check: every backend that runs here against fp32 autograd, and dream FPS at 2 steps/frame.

Run through bench/gpu_check.sh (which installs the carried weight wheels). With
--dry-run it runs on the CPU at tiny sizes, to prove the script works before a GPU
machine is spent on it. Keeps to a time budget: what does not fit is reported as
skipped, never silently dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from engine.backends import CompileBackend, TorchBackend, missing  # noqa: E402
from engine.backends.tensorrt_engine import TensorRTBackend  # noqa: E402
from engine.export.store import MemoryStore  # noqa: E402
from engine.networks import load_network  # noqa: E402
from engine.objectives import Objective, parse_objective  # noqa: E402
from engine.step import GradientFn, StepParams, autograd_gradient, dream_step  # noqa: E402

STEPS_PER_FRAME = 2
TOLERANCE = {"fp32": 1e-4, "fp16": 3e-2}  # max abs error / max abs of the fp32 autograd gradient
PARITY_NETWORKS = (("squeezenet1_1", "fire7"), ("efficientnet-lite0", "block10"))
FPS_NETWORK = ("squeezenet1_1", "fire7")


class Budget:
    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()


def variants(net: object, objective: Objective, device: torch.device) -> dict[str, Callable[[], object]]:
    """name -> factory of a backend; only those that can run here."""
    factories: dict[str, Callable[[], object]] = {
        "eager fp32": lambda: TorchBackend(net, objective, device, half=False, channels_last=device.type == "cpu"),
    }
    if device.type == "cuda":
        factories["eager fp16"] = lambda: TorchBackend(net, objective, device, half=True)
    if missing("compile", device) is None and device.type == "cuda":  # minutes per graph on a CPU
        half = device.type == "cuda"
        factories[f"compile {'fp16' if half else 'fp32'}"] = lambda: CompileBackend(
            net, objective, device, MemoryStore(), half=half)
    if missing("tensorrt", device) is None:
        factories["tensorrt fp16"] = lambda: TensorRTBackend(net, objective, device, MemoryStore())
    return factories


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_frame_ms(gradient: GradientFn, net: object, objective: Objective, image: torch.Tensor,
                   device: torch.device, repeats: int) -> float:
    params = StepParams(lr=0.02, jitter=8)
    generator = torch.Generator().manual_seed(0)

    def frame() -> None:
        x = image
        for _ in range(STEPS_PER_FRAME):
            x = dream_step(net, x, objective, params, generator, gradient)  # type: ignore[arg-type]
        sync(device)

    frame()
    frame()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        frame()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def parity(device: torch.device, size: tuple[int, int], networks: tuple[tuple[str, str], ...], budget: Budget,
           skipped: list[str]) -> list[dict]:
    rows = []
    width, height = size
    for network, layer in networks:
        net = load_network(network).to(device)
        objective = parse_objective(layer, net)
        image = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(1)).to(device)
        reference = autograd_gradient(net, objective)(image).float()
        scale = float(reference.abs().max())
        for name, factory in variants(net, objective, device).items():
            if budget.left() < 60:
                skipped.append(f"parity {network} {name}: time budget")
                continue
            start = time.perf_counter()
            backend = factory()
            grad = backend.gradient(image).float()  # type: ignore[attr-defined]
            error = float((grad - reference).abs().max()) / scale
            cosine = float(torch.nn.functional.cosine_similarity(grad.flatten(), reference.flatten(), dim=0))
            precision = name.split()[-1]
            rows.append({"network": network, "layer": layer, "size": f"{width}x{height}", "backend": name,
                         "rel_error": error, "cosine": cosine, "tolerance": TOLERANCE[precision],
                         "ok": error < TOLERANCE[precision], "seconds": time.perf_counter() - start})
            print(f"parity {network:<20}{layer:<9}{name:<15}rel err {error:.2e} (tol {TOLERANCE[precision]:.0e}) "
                  f"cos {cosine:.5f} {'PASS' if rows[-1]['ok'] else 'FAIL'}  [{rows[-1]['seconds']:.1f} s]")
    return rows


def fps_table(device: torch.device, sizes: list[tuple[int, int]], repeats: int, budget: Budget,
              skipped: list[str]) -> list[dict]:
    network, layer = FPS_NETWORK
    net = load_network(network).to(device)
    objective = parse_objective(layer, net)
    rows = []
    for width, height in sizes:
        image = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(2)).to(device)
        for name, factory in variants(net, objective, device).items():
            if budget.left() < 45:
                skipped.append(f"fps {width}x{height} {name}: time budget")
                continue
            start = time.perf_counter()
            backend = factory()
            ms = timed_frame_ms(backend.gradient, net, objective, image, device, repeats)  # type: ignore[attr-defined]
            rows.append({"network": network, "layer": layer, "size": f"{width}x{height}", "backend": name,
                         "ms_per_frame": ms, "fps": 1000 / ms, "setup_and_run_s": time.perf_counter() - start})
            print(f"fps {width}x{height:<6}{name:<15}{1000 / ms:8.1f} fps ({ms:.1f} ms/frame)", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny sizes: check the script itself")
    parser.add_argument("--budget", type=float, default=420.0, help="seconds for the whole check")
    args = parser.parse_args()
    budget = Budget(args.budget)
    if args.dry_run:
        device = torch.device("cpu")
        parity_size, sizes, repeats = (64, 48), [(64, 36), (96, 54)], 2
    elif not torch.cuda.is_available():
        print("no CUDA GPU here; use --dry-run on a CPU machine")
        return 2
    else:
        device = torch.device("cuda")
        parity_size, sizes, repeats = (320, 180), [(640, 360), (1280, 720), (1920, 1080)], 10
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"gpu check on {name}, torch {torch.__version__}; tensorrt: {missing('tensorrt', device) or 'available'}")
    print(f"onnx on this device: {missing('onnx', device) or 'available'}")
    if device.type == "cpu":
        print("compile: not run on the CPU here (Inductor takes minutes per graph); see run.py bench --backends")
    skipped: list[str] = []
    # Most important first: the default network's parity, then the FPS table, then the other network.
    parity_rows = parity(device, parity_size, PARITY_NETWORKS[:1], budget, skipped)
    fps_rows = fps_table(device, sizes, repeats, budget, skipped)
    parity_rows += parity(device, parity_size, PARITY_NETWORKS[1:], budget, skipped)
    print("\nFPS at 2 dream steps per frame, " + f"{FPS_NETWORK[0]} {FPS_NETWORK[1]} on {name}")
    backends = list(dict.fromkeys(row["backend"] for row in fps_rows))
    print(f"{'size':<11}" + "".join(f"{b:>16}" for b in backends))
    for width, height in sizes:
        cells = {row["backend"]: row["fps"] for row in fps_rows if row["size"] == f"{width}x{height}"}
        print(f"{width}x{height:<6}" + "".join(f"{cells[b]:>16.1f}" if b in cells else f"{'-':>16}" for b in backends))
    for line in skipped:
        print(f"skipped: {line}")
    failed = [row for row in parity_rows if not row["ok"]]
    print(f"parity: {len(parity_rows) - len(failed)}/{len(parity_rows)} within tolerance")
    out = os.environ.get("OUT")
    if out:
        report = {"device": name, "torch": torch.__version__, "parity": parity_rows, "fps": fps_rows,
                  "skipped": skipped}
        (Path(out) / "gpu_check.json").write_text(json.dumps(report, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
