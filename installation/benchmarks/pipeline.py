"""The live pipeline end to end, as `run.py bench --live` and the GPU check measure it.

Demo camera (or a stream: `camera_url`) -> capture thread -> dream worker (a preset, on a device and dtype, the
backend the live app's chooser picks) -> composed at the output size -> the real pygame
Renderer in a window of that size (SDL's dummy driver when there is no display) at its
production pacing. Measured over `repeats` windows after a warm-up; medians reported:
dreamed frames/s, distinct dreams shown per second, display loop frames/s,
capture-to-display latency (capture timestamp of a dream's source frame to the end of
the display tick that first showed it), the worker's time per frame and where it goes
(installation.dreaming.stage_timer), the renderer's work per tick (upload + blit + flip) and the
GPU memory the worker needed.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from installation.app.config import display_available
from installation.controls.actions import Dispatcher
from installation.dreaming.backend_choice import BackendChooser
from installation.dreaming.looks import NetworkCache, Overrides, dream_settings
from installation.dreaming.placement import Placement
from installation.dreaming.stage_timer import StageTimer
from installation.dreaming.thread_tuner import ThreadTuner, thread_candidates
from installation.dreaming.worker import DreamWorker
from installation.outputs.recorder import Recorder, RecordToggle, WriterFactory
from installation.presets.loader import Preset
from installation.sources.capture import Capture
from installation.sources.demo import DemoSource
from installation.sources.openers import open_source

if TYPE_CHECKING:  # imported late at run time: SDL reads its driver setting on import
    from installation.display.renderer import Renderer
    from installation.dreaming.students import LookStudent


@dataclass(frozen=True)
class PipelineSpec:
    """What runs: sizes are (width, height)."""

    process_size: tuple[int, int]
    output_size: tuple[int, int]
    camera_size: tuple[int, int] = (640, 360)
    camera_fps: float = 30.0
    camera_url: str | None = None  # read the camera from this stream (as `--source URL`) instead of the demo camera
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    dtype: torch.dtype = torch.float32
    compute: str | None = None  # "bf16": the network's arithmetic under CPU bf16 autocast, frames fp32
    steps: int = 2
    display_hz: int = 60
    window_s: float = 10.0
    warmup_s: float = 3.0
    repeats: int = 5
    record_fps: float | None = None  # record the shown window as the REC key does (at this rate), or not
    writer_factory: WriterFactory | None = None  # the recording's encoder (None: the app's live choice)
    student: LookStudent | None = None  # dream with this one-pass student (None: as the preset says)


@dataclass
class PipelineFigures:
    backend: str
    dream_fps: float
    dream_fps_runs: list[float]
    shown_fps: float
    display_fps: float
    display_fps_runs: list[float]
    latency_ms_median: float | None
    latency_ms_p95: float | None
    worker_latency_ms: float | None  # capture -> dream published (the worker's own rolling mean)
    step_ms: float | None  # the worker's whole time per frame
    stages_ms: dict[str, float] = field(default_factory=dict)  # median per stage of the worker's frame
    display_work_ms: float | None = None  # the renderer's upload + blit + flip per tick, median
    gpu_memory_mb: float | None = None  # peak allocated by torch on the device
    cpu_threads: str = ""  # what the thread tuner chose and measured (CPU shows)
    threads: int | None = None  # the torch thread count the tuner chose (None: it had not chosen yet)
    recording: RecordingFigures | None = None
    camera: str = ""  # the capture's source, e.g. "demo" or "stream http://127.0.0.1:PORT/cam.mjpg"
    camera_frames: int = 0  # frames the capture thread published


@dataclass
class RecordingFigures:
    """What the REC key's recorder did during the measured windows."""

    size: tuple[int, int]
    fps: float
    codec: str
    seconds: float
    grabs: int  # frames taken from the window (at most fps a second)
    written: int  # video frames written (repeats included)
    dropped: int  # grabs replaced before the encoder took them: the encoder fell behind

    @property
    def dropped_per_minute(self) -> float:
        return self.dropped / self.seconds * 60.0 if self.seconds else 0.0


class _ShownLatency:
    """Remembers the dream handed to the renderer, to time it once the renderer has shown it."""

    def __init__(self, worker: DreamWorker) -> None:
        self._worker = worker
        self._handed: tuple[int, float] | None = None  # (dream seq, capture timestamp of its source)
        self._timed_seq: int | None = None
        self.latencies_ms: list[float] = []
        self.shown = 0

    def latest(self) -> tuple[int, np.ndarray] | None:
        dream = self._worker.latest()
        if dream is None:
            return None
        self._handed = (dream.seq, dream.source_timestamp)
        return dream.seq, dream.image

    def after_tick(self, shown_seq: int | None, now: float, record: bool) -> None:
        if self._handed is None or shown_seq != self._handed[0] or shown_seq == self._timed_seq:
            return
        self._timed_seq = shown_seq
        if record:
            self.shown += 1
            self.latencies_ms.append((now - self._handed[1]) * 1000.0)


def _p95(values: list[float]) -> float | None:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else None


@dataclass
class _Windows:
    """What the measured windows saw, one value per window (work_ms: one per display tick)."""

    dream_fps: list[float] = field(default_factory=list)
    display_fps: list[float] = field(default_factory=list)
    shown_fps: list[float] = field(default_factory=list)
    work_ms: list[float] = field(default_factory=list)


def _measure_windows(worker: DreamWorker, renderer: Renderer, timing: _ShownLatency, stages: StageTimer,
                     spec: PipelineSpec, record: RecordToggle | None = None) -> _Windows:  # fmt: skip
    """Warm up (the first dream builds the backend), then `spec.repeats` windows of `spec.window_s`."""
    deadline = time.monotonic() + 120.0
    while worker.latest() is None and time.monotonic() < deadline:
        renderer.tick()
    end = time.monotonic() + spec.warmup_s
    while time.monotonic() < end:
        renderer.tick()
        timing.after_tick(renderer.shown_seq, time.monotonic(), record=False)
    stages.samples.clear()
    windows = _Windows()
    if record is not None:
        record.toggle()
    for _ in range(spec.repeats):
        started, dreamed, shown, ticks = time.monotonic(), worker.health().frames, timing.shown, 0
        while (now := time.monotonic()) - started < spec.window_s:
            renderer.tick()
            if record is not None:
                record.capture(renderer.grab)  # as the live loop: at most record_fps grabs a second
            ticks += 1
            windows.work_ms.append(renderer.work_ms)
            timing.after_tick(renderer.shown_seq, time.monotonic(), record=True)
        elapsed = now - started
        windows.dream_fps.append((worker.health().frames - dreamed) / elapsed)
        windows.display_fps.append(ticks / elapsed)
        windows.shown_fps.append((timing.shown - shown) / elapsed)
    return windows


def measure_pipeline(preset: Preset, spec: PipelineSpec) -> PipelineFigures:
    """`preset` through the whole live path as `spec` says; `spec.repeats` windows after a warm-up."""
    if not display_available():
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # no screen here: SDL draws into memory
    from installation.display.renderer import Renderer

    placement = Placement(spec.device, spec.dtype, "benchmark", spec.compute)
    net = NetworkCache().get(preset.network, spec.device, spec.dtype)
    settings = dataclasses.replace(dream_settings(preset, net, Overrides(), spec.process_size, placement=placement),
                                   steps=spec.steps)  # fmt: skip
    if spec.student is not None:
        settings = settings.replace(dreamer="student", student=spec.student)
    chooser = BackendChooser()  # no export store: the live app's choice, without writing a cache
    chooser.wanted, chooser.compute = preset.backend, spec.compute
    if spec.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(spec.device)
    source = DemoSource(size=spec.camera_size, fps=spec.camera_fps) if spec.camera_url is None else open_source(
        spec.camera_url)  # fmt: skip
    capture = Capture(source).start()
    stages = StageTimer(spec.device)
    threads = torch.get_num_threads()
    tuner = ThreadTuner(thread_candidates(threads))  # as the app: the faster thread count, found in the show
    worker = DreamWorker(capture, settings, gradient_factory=chooser, stage_timer=stages, thread_tuner=tuner)
    worker.set_output_size(spec.output_size)
    worker.start()
    timing = _ShownLatency(worker)
    renderer = Renderer(timing.latest, Dispatcher(), size=spec.output_size, windowed=True, fps=spec.display_hz)
    folder = tempfile.TemporaryDirectory(prefix="dreamwall-bench-rec-")
    record = None if spec.record_fps is None else RecordToggle(Path(folder.name), spec.record_fps, recorder_factory=(
        functools.partial(Recorder, writer_factory=spec.writer_factory) if spec.writer_factory else Recorder))
    try:
        windows = _measure_windows(worker, renderer, timing, stages, spec, record)
        health, camera = worker.health(), capture.health()
        recording = None if record is None else _recording_figures(record, spec)
    finally:
        if record is not None:
            record.stop()
        folder.cleanup()
        renderer.close()
        worker.close()
        torch.set_num_threads(threads)
        capture.close()
    memory = torch.cuda.max_memory_allocated(spec.device) / 2**20 if spec.device.type == "cuda" else None
    return PipelineFigures(
        backend=chooser.name,
        dream_fps=statistics.median(windows.dream_fps),
        dream_fps_runs=[round(v, 2) for v in windows.dream_fps],
        shown_fps=statistics.median(windows.shown_fps),
        display_fps=statistics.median(windows.display_fps),
        display_fps_runs=[round(v, 1) for v in windows.display_fps],
        latency_ms_median=statistics.median(timing.latencies_ms) if timing.latencies_ms else None,
        latency_ms_p95=_p95(timing.latencies_ms),
        worker_latency_ms=health.latency_ms,
        step_ms=health.step_ms,
        stages_ms={stage: round(ms, 2) for stage, ms in stages.medians().items()},
        display_work_ms=statistics.median(windows.work_ms) if windows.work_ms else None,
        gpu_memory_mb=memory,
        cpu_threads=tuner.summary,
        threads=tuner.chosen,
        recording=recording,
        camera=camera.source,
        camera_frames=camera.frames,
    )


def _recording_figures(record: RecordToggle, spec: PipelineSpec) -> RecordingFigures | None:
    recorder = record.recorder
    if recorder is None or spec.record_fps is None:
        return None
    seconds = recorder.elapsed_s
    record.stop()  # finish the file: a recorder that cannot keep up shows it in its drops, not here
    codec = getattr(recorder, "codec", None) or "?"
    return RecordingFigures(recorder.size, spec.record_fps, codec, seconds, record.grabs, recorder.frames_written,
                            recorder.dropped)
