"""`run.py bench --live`: the live pipeline end to end, and how steady its feedback loop is.

Pipeline (installation.benchmarks.pipeline): the demo camera -> capture thread -> dream
worker (the `default` preset: squeezenet, 2 steps per frame, at 320x180 and at 640x360
on the CPU, in the precision the app's `auto` picks: bf16 where native and faster) ->
composed at 1280x720 -> the real pygame Renderer in a 1280x720 window at its production
pacing of 60 Hz; medians of `repeats` windows of ~10 s after a warm-up.

Stability, on a static scene (a still photograph handed to the worker in lock step, so
every dream is kept and consecutive outputs really are consecutive): the mean absolute
change between consecutive output frames with feedback + flow (the preset's) against
feedback off, and the drift of brightness and saturation over 2000 frames with
feedback + flow at a smaller size to keep the run short. Attract mode is switched off
for these runs: it is meant to take over a still room, which would hide the loop.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import cv2
import numpy as np
import torch

from engine.networks import load_network
from engine.post import LUMA
from installation.benchmarks.frame_costs import (
    ComposeCost,
    FlowCost,
    MaskCost,
    measure_compose,
    measure_flow,
    measure_mask,
    print_costs,
)
from installation.benchmarks.pipeline import PipelineFigures, PipelineSpec, measure_pipeline
from installation.dreaming.backend_choice import BackendChooser
from installation.dreaming.cpu_precision import Bf16Probe
from installation.dreaming.looks import Overrides, dream_settings
from installation.dreaming.worker import DreamSettings, DreamWorker
from installation.outputs.recorder import WriterFactory
from installation.presets.loader import Preset, PresetLibrary
from installation.sources.capture import Frame
from installation.sources.demo import load_photo

PRESET = "default"
PROCESS_SIZE = (320, 180)  # the stability runs' size
LIVE_SIZES = ((320, 180), (640, 360))
STEPS = 2
WINDOW_SIZE = (1280, 720)
DISPLAY_HZ = 60
WINDOW_S = 10.0
WARMUP_S = 3.0
DREAM_TARGET_FPS = {(320, 180): 25.0, (640, 360): 12.0}  # issue 16's targets on the 2-core CPU
DISPLAY_TARGET_FPS = 30.0
RECORD_SIZES = ((1280, 720), (1920, 1080))  # the REC key records the window: these window sizes
RECORD_FPS = 25.0  # as the app's RecordToggle
STILL_PHOTO = "chelsea"
CHANGE_FRAMES = 150
CHANGE_SKIP = 20  # frames before the feedback loop has built up its detail
DRIFT_FRAMES = 2000
DRIFT_SIZE = (160, 90)
DRIFT_BLOCK = 100  # frames averaged at the start and at the end


@dataclass
class StabilityFigures:
    size: str
    frames: int
    change_with_feedback: float  # mean |frame_t - frame_t-1| in [0, 1] units
    change_without_feedback: float
    feedback: float

    @property
    def ratio(self) -> float:
        return self.change_with_feedback / self.change_without_feedback if self.change_without_feedback else 0.0


@dataclass
class DriftFigures:
    size: str
    frames: int
    source_brightness: float
    source_saturation: float
    brightness_start: float
    brightness_end: float
    brightness_min: float
    brightness_max: float
    saturation_start: float
    saturation_end: float
    saturation_min: float
    saturation_max: float
    seconds: float

    @property
    def brightness_drift(self) -> float:
        return self.brightness_end - self.brightness_start

    @property
    def saturation_drift(self) -> float:
        return self.saturation_end - self.saturation_start


def _preset() -> Preset:
    """The default look with attract mode off (a still scene must show the feedback loop, not the attract zoom)."""
    preset = PresetLibrary().load(PRESET)
    return dataclasses.replace(preset, attract=dataclasses.replace(preset.attract, enabled=False))


def _settings(preset: Preset, size: tuple[int, int], feedback: float | None = None) -> DreamSettings:
    net = load_network(preset.network)
    return dream_settings(preset, net, Overrides(feedback=feedback), size).replace(steps=STEPS)


def _chooser(preset: Preset) -> BackendChooser:
    chooser = BackendChooser()  # no export store: the live app's choice, without writing a cache
    chooser.wanted = preset.backend
    return chooser


# ---- stability on a still scene ----------------------------------------------------------------


class _LockstepStill:
    """A camera that sees one still image and hands out its next frame only when asked.

    Newest-wins capture would drop dreams the measuring loop had not read yet; here
    each frame is released after the previous dream was taken, so none is lost.
    """

    def __init__(self, image: np.ndarray) -> None:
        self._image = image
        self._turn = threading.Semaphore(0)
        self.seq = 0

    def release(self) -> None:
        self._turn.release()

    def wait_newer(self, after_seq: int, timeout: float | None = None) -> Frame | None:
        if not self._turn.acquire(timeout=timeout):
            return None
        self.seq += 1
        return Frame(self._image, self.seq, time.monotonic())


def still_image(size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(load_photo(STILL_PHOTO), size, interpolation=cv2.INTER_AREA)


def dream_still(preset: Preset, size: tuple[int, int], frames: int, feedback: float | None) -> Iterator[np.ndarray]:
    """`frames` consecutive dreams (RGB uint8) of the still photo, each starting from the previous one's detail."""
    feed = _LockstepStill(still_image(size))
    with DreamWorker(feed, _settings(preset, size, feedback), gradient_factory=_chooser(preset)) as worker:
        last = 0
        for _ in range(frames):
            feed.release()
            wanted = feed.seq + 1
            while True:
                dream = worker.wait_newer(last, timeout=60.0)
                if dream is None:
                    raise RuntimeError(f"the dream worker produced nothing for 60 s ({worker.health().last_error})")
                last = dream.seq
                if dream.source_seq >= wanted:
                    break
            yield dream.image


def mean_change(images: Iterator[np.ndarray], skip: int) -> tuple[float, int]:
    """Mean absolute difference between consecutive images in [0, 1] units, after `skip` images."""
    previous: np.ndarray | None = None
    total, count = 0.0, 0
    for index, image in enumerate(images):
        current = image.astype(np.float32) / 255.0
        if previous is not None and index > skip:
            total += float(np.abs(current - previous).mean())
            count += 1
        previous = current
    return (total / count if count else 0.0), count


def brightness(image: np.ndarray) -> float:
    return float((image.astype(np.float32) @ np.array(LUMA, dtype=np.float32)).mean() / 255.0)


def saturation(image: np.ndarray) -> float:
    """Mean chroma (max minus min channel), as engine.post defines saturation."""
    return float((image.max(axis=2).astype(np.float32) - image.min(axis=2)).mean() / 255.0)


def measure_change(
    preset: Preset, size: tuple[int, int] = PROCESS_SIZE, frames: int = CHANGE_FRAMES
) -> StabilityFigures:
    with_feedback, count = mean_change(dream_still(preset, size, frames, None), CHANGE_SKIP)
    without, _ = mean_change(dream_still(preset, size, frames, 0.0), CHANGE_SKIP)
    return StabilityFigures(f"{size[0]}x{size[1]}", count, with_feedback, without, preset.feedback)


def measure_drift(preset: Preset, size: tuple[int, int] = DRIFT_SIZE, frames: int = DRIFT_FRAMES) -> DriftFigures:
    started = time.monotonic()
    lights: list[float] = []
    colours: list[float] = []
    for image in dream_still(preset, size, frames, None):
        lights.append(brightness(image))
        colours.append(saturation(image))
    block = min(DRIFT_BLOCK, max(1, frames // 4))

    def blocks(values: list[float]) -> list[float]:
        return [statistics.fmean(values[i:i + block]) for i in range(0, len(values) - block + 1, block)]

    light_blocks, colour_blocks = blocks(lights), blocks(colours)
    source = still_image(size)
    return DriftFigures(
        size=f"{size[0]}x{size[1]}", frames=frames,
        source_brightness=brightness(source), source_saturation=saturation(source),
        brightness_start=light_blocks[0], brightness_end=light_blocks[-1],
        brightness_min=min(light_blocks), brightness_max=max(light_blocks),
        saturation_start=colour_blocks[0], saturation_end=colour_blocks[-1],
        saturation_min=min(colour_blocks), saturation_max=max(colour_blocks),
        seconds=time.monotonic() - started,
    )  # fmt: skip


# ---- report ------------------------------------------------------------------------------------


def _ok(value: float, target: float) -> str:
    return "ok" if value >= target else "BELOW TARGET"


def _ms(value: float | None) -> str:
    return f"{value:.0f} ms" if value is not None else "-"


def print_pipeline(pipeline: PipelineFigures, size: tuple[int, int], why: str, repeats: int) -> None:
    """One processing size's end-to-end figures against its target."""
    target = DREAM_TARGET_FPS[size]
    print(f"live pipeline: demo camera -> {PRESET} preset ({STEPS} steps, {size[0]}x{size[1]}, "
          f"backend {pipeline.backend}, {why}, composed at {WINDOW_SIZE[0]}x{WINDOW_SIZE[1]}) -> Renderer "
          f"{WINDOW_SIZE[0]}x{WINDOW_SIZE[1]} @ {DISPLAY_HZ} Hz pacing; "
          f"median of {repeats} x {WINDOW_S:g} s, {os.cpu_count()} CPUs; tuned in the show: "
          f"{pipeline.cpu_threads or 'no tuning'}")
    print(f"  dreamed frames/s (end to end)   {pipeline.dream_fps:7.1f}   target >= {target:g}: "
          f"{_ok(pipeline.dream_fps, target)}   runs {pipeline.dream_fps_runs}")
    print(f"  dreams shown/s                  {pipeline.shown_fps:7.1f}")
    print(f"  display loop frames/s           {pipeline.display_fps:7.1f}   target >= {DISPLAY_TARGET_FPS:g}: "
          f"{_ok(pipeline.display_fps, DISPLAY_TARGET_FPS)}   runs {pipeline.display_fps_runs}")
    print(f"  capture -> display latency      {_ms(pipeline.latency_ms_median):>7}   median "
          f"(p95 {_ms(pipeline.latency_ms_p95)}; capture -> dream {_ms(pipeline.worker_latency_ms)}, "
          f"dream step {_ms(pipeline.step_ms)} per frame)")
    stages = ", ".join(f"{stage} {ms:.1f}" for stage, ms in pipeline.stages_ms.items())
    print(f"  worker ms per frame by stage    {stages}; display work {_ms(pipeline.display_work_ms)} per tick")


def print_table(change: StabilityFigures, drift: DriftFigures,
                costs: tuple[list[ComposeCost], list[FlowCost], list[MaskCost]]) -> None:  # fmt: skip
    print(f"static scene ({STILL_PHOTO}, {change.size}, {change.frames} consecutive frames after {CHANGE_SKIP}):")
    print(f"  mean |frame change| feedback {change.feedback:g} + flow  {change.change_with_feedback:.4f}")
    print(f"  mean |frame change| feedback off        {change.change_without_feedback:.4f}")
    print(f"  ratio (feedback+flow / off)             {change.ratio:.2f}")
    print(f"drift over {drift.frames} frames with feedback + flow at {drift.size} (smaller than live to keep it "
          f"short; {drift.seconds:.0f} s), means of {DRIFT_BLOCK}-frame blocks, [0, 1] units:")
    print(f"  brightness  source {drift.source_brightness:.3f}  first {drift.brightness_start:.3f}  last "
          f"{drift.brightness_end:.3f}  drift {drift.brightness_drift:+.4f}  range {drift.brightness_min:.3f}-"
          f"{drift.brightness_max:.3f}")
    print(f"  saturation  source {drift.source_saturation:.3f}  first {drift.saturation_start:.3f}  last "
          f"{drift.saturation_end:.3f}  drift {drift.saturation_drift:+.4f}  range {drift.saturation_min:.3f}-"
          f"{drift.saturation_max:.3f}")
    print_costs(*costs)


def measure_live(preset: Preset, repeats: int) -> list[tuple[tuple[int, int], str, PipelineFigures]]:
    """(size, precision and why, figures) at each live size, in the precision the app's auto would pick."""
    probe, net = Bf16Probe(), load_network(preset.network)  # no cache file: measured afresh, nothing written
    results = []
    for size in LIVE_SIZES:
        choice = probe.choose(net, size)
        spec = PipelineSpec(size, WINDOW_SIZE, steps=STEPS, display_hz=DISPLAY_HZ, window_s=WINDOW_S,
                            warmup_s=WARMUP_S, repeats=repeats, compute="bf16" if choice.compute == "bf16" else None)
        results.append((size, choice.reason, measure_pipeline(preset, spec)))
    return results


def measure_recording(preset: Preset, repeats: int, writer_factory: WriterFactory | None = None
                      ) -> list[tuple[PipelineFigures, PipelineFigures]]:  # fmt: skip
    """(without, with recording) of the default show at 320x180 in a window of each RECORD_SIZES size."""
    results = []
    for window in RECORD_SIZES:
        spec = PipelineSpec(LIVE_SIZES[0], window, steps=STEPS, display_hz=DISPLAY_HZ, window_s=WINDOW_S,
                            warmup_s=WARMUP_S, repeats=repeats)  # fmt: skip
        recording = dataclasses.replace(spec, record_fps=RECORD_FPS, writer_factory=writer_factory)
        results.append((measure_pipeline(preset, spec), measure_pipeline(preset, recording)))
    return results


def print_recording(pairs: list[tuple[PipelineFigures, PipelineFigures]]) -> None:
    print(f"recording the window at {RECORD_FPS:g} fps while the default show runs at {LIVE_SIZES[0][0]}x"
          f"{LIVE_SIZES[0][1]} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):")
    for plain, recorded in pairs:
        figures = recorded.recording
        if figures is None:
            continue
        width, height = figures.size
        print(f"  {width}x{height} {figures.codec:<10} dropped {figures.dropped_per_minute:6.1f}/min "
              f"({figures.dropped} of {figures.grabs} grabs in {figures.seconds:.0f} s)  dream fps "
              f"{plain.dream_fps:.1f} -> {recorded.dream_fps:.1f}  display fps {plain.display_fps:.1f} -> "
              f"{recorded.display_fps:.1f}")


def run_live_bench(json_output: bool, repeats: int, recording_only: bool = False) -> int:
    torch.set_grad_enabled(True)
    preset = _preset()
    recording = measure_recording(preset, repeats)
    if recording_only:
        if json_output:
            print(json.dumps([{"without": asdict(plain), "with": asdict(recorded),
                               "dropped_per_minute": recorded.recording and recorded.recording.dropped_per_minute}
                              for plain, recorded in recording], indent=2))  # fmt: skip
        else:
            print_recording(recording)
        return 0
    pipelines = measure_live(preset, repeats)
    change = measure_change(preset)
    drift = measure_drift(preset)
    costs = (measure_compose(repeats), measure_flow(repeats), measure_mask(repeats))
    if json_output:
        print(json.dumps({
            "preset": PRESET, "steps": STEPS, "window": list(WINDOW_SIZE),
            "repeats": repeats, "window_s": WINDOW_S, "torch_threads": torch.get_num_threads(),
            "cpus": os.cpu_count(),
            "pipelines": [{"process_size": list(size), "precision": why, "target_dream_fps": DREAM_TARGET_FPS[size],
                           **asdict(figures)} for size, why, figures in pipelines],
            "targets": {"dream_fps": {f"{w}x{h}": fps for (w, h), fps in DREAM_TARGET_FPS.items()},
                        "display_fps": DISPLAY_TARGET_FPS},
            "static_change": {**asdict(change), "ratio": change.ratio, "skipped_frames": CHANGE_SKIP},
            "drift": {**asdict(drift), "brightness_drift": drift.brightness_drift,
                      "saturation_drift": drift.saturation_drift, "block": DRIFT_BLOCK},
            "compose_ms": [asdict(cost) for cost in costs[0]],
            "flow_ms": [{**asdict(flow), "ratio": flow.ratio} for flow in costs[1]],
            "mask_ms": [asdict(mask) for mask in costs[2]],
            "recording": [{"without": asdict(plain), "with": asdict(recorded),
                           "dropped_per_minute": recorded.recording and recorded.recording.dropped_per_minute}
                          for plain, recorded in recording],
        }, indent=2))  # fmt: skip
        return 0
    for size, why, figures in pipelines:
        print_pipeline(figures, size, why, repeats)
    print_table(change, drift, costs)
    print_recording(recording)
    return 0
