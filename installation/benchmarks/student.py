"""`run.py bench --student`: the look's one-pass student against its gradient teacher, side by side, in one run.

- Speed: dreamed frames per second through the real dream worker (upload, flow, mask, the dream,
  grading, composition at the camera's size, download) at 320x180, 640x360 and 1280x720, the
  camera at the processing size; the gradient with the preset's live steps, the student in one
  pass; the median of `repeats` windows after a warm-up. No display loop (`bench --live` has it).
  Both run in torch eager fp32 on the CPU (plain autograd for the gradient): the same footing, not
  the backend or bf16 choice the app may make for either; the student also through ONNX Runtime
  (`backend: onnx`), for the choice, and, on a CPU with native bf16, in bf16 as the show runs it
  where the preset dreams in bf16 (installation.dreaming.student_backends.Bf16Student); and
  torch.compile'd (`backend: compile`, each size built before it is timed), in fp32 and bf16.
- Fidelity on pictures distillation never trains on (installation.distill.data.EVAL_PHOTOS) at
  320x180: the student's gain in the look's objective over the raw frame as a share of the
  teacher's (the still dream it learnt: the preset's octaves and steps), and the feature distance
  between their dreams in the objective's layers, relative to the raw frame's distance to the teacher.
- Inside the show (the live pipeline's own cost): the dream stage with the whole show around it against
  the same stage in the worker alone, in pairs, with the demo camera and with an MJPEG camera of real
  parts (installation.benchmarks.show_cost).
- Flicker per unit strength on the temporal bench's clips (installation.benchmarks.temporal)
  through the render path at the live setting: the gradient at 1 octave x 2 steps per frame and
  the student inside the same feedback and flow, measured against the same source flow.

The student is presets/students/default.student; without one the speed rows use an untrained
student of the default shape (its speed is the shape's) and the fidelity rows say there is none.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import threading
import time
from dataclasses import asdict, dataclass

import cv2
import numpy as np
import torch

from engine.backends import compiled
from engine.consistency import consistency, source_pairs
from engine.imageops import to_tensor
from engine.networks import DreamNet, load_network
from engine.objectives import Objective
from engine.step import dream_octaves
from engine.student import StudentNet, objective_gain
from engine.temporal import dis_flow
from installation.benchmarks import show_cost, temporal
from installation.benchmarks.show_cost import DREAM_STAGE, ShowRow, ready
from installation.distill.data import EVAL_PHOTOS, rgb_photo
from installation.dreaming.cpu_precision import native_bf16
from installation.dreaming.looks import Overrides, dream_settings
from installation.dreaming.settings import DreamSettings
from installation.dreaming.stage_timer import StageTimer
from installation.dreaming.student_backends import OnnxStudent, student_runner
from installation.dreaming.students import LookStudent, StudentCache
from installation.dreaming.thread_tuner import ThreadTuner
from installation.dreaming.worker import DreamWorker
from installation.presets.loader import Preset, PresetLibrary
from installation.rendering.frame_dreamer import FrameDreamer, render_settings
from installation.sources.capture import Frame
from installation.sources.demo import load_photo

PRESET = "default"
SIZES = ((320, 180), (640, 360), (1280, 720))
WINDOW_S = 3.0
MIN_FRAMES = 3  # a window lasts until it has dreamt this many frames, however slow
WARMUP_FRAMES = 2
FIDELITY_SIZE = (320, 180)
CLIP_FRAMES = 40
CLIP_SIZE = temporal.SIZE
FAINT = 0.005  # mean |dream - frame| under which flicker per strength says nothing (a student that dreams nothing)
TARGETS = {"fps_640x360": 25.0, "fps_1280x720": 12.0, "fidelity": 0.7, "show_over_alone": 1.2}  # issue 22, this CPU


@dataclass
class SpeedRow:
    size: str
    dreamer: str
    fps: float  # median of the windows
    fps_runs: list[float]
    ms_per_frame: float
    dream_ms: float | None  # the dream stage alone (steps or the student's pass), median per frame


@dataclass
class FidelityRow:
    picture: str
    teacher_gain: float
    student_gain: float
    fidelity: float
    feature_distance: float


@dataclass
class FlickerRow:
    clip: str
    dreamer: str
    flicker: float
    strength: float
    flicker_per_strength: float


class CyclingFeed:
    """Always a newer frame: the camera's pictures in turn, as fast as the worker takes them."""

    def __init__(self, images: list[np.ndarray]) -> None:
        self.images = images
        self.seq = 0
        self._lock = threading.Lock()

    def wait_newer(self, after_seq: int, timeout: float | None = None) -> Frame | None:
        with self._lock:
            self.seq = max(self.seq, after_seq) + 1
            return Frame(self.images[self.seq % len(self.images)], self.seq, time.monotonic())


def _camera(size: tuple[int, int]) -> list[np.ndarray]:
    """Two shots of the demo photograph at `size`, a few pixels apart: a camera with a little motion."""
    photo = load_photo("chelsea")
    shots = []
    for dx in (0, 4):
        shot = temporal.shot(photo, temporal.Camera((0.5 + dx / 1000, 0.5), 1.2), size)
        shots.append(shot)
    return shots


def _worker_fps(settings: DreamSettings, size: tuple[int, int], repeats: int,
                threads: int | None = None) -> tuple[list[float], float | None]:  # fmt: skip
    """Frames per second of the dream worker over `repeats` windows after a warm-up, and its dream stage's median
    milliseconds per frame; on `threads` torch threads (None: torch's count)."""
    runs = []
    stages = StageTimer(torch.device("cpu"))
    saved = torch.get_num_threads()
    ready(settings, size)
    tuner = ThreadTuner((threads,)) if threads is not None else None  # sets the count on the worker's own thread
    worker = DreamWorker(CyclingFeed(_camera(size)), settings.replace(process_size=size), wait_timeout=0.05,
                         stage_timer=stages, thread_tuner=tuner)  # fmt: skip
    try:
        with worker:
            seq = 0
            for _ in range(WARMUP_FRAMES):
                dream = worker.wait_newer(seq, timeout=120.0)
                seq = dream.seq if dream is not None else seq
            stages.samples.clear()
            for _ in range(repeats):
                began, first = time.monotonic(), seq
                while True:
                    dream = worker.wait_newer(seq, timeout=120.0)
                    if dream is None:
                        raise RuntimeError(f"the worker stopped: {worker.health()}")
                    seq = dream.seq
                    elapsed = time.monotonic() - began
                    if elapsed >= WINDOW_S and seq - first >= MIN_FRAMES:
                        break
                runs.append((seq - first) / elapsed)
    finally:
        torch.set_num_threads(saved)
    return runs, stages.medians().get(DREAM_STAGE)


def _dreamers(preset: Preset, net: DreamNet, student: LookStudent, bf16: bool | None = None,
              compiler: bool | None = None) -> dict[str, DreamSettings]:  # fmt: skip
    """The gradient teacher and the student, in torch and through ONNX Runtime, with the preset's live settings;
    the student in bf16 too where the CPU has it natively (`bf16` None: ask the CPU), and torch.compile'd (fp32,
    and bf16 where it has it) where a C++ compiler is (`compiler` None: look for one)."""
    base = dream_settings(preset, net, Overrides())
    on_onnx = dataclasses.replace(student, net=OnnxStudent(student.net), backend="onnx")  # type: ignore[arg-type]
    dreamers = {"gradient": base.replace(dreamer="gradient", student=None),
                "student": base.replace(dreamer="student", student=student),
                "student onnx": base.replace(dreamer="student", student=on_onnx)}  # fmt: skip
    if bf16 is None:
        bf16 = native_bf16() is not None
    if compiler is None:
        compiler = compiled.missing(torch.device("cpu")) is None
    runs = {"student bf16": ("torch", "bf16"), "student compile": ("compile", None),
            "student compile bf16": ("compile", "bf16")}  # fmt: skip
    for name, (backend, compute) in runs.items():
        if (bf16 or compute is None) and (compiler or backend == "torch"):
            runner, label = student_runner(student.net, backend, torch.device("cpu"), compute)  # type: ignore[arg-type]
            dreamers[name] = base.replace(dreamer="student", student=dataclasses.replace(student, net=runner,
                                                                                          backend=label))  # fmt: skip
    return dreamers


def measure_speed(dreamers: dict[str, DreamSettings], repeats: int) -> list[SpeedRow]:
    rows = []
    for size in SIZES:
        for name, settings in dreamers.items():
            runs, dream_ms = _worker_fps(settings, size, repeats)
            fps = statistics.median(runs)
            rows.append(SpeedRow(f"{size[0]}x{size[1]}", name, round(fps, 2), [round(r, 2) for r in runs],
                                 round(1000 / fps, 1), None if dream_ms is None else round(dream_ms, 2)))  # fmt: skip
    return rows


def _held_out() -> dict[str, torch.Tensor]:
    """The evaluation photographs, cropped to 16:9 and scaled to FIDELITY_SIZE."""
    from engine.framing import crop_scale

    return {name: to_tensor(crop_scale(rgb_photo(name), FIDELITY_SIZE, "fill")) for name in EVAL_PHOTOS}


def measure_fidelity(preset: Preset, net: DreamNet, objective: Objective, student: LookStudent) -> list[FidelityRow]:
    rows = []
    step, octaves = dataclasses.replace(preset.step_params(), jitter_walk=0), preset.octave_params()
    layers = objective.layers
    for name, frame in _held_out().items():
        teacher = dream_octaves(net, frame, objective, step, octaves, torch.Generator().manual_seed(0))
        with torch.no_grad():
            dreamt = (frame + student.net(frame)).clamp(0, 1)
            t_gain = float(objective_gain(net, objective, frame, teacher))
            s_gain = float(objective_gain(net, objective, frame, dreamt))
            feats_t, feats_s, feats_x = (net.forward_to(x, layers) for x in (teacher, dreamt, frame))
            distance = sum(float((feats_s[k] - feats_t[k]).abs().mean()) for k in layers)
            reference = sum(float((feats_x[k] - feats_t[k]).abs().mean()) for k in layers)
        rows.append(FidelityRow(name, round(t_gain, 4), round(s_gain, 4), round(s_gain / t_gain, 4) if t_gain else 0.0,
                                round(distance / max(reference, 1e-8), 4)))  # fmt: skip
    return rows


def measure_flicker(preset: Preset, student: LookStudent) -> list[FlickerRow]:
    rows = []
    flow = dis_flow(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    net = load_network(preset.network)
    objective = preset.objective_on(net)
    args = argparse.Namespace(octaves=1, steps=temporal.STEPS)
    for name, clip in temporal.clips(CLIP_SIZE, CLIP_FRAMES).items():
        greys = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in clip[temporal.SKIP:]]
        pairs = source_pairs(greys, flow)
        sources = temporal.as_float(clip[temporal.SKIP:])
        size = (clip[0].shape[1], clip[0].shape[0])
        settings = render_settings(dataclasses.replace(preset, dreamer="gradient"), args, net, objective, size)
        for dreamer_name in ("gradient", "student"):
            if dreamer_name == "student":
                dreamer = FrameDreamer(net, objective, dataclasses.replace(settings, dreamer="student"),
                                       student=student)  # fmt: skip
            else:
                dreamer = FrameDreamer(net, objective, settings)
            dreamt = [dreamer(index, frame)[1] for index, frame in enumerate(clip)]
            c = consistency(temporal.as_float(dreamt[temporal.SKIP:]), sources, pairs)
            rows.append(FlickerRow(name, dreamer_name, round(c.flicker, 5), round(c.strength, 5),
                                   round(c.flicker_per_strength, 4)))  # fmt: skip
    return rows


def _student(preset: Preset) -> tuple[LookStudent, str | None]:
    found, notice = StudentCache().get(preset)
    if found is not None:
        return found, None
    torch.manual_seed(0)
    return LookStudent(StudentNet().eval(), preset.lr, preset.path), notice


def _alone(settings: DreamSettings, size: tuple[int, int], threads: int | None) -> float | None:
    """The dream stage alone, for the show's pairs: one window of the worker on the show's thread count."""
    return _worker_fps(settings, size, 1, threads)[1]


def run_student_bench(json_output: bool, repeats: int) -> int:
    started = time.monotonic()
    preset = PresetLibrary().load(PRESET)
    preset = dataclasses.replace(preset, attract=dataclasses.replace(preset.attract, enabled=False))
    net = load_network(preset.network)
    objective = preset.objective_on(net)
    student, notice = _student(preset)
    dreamers = _dreamers(preset, net, student)
    speed = measure_speed(dreamers, repeats)
    fidelity = measure_fidelity(preset, net, objective, student) if notice is None else []
    flicker = measure_flicker(preset, student) if notice is None else []
    show = show_cost.measure_in_show(preset, dreamers, WINDOW_S, _alone) if notice is None else []
    shape = student.net.shape.as_dict()
    result = {
        "preset": PRESET, "student": str(student.path) if notice is None else None, "notice": notice,
        "shape": shape, "parameters": sum(p.numel() for p in student.net.parameters()),
        "speed": [asdict(r) for r in speed], "fidelity": [asdict(r) for r in fidelity],
        "flicker": [asdict(r) for r in flicker], "show": [asdict(r) for r in show],
        "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
        "seconds": round(time.monotonic() - started, 1), "targets": TARGETS,
    }  # fmt: skip
    if json_output:
        print(json.dumps(result, indent=2))
        return 0
    _print(result, speed, fidelity, flicker, show)
    return 0


def _print(result: dict[str, object], speed: list[SpeedRow], fidelity: list[FidelityRow],
           flicker: list[FlickerRow], show: list[ShowRow]) -> None:  # fmt: skip
    print(f"student vs gradient teacher, preset {PRESET}: student {result['student'] or 'none'} "
          f"(shape {result['shape']}, {result['parameters']} parameters); {result['threads']} torch threads, "
          f"{result['cpus']} CPUs, {result['seconds']} s")
    if result["notice"]:
        print(f"  {result['notice']}: speed with an untrained student of the default shape, no fidelity or flicker")
    print(f"dreamed frames/s through the dream worker (camera at the processing size, no display), median of "
          f"{len(speed[0].fps_runs)} windows of >= {WINDOW_S:g} s:")
    by_size: dict[str, dict[str, SpeedRow]] = {}
    for row in speed:
        by_size.setdefault(row.size, {})[row.dreamer] = row
    for size, pair in by_size.items():
        g, s, o = pair["gradient"], pair["student"], pair["student onnx"]
        print(f"  {size:>9}  gradient {g.fps:6.2f} fps ({g.ms_per_frame:7.1f} ms)   student {s.fps:6.2f} fps "
              f"({s.ms_per_frame:7.1f} ms)   x{s.fps / g.fps if g.fps else 0:.1f}   runs {s.fps_runs}   student onnx "
              f"{o.fps:6.2f} fps   dream stage {_ms(g.dream_ms)} / {_ms(s.dream_ms)} / {_ms(o.dream_ms)} ms")
        for name, row in pair.items():
            if name not in ("gradient", "student", "student onnx"):
                print(f"  {'':>9}  {name:<20} {row.fps:6.2f} fps ({row.ms_per_frame:7.1f} ms, dream stage "
                      f"{_ms(row.dream_ms)} ms)   runs {row.fps_runs}")
    if fidelity:
        print(f"fidelity on held-out pictures at {FIDELITY_SIZE[0]}x{FIDELITY_SIZE[1]} (student gain / teacher gain "
              f"in the look's objective; feature distance to the teacher, relative to the raw frame's):")
        for row in fidelity:
            print(f"  {row.picture:<8} teacher gain {row.teacher_gain:7.4f}  student gain {row.student_gain:7.4f}  "
                  f"fidelity {row.fidelity:6.3f}  feature distance {row.feature_distance:6.3f}")
        print(f"  mean fidelity {statistics.fmean(r.fidelity for r in fidelity):.3f} (target >= "
              f"{TARGETS['fidelity']})")
    if flicker:
        print(f"flicker per unit strength, temporal bench clips ({CLIP_FRAMES} frames, first {temporal.SKIP} not "
              f"measured), render path at the live setting:")
        for row in flicker:
            faint = f"  (strength under {FAINT}: not meaningful)" if row.strength < FAINT else ""
            print(f"  {row.clip:<17} {row.dreamer:<8} flicker {row.flicker:7.4f}  strength {row.strength:7.4f}  "
                  f"flicker/strength {row.flicker_per_strength:6.3f}{faint}")
        for name in ("gradient", "student"):
            mine = [r.flicker_per_strength for r in flicker if r.dreamer == name]
            print(f"  mean {name:<8} flicker/strength {statistics.fmean(mine):6.3f}")
    if show:
        width, height = show_cost.SHOW_OUTPUT
        cameras = "; ".join(f"{key}: {text}" for key, text in show_cost.CAMERAS.items())
        print(f"inside the show (capture thread, worker, composition at {width}x{height}, pygame renderer at 60 Hz): "
              f"the dream stage per frame against the worker alone on the show's threads, median of "
              f"{show_cost.SHOW_PAIRS} pairs measured back to back (targets: <= {TARGETS['show_over_alone']}x; the "
              f"student >= {TARGETS['fps_640x360']:g} fps at 640x360, >= {TARGETS['fps_1280x720']:g} at 1280x720); "
              f"cameras: {cameras}")
        for r in show:
            print(f"  {r.size:>9}  {r.camera:<5}  {r.dreamer:<20} dreamed {r.dream_fps:6.2f} fps   dream stage "
                  f"{_ms(r.dream_ms_show)} ms in the show vs {_ms(r.dream_ms_alone)} ms alone   "
                  f"x{r.ratio if r.ratio is not None else '-'}   pairs {r.ratios}   threads {r.threads}")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
