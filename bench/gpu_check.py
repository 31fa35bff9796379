"""GPU check: backends against fp32 autograd, dream FPS at 2 steps/frame, and the live pipeline.

The live pipeline rows run the real show path (installation.benchmarks.pipeline): the
demo camera at 1080p and 60 fps -> capture -> worker (fp16, the backend `auto` picks) ->
composed at 1920x1080 -> the real Renderer under SDL's dummy driver, for about 20 s per
processing size (960x540, 1920x1080, 3840x2160), against the targets of issue 9. The
student rows time the default look's one-pass student (issue 22) at 1920x1080 and 3840x2160
in fp32 and fp16, against 60 frames/s at 4K.

Run through bench/gpu_check.sh (which installs the carried weight wheels). With
--dry-run it runs on the CPU at tiny sizes, to prove the script works before a GPU
machine is spent on it. Keeps to a time budget: what does not fit is reported as
skipped, never silently dropped.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
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
from engine.step import GradientFn, autograd_gradient, dream_step  # noqa: E402
from engine.student import StudentNet  # noqa: E402
from installation.benchmarks.pipeline import PipelineFigures, PipelineSpec, measure_pipeline  # noqa: E402
from installation.benchmarks.step import params_text, shipped_step_params  # noqa: E402
from installation.benchmarks.timing import median_ms  # noqa: E402

STEPS_PER_FRAME = 2
# fp32: max abs error / max abs of the strict-fp32 autograd gradient (TF32 off for both).
# fp16: a dream step moves along the normalised gradient, so what must agree is its direction
# (cosine) and its average size (mean abs error / mean abs). The max error is reported but not
# judged: in fp16 a few ReLU/max-pool decisions near a tie flip and move isolated pixels a lot
# (measured on an H100: max 0.12-0.18 of the scale at cosine 0.996, for eager autograd and the
# exported graph alike).
TOLERANCE = {"fp32": 1e-4, "fp16": 0.15}
MIN_COSINE = {"fp32": 0.99999, "fp16": 0.99}
PARITY_NETWORKS = (("squeezenet1_1", "fire7"), ("efficientnet-lite0", "block10"))
FPS_NETWORK = ("squeezenet1_1", "fire7")
LIVE_PROCESS_SIZES = ((960, 540), (1920, 1080), (3840, 2160))
LIVE_OUTPUT = (1920, 1080)
# issue 9's targets on an H100/H200, per processing size: dreamed fps, worker ms per frame, latency p95 ms
LIVE_TARGETS = {(960, 540): (58.0, 8.0, None), (1920, 1080): (58.0, None, 50.0), (3840, 2160): (30.0, None, None)}
# issue 22: the one-pass student of the default look, one forward pass per dreamed frame
STUDENT_SIZES = ((1920, 1080), (3840, 2160))
STUDENT_TARGET_FPS = {(3840, 2160): 60.0}


class Budget:
    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()


CUDA_GRAPHS = "CUDA-graphs"  # in a row's name: torch.compile(mode="reduce-overhead") replays captured graphs


def precision_of(name: str) -> str:
    """The precision a row is judged in: every fp32 row runs with TF32 off (strict_fp32)."""
    return "fp16" if "fp16" in name.split() else "fp32"


def backend_label(backend: str, device: torch.device) -> str:
    """A live row's backend, saying so when it replays CUDA graphs (compile on CUDA uses reduce-overhead)."""
    return f"{backend} {CUDA_GRAPHS}" if backend == "compile" and device.type == "cuda" else backend


def variants(net: object, objective: Objective, device: torch.device) -> dict[str, Callable[[], object]]:
    """name -> factory of a backend; only those that can run here. Names carry the precision and CUDA graphs."""
    factories: dict[str, Callable[[], object]] = {
        "eager fp32": lambda: TorchBackend(net, objective, device, half=False, channels_last=device.type == "cpu"),
    }
    if device.type == "cuda":
        factories["eager fp16"] = lambda: TorchBackend(net, objective, device, half=True)
    if missing("compile", device) is None and device.type == "cuda":  # minutes per graph on a CPU
        half = device.type == "cuda"
        graphs = f" {CUDA_GRAPHS}" if device.type == "cuda" else ""
        factories[f"compile {'fp16' if half else 'fp32'}{graphs}"] = lambda: CompileBackend(
            net, objective, device, MemoryStore(), half=half)
    if missing("tensorrt", device) is None:
        factories["tensorrt fp16"] = lambda: TensorRTBackend(net, objective, device, MemoryStore())
    return factories


def strict_fp32(on: bool) -> None:
    """TF32 (the CUDA default for convs) is not fp32: turn it off for the reference and fp32 checks."""
    torch.backends.cudnn.allow_tf32 = not on
    torch.backends.cuda.matmul.allow_tf32 = not on


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_frame_ms(gradient: GradientFn, net: object, objective: Objective, image: torch.Tensor,
                   device: torch.device, repeats: int) -> float:
    params = shipped_step_params()  # the jitter and smoothing the shows run with
    generator = torch.Generator().manual_seed(0)

    def frame() -> None:
        x = image
        for _ in range(STEPS_PER_FRAME):
            x = dream_step(net, x, objective, params, generator, gradient)  # type: ignore[arg-type]
        sync(device)

    return median_ms(frame, repeats, warmup=2)


def parity(device: torch.device, size: tuple[int, int], networks: tuple[tuple[str, str], ...], budget: Budget,
           skipped: list[str]) -> list[dict]:
    rows = []
    width, height = size
    for network, layer in networks:
        net = load_network(network).to(device)
        objective = parse_objective(layer, net)
        image = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(1)).to(device)
        strict_fp32(True)
        reference = autograd_gradient(net, objective)(image).float()
        scale = float(reference.abs().max())
        mean_scale = float(reference.abs().mean())
        for name, factory in variants(net, objective, device).items():
            if budget.left() < 60:
                skipped.append(f"parity {network} {name}: time budget")
                continue
            start = time.perf_counter()
            precision = precision_of(name)
            strict_fp32(precision == "fp32")
            backend = factory()
            grad = backend.gradient(image).float()  # type: ignore[attr-defined]
            difference = (grad - reference).abs()
            max_error = float(difference.max()) / scale
            mean_error = float(difference.mean()) / mean_scale
            cosine = float(torch.nn.functional.cosine_similarity(grad.flatten(), reference.flatten(), dim=0))
            judged = max_error if precision == "fp32" else mean_error
            ok = judged < TOLERANCE[precision] and cosine >= MIN_COSINE[precision]
            rows.append({"network": network, "layer": layer, "size": f"{width}x{height}", "backend": name,
                         "max_rel_error": max_error, "mean_rel_error": mean_error, "cosine": cosine,
                         "tolerance": TOLERANCE[precision], "min_cosine": MIN_COSINE[precision], "ok": ok,
                         "seconds": time.perf_counter() - start})
            measure = "max" if precision == "fp32" else "mean"
            print(f"parity {network:<20}{layer:<9}{name:<25}max err {max_error:.2e} mean err {mean_error:.2e} "
                  f"({measure} < {TOLERANCE[precision]:g}) cos {cosine:.5f} (>= {MIN_COSINE[precision]}) "
                  f"{'PASS' if ok else 'FAIL'}  [{rows[-1]['seconds']:.1f} s]")
    strict_fp32(False)
    return rows


def warm_up(net: object, objective: Objective, device: torch.device, seconds: float = 3.0) -> None:
    """Let the GPU reach its clocks and cuDNN pick its kernels before the first timed size."""
    image = torch.rand(1, 3, 360, 640, device=device)
    gradient = autograd_gradient(net, objective)  # type: ignore[arg-type]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        gradient(image)
    sync(device)


def fps_table(device: torch.device, sizes: list[tuple[int, int]], repeats: int, budget: Budget,
              skipped: list[str]) -> list[dict]:
    network, layer = FPS_NETWORK
    net = load_network(network).to(device)
    objective = parse_objective(layer, net)
    warm_up(net, objective, device)
    rows = []
    for width, height in sizes:
        image = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(2)).to(device)
        for name, factory in variants(net, objective, device).items():
            if budget.left() < 45:
                skipped.append(f"fps {width}x{height} {name}: time budget")
                continue
            start = time.perf_counter()
            strict_fp32(precision_of(name) == "fp32")  # an fp32 row is strict fp32, not TF32
            backend = factory()
            ms = timed_frame_ms(backend.gradient, net, objective, image, device, repeats)  # type: ignore[attr-defined]
            rows.append({"network": network, "layer": layer, "size": f"{width}x{height}", "backend": name,
                         "ms_per_frame": ms, "fps": 1000 / ms, "setup_and_run_s": time.perf_counter() - start})
            print(f"fps {width}x{height:<6}{name:<25}{1000 / ms:8.1f} fps ({ms:.1f} ms/frame)", flush=True)
    strict_fp32(False)
    return rows


def _student_pass(model: torch.nn.Module, frame: torch.Tensor, device: torch.device) -> None:
    model(frame)
    sync(device)


def student_rows(device: torch.device, sizes: list[tuple[int, int]], repeats: int, budget: Budget,
                 skipped: list[str]) -> list[dict]:  # fmt: skip
    """The default look's shipped student (an untrained one of the same shape if none is shipped: the speed is
    the architecture's) per size, fp32 and fp16 channels_last, one forward pass per frame."""
    from installation.distill.student_file import load_student, student_path

    path = student_path("default")
    shipped = path.is_file()
    net, source = (load_student(path).net, str(path.relative_to(ROOT))) if shipped else (StudentNet(), "untrained")
    rows = []
    for width, height in sizes:
        for dtype in (torch.float32, torch.float16):
            if device.type == "cpu" and dtype == torch.float16:
                continue
            if budget.left() < 20:
                skipped.append(f"student {width}x{height} {dtype}: time budget")
                continue
            model = net.to(device=device, dtype=dtype, memory_format=torch.channels_last).eval()
            frame = torch.rand(1, 3, height, width, device=device, dtype=dtype).to(memory_format=torch.channels_last)
            strict_fp32(dtype == torch.float32)
            with torch.inference_mode():
                ms = median_ms(functools.partial(_student_pass, model, frame, device), repeats, warmup=3)
            rows.append(_student_row((width, height), str(dtype).removeprefix("torch."), ms, source))
        for kind in ("compile", "tensorrt"):
            rows.extend(_built_student_row(net, device, (width, height), repeats, budget, skipped, source, kind))
    strict_fp32(False)
    return rows


def _built_student_row(net: torch.nn.Module, device: torch.device, size: tuple[int, int], repeats: int,
                       budget: Budget, skipped: list[str], source: str, kind: str) -> list[dict]:  # fmt: skip
    """The student as `backend: compile` (fp16 on CUDA, fp32 on the CPU) or `backend: tensorrt` (an FP16 engine,
    CUDA) runs it, its build timed apart."""
    from engine.backends import compiled, tensorrt_engine
    from engine.export.store import MemoryStore
    from installation.dreaming.student_builds import BuiltPerSize, TensorRTStudentBuild, compiled_build

    width, height = size
    dtype = torch.float16 if device.type == "cuda" and kind == "compile" else torch.float32
    reason = compiled.missing(device) if kind == "compile" else tensorrt_engine.missing(device)
    if reason is not None or budget.left() < 90:
        skipped.append(f"student {width}x{height} {kind}: {reason or 'time budget'}")
        return []
    model = net.to(device=device, dtype=dtype, memory_format=torch.channels_last).eval()
    if kind == "compile":
        build = compiled_build(model, device)
    else:
        build = TensorRTStudentBuild(model, device, MemoryStore(), tensorrt_engine.import_tensorrt())  # type: ignore[arg-type]
    runner = BuiltPerSize(model, build, kind)
    frame = torch.rand(1, 3, height, width, device=device, dtype=dtype).to(memory_format=torch.channels_last)
    began = time.monotonic()
    if not runner.prepare(tuple(frame.shape), dtype):
        skipped.append(f"student {width}x{height} {kind}: the build failed (its log line above)")
        return []
    build_s = time.monotonic() - began
    with torch.inference_mode():
        ms = median_ms(functools.partial(_student_pass, runner, frame, device), repeats, warmup=3)
    name = f"{kind} {'fp16' if kind == 'tensorrt' else str(dtype).removeprefix('torch.')}"
    return [_student_row(size, name, ms, source, build_s)]


def _student_row(size: tuple[int, int], name: str, ms: float, source: str, build_s: float | None = None) -> dict:
    """One student row, printed, with its verdict against the issue's target at that size; `build_s`: how long
    a built pass (compile, tensorrt) took to build."""
    width, height = size
    target = STUDENT_TARGET_FPS.get(size)
    verdict = "no target" if target is None else ("MET" if 1000 / ms >= target else f"MISSED < {target:g} fps")
    built = "" if build_s is None else f"built in {build_s:.0f} s, "
    print(f"student {width}x{height:<6}{name:<9}{1000 / ms:8.1f} fps ({ms:.2f} ms/frame, {built}{source})  {verdict}",
          flush=True)  # fmt: skip
    row = {"size": f"{width}x{height}", "dtype": name, "ms_per_frame": ms, "fps": 1000 / ms, "student": source,
           "verdict": verdict}  # fmt: skip
    return row if build_s is None else {**row, "build_s": round(build_s, 1)}


def live_rows(device: torch.device, dry_run: bool, budget: Budget, skipped: list[str]) -> list[dict]:
    """The live show end to end per processing size, with each target's verdict."""
    import dataclasses

    from installation.presets.loader import PresetLibrary

    preset = PresetLibrary().load("default")
    preset = dataclasses.replace(preset, attract=dataclasses.replace(preset.attract, enabled=False))
    if dry_run:
        sizes, output, camera = ((64, 36), (128, 72)), (256, 144), (256, 144)
        timing = {"window_s": 1.0, "warmup_s": 0.5, "repeats": 2, "camera_fps": 30.0}
    else:
        sizes, output, camera = LIVE_PROCESS_SIZES, LIVE_OUTPUT, (1920, 1080)
        timing = {"window_s": 6.0, "warmup_s": 2.0, "repeats": 3, "camera_fps": 60.0}
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    rows = []
    for size in sizes:
        if budget.left() < 60:
            skipped.append(f"live {size[0]}x{size[1]}: time budget")
            continue
        spec = PipelineSpec(size, output, camera_size=camera, device=device, dtype=dtype, **timing)  # type: ignore[arg-type]
        figures = measure_pipeline(preset, spec)
        rows.append({"process": f"{size[0]}x{size[1]}", "output": f"{output[0]}x{output[1]}",
                     **dataclasses.asdict(figures), "backend_label": backend_label(figures.backend, device),
                     "verdict": live_verdict(size, figures, dry_run)})
        print(live_line(rows[-1], figures), flush=True)
    return rows


def live_verdict(size: tuple[int, int], figures: PipelineFigures, dry_run: bool) -> str:
    if dry_run or size not in LIVE_TARGETS:
        return "no target (dry run)" if dry_run else "no target"
    fps, worker_ms, p95 = LIVE_TARGETS[size]
    misses = []
    if figures.dream_fps < fps:
        misses.append(f"dreamed {figures.dream_fps:.1f} < {fps:g} fps")
    if worker_ms is not None and (figures.step_ms or 1e9) > worker_ms:
        misses.append(f"worker {figures.step_ms or 0:.1f} > {worker_ms:g} ms")
    if p95 is not None and (figures.latency_ms_p95 or 1e9) > p95:
        misses.append(f"latency p95 {figures.latency_ms_p95 or 0:.0f} > {p95:g} ms")
    return "MET" if not misses else "MISSED: " + "; ".join(misses)


def _ms(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "-"


def live_line(row: dict, figures: PipelineFigures) -> str:
    stages = " ".join(f"{stage} {ms:.1f}" for stage, ms in figures.stages_ms.items())
    memory = f"{figures.gpu_memory_mb:.0f} MB" if figures.gpu_memory_mb is not None else "-"
    return (f"live {row['process']:<10}-> {row['output']} {row['backend_label']:<8} dreamed {figures.dream_fps:6.1f}/s "
            f"shown {figures.shown_fps:6.1f}/s display {figures.display_fps:5.1f}/s "
            f"latency {_ms(figures.latency_ms_median)}/{_ms(figures.latency_ms_p95)} ms (median/p95) GPU {memory} "
            f"worker {_ms(figures.step_ms)} ms/frame [{stages}] display work {_ms(figures.display_work_ms)} ms  "
            f"{row['verdict']}")


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
    live = live_rows(device, args.dry_run, budget, skipped)
    students = student_rows(device, [(96, 54), (128, 72)] if args.dry_run else list(STUDENT_SIZES), repeats, budget,
                            skipped)  # fmt: skip
    fps_rows = fps_table(device, sizes, repeats, budget, skipped)
    parity_rows += parity(device, parity_size, PARITY_NETWORKS[1:], budget, skipped)
    print("\nFPS at 2 dream steps per frame, " + f"{FPS_NETWORK[0]} {FPS_NETWORK[1]} on {name}; "
          f"fp32 = strict fp32 (TF32 off), {CUDA_GRAPHS} = torch.compile mode reduce-overhead; "
          f"{params_text(shipped_step_params())}")
    backends = list(dict.fromkeys(row["backend"] for row in fps_rows))
    width_of = max([16, *(len(b) + 2 for b in backends)])
    print(f"{'size':<11}" + "".join(f"{b:>{width_of}}" for b in backends))
    for width, height in sizes:
        cells = {row["backend"]: row["fps"] for row in fps_rows if row["size"] == f"{width}x{height}"}
        print(f"{width}x{height:<6}" + "".join(f"{cells[b]:>{width_of}.1f}" if b in cells else f"{'-':>{width_of}}"
                                               for b in backends))
    for line in skipped:
        print(f"skipped: {line}")
    failed = [row for row in parity_rows if not row["ok"]]
    print(f"parity: {len(parity_rows) - len(failed)}/{len(parity_rows)} within tolerance")
    out = os.environ.get("OUT")
    if out:
        report = {"device": name, "torch": torch.__version__, "parity": parity_rows, "fps": fps_rows,
                  "live": live, "student": students, "skipped": skipped}
        (Path(out) / "gpu_check.json").write_text(json.dumps(report, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
