"""`python run.py bench --ray`: one 300-frame clip rendered by one process and by `render --ray` with two
workers on this machine, in the same run, and how visible the seams between chunks are.

Speed: the one-process render uses every core (torch threads = cores), the fair anchor;
each Ray worker runs one thread, as Ray gives a one-CPU task. A one-thread process is
timed too, for the limit: two workers can at best take a one-thread render's time times
the share of frames they dream (warm-ups and crossfade lead-ins included), halved.

Seams: the temporal warping error (engine.consistency) of every frame pair of the split
render, at the seams (pairs inside a crossfade, and the pair into a chunk's first frame)
against the same pairs of the one-process render, and the same for a split render
without warm-up: what the warm-up buys. Last, what a chunk pays to start late in a long
video: seeking to frame 1400 of a 1080p clip against decoding up to it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from argparse import Namespace
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from engine.consistency import pair_error, source_pairs
from engine.networks import load_network
from engine.temporal import dis_flow
from installation.benchmarks.temporal import clips
from installation.outputs.images import read_image, write_image
from installation.outputs.video_io import VideoSource, open_source
from installation.presets.loader import PresetLibrary, environment_presets_dir
from installation.presets.schema import Preset
from installation.rendering.frame_dreamer import FrameDreamer, RenderSettings, render_settings
from installation.rendering.offline import render
from installation.rendering.split.cluster import connect
from installation.rendering.split.driver import farm_render
from installation.rendering.split.plan import ChunkPlan, default_chunk_frames, warmup_frames
from installation.rendering.split.task import ChunkJob
from installation.rendering.work_folder import WorkFolder
from installation.testing.clips import ffmpeg_exe

CLIP = "pan chelsea"
SIZE = (160, 96)
FRAMES = 300
FPS = 25.0
WORKERS = 2
QUALITY = Namespace(octaves=2, steps=4, feedback=0.7)  # a lighter render than the preset's, same engine
SEEK_CLIP, SEEK_TO = "testsrc2=size=1920x1080:rate=25:duration=60", 1400  # a late chunk's first frame


@dataclass(frozen=True)
class RaySpeed:
    one_process_s: float  # every core
    one_thread_s: float
    ray_s: float  # connect, dream the chunks, stitch, encode
    ray_start_s: float  # of which: starting the local Ray
    dreamed_share: float  # frames dreamed by the chunks / frames of the clip
    one_process_fps: float  # frames finished per second between 10% and 90% of the clip: start-up left out
    ray_fps: float

    @property
    def ratio(self) -> float:
        return self.one_process_s / self.ray_s

    @property
    def steady_ratio(self) -> float:
        """--ray against one process once both are running: where the ratio of a render of hours tends."""
        return self.ray_fps / self.one_process_fps

    @property
    def limit(self) -> float:
        """The best two workers could do against the one-process render."""
        return self.one_process_s / (self.one_thread_s * self.dreamed_share / WORKERS)


@dataclass(frozen=True)
class SeamRow:
    variant: str
    inside: float  # median warping error of frame pairs inside chunks
    seams: float  # mean at the seams
    seams_one_process: float  # the same pairs of the one-process render
    strength: float  # the dream's strength (mean |frame - source|) at the seams, against the one-process render's

    @property
    def seam_ratio(self) -> float:
        return self.seams / self.seams_one_process if self.seams_one_process > 0 else float("nan")


def _settings() -> tuple[Preset, RenderSettings]:
    preset = PresetLibrary(environment_presets_dir()).load("default")
    net = load_network(preset.network)
    return preset, render_settings(preset, QUALITY, net, preset.objective_on(net), SIZE)


class _Pace:
    """When each frame was finished, for the steady rate (frames/s between 10% and 90% of the clip)."""

    def __init__(self) -> None:
        self.times: dict[int, float] = {}

    def __call__(self, done: int, total: int, detail: str = "") -> None:
        self.times.setdefault(done, time.perf_counter())

    def fps(self) -> float:
        low, high = round(FRAMES * 0.1), round(FRAMES * 0.9)
        return (high - low) / (self.times[high] - self.times[low])


def _one_process(folder: Path, preset: Preset, settings: RenderSettings, output: Path,
                 threads: int) -> tuple[float, float]:  # fmt: skip
    torch.set_num_threads(threads)
    net = load_network(settings.network)
    dreamer = FrameDreamer(net, preset.objective_on(net), settings, fps=FPS)
    pace, began = _Pace(), time.perf_counter()
    render(open_source(folder, folder_fps=FPS), output, dreamer, keep_frames=True, progress=pace)
    return time.perf_counter() - began, pace.fps()


def _on_ray(folder: Path, preset: Preset, settings: RenderSettings, plan: ChunkPlan,
            output: Path) -> tuple[float, float, float]:  # fmt: skip
    pace, began = _Pace(), time.perf_counter()
    cluster = connect(None, cpus=WORKERS)
    started = time.perf_counter() - began
    try:
        job = ChunkJob(folder, FPS, preset, None, settings, FPS, "cpu", "float32")
        farm_render(open_source(folder, folder_fps=FPS), output, job, plan, cluster, keep_frames=True, progress=pace)
    finally:
        cluster.close()
    return time.perf_counter() - began, started, pace.fps()


def _frames(output: Path) -> list[np.ndarray]:
    work = WorkFolder(output)
    return [read_image(work.frame_path(i)).astype(np.float32) / 255 for i in range(FRAMES)]


def _seam_pairs(plan: ChunkPlan) -> list[int]:
    """Pair t joins frames t-1 and t: the pairs inside each crossfade and the one into each chunk's first frame."""
    return sorted({t for chunk in plan.chunks[1:] for t in range(chunk.keep_from, chunk.first + 1)})


def _seam_row(variant: str, split: list[np.ndarray], one: list[np.ndarray], clip: list[np.ndarray], pairs: list,
              plan: ChunkPlan) -> SeamRow:  # fmt: skip
    errors = [pair_error(split[t - 1], split[t], pairs[t - 1]) for t in range(1, FRAMES)]
    baseline = [pair_error(one[t - 1], one[t], pairs[t - 1]) for t in range(1, FRAMES)]
    seams = _seam_pairs(plan)
    inside = [errors[t - 1] for t in range(1, FRAMES) if t not in seams]
    sources = [clip[t].astype(np.float32) / 255 for t in seams]
    strength = np.mean([np.abs(split[t] - source).mean() for t, source in zip(seams, sources, strict=True)])
    strength_one = np.mean([np.abs(one[t] - source).mean() for t, source in zip(seams, sources, strict=True)])
    return SeamRow(variant, statistics.median(inside), float(np.mean([errors[t - 1] for t in seams])),
                   float(np.mean([baseline[t - 1] for t in seams])), float(strength / strength_one))  # fmt: skip


def _seek_against_decode(work: Path, repeats: int) -> tuple[float, float]:
    """Seconds to the first pixels of frame SEEK_TO of a 1080p clip: seeking there, and decoding up to it (the
    way a late chunk or a resumed render started before); medians."""
    path = work / "seek.mp4"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", SEEK_CLIP,
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "250", "-pix_fmt", "yuv420p", str(path)],
                   check=True)  # fmt: skip
    count = VideoSource(path).info.frame_count  # the driver counts once; a chunk is handed the count
    seek_s, decode_s = [], []
    for _ in range(repeats):
        began = time.perf_counter()
        frames = VideoSource(path, count).frames(SEEK_TO)  # a fresh source: its packet times demuxed in the timing
        next(frames)
        seek_s.append(time.perf_counter() - began)
        frames.close()
        began = time.perf_counter()
        frames = VideoSource(path, count).frames(0)
        for _ in range(SEEK_TO + 1):
            next(frames)
        decode_s.append(time.perf_counter() - began)
        frames.close()
    return statistics.median(seek_s), statistics.median(decode_s)


def run_ray_bench(json_output: bool, repeats: int) -> int:
    preset, settings = _settings()
    warmup = warmup_frames(settings.feedback)
    plan = ChunkPlan(FRAMES, default_chunk_frames(FRAMES, WORKERS, warmup), warmup)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="dreamwall-ray-bench-") as scratch:
        work = Path(scratch)
        folder = work / "clip"
        folder.mkdir()
        clip = clips(SIZE, FRAMES)[CLIP]
        for index, rgb in enumerate(clip):
            write_image(folder / f"{index:06d}.png", rgb)
        runs: list[RaySpeed] = []
        for repeat in range(repeats):
            one, one_fps = _one_process(folder, preset, settings, work / f"one{repeat}.mp4", cores)
            ray_s, start_s, ray_fps = _on_ray(folder, preset, settings, plan, work / f"ray{repeat}.mp4")
            thread, _ = _one_process(folder, preset, settings, work / f"thread{repeat}.mp4", 1)
            runs.append(RaySpeed(one, thread, ray_s, start_s, plan.dreamed / FRAMES, one_fps, ray_fps))
        cold = ChunkPlan(FRAMES, plan.chunk_frames, 0)
        _on_ray(folder, preset, settings, cold, work / "cold.mp4")
        greys = [np.ascontiguousarray(rgb.mean(axis=2).astype(np.uint8)) for rgb in clip]
        pairs = source_pairs(greys, dis_flow())
        one_frames = _frames(work / "thread0.mp4")  # one thread, as the workers: the same arithmetic
        seek_s, decode_s = _seek_against_decode(work, repeats)
        seams = [_seam_row("warm-up + crossfade", _frames(work / "ray0.mp4"), one_frames, clip, pairs, plan),
                 _seam_row("no warm-up", _frames(work / "cold.mp4"), one_frames, clip, pairs, cold)]  # fmt: skip
    median = RaySpeed(*(statistics.median(getattr(run, name) for run in runs) for name in asdict(runs[0])))
    if json_output:
        seam_rows = [{**asdict(row), "seam_ratio": row.seam_ratio} for row in seams]
        print(json.dumps({"plan": plan.manifest(), "speed": asdict(median), "ratio": median.ratio,
                          "steady_ratio": median.steady_ratio,
                          "limit": median.limit, "runs": [asdict(run) for run in runs], "seams": seam_rows,
                          "start_at_frame": {"frame": SEEK_TO, "seek_s": seek_s, "decode_s": decode_s}},
                         indent=1))  # fmt: skip
        return 0
    print(f"clip: '{CLIP}' {FRAMES} frames at {SIZE[0]}x{SIZE[1]}, preset default with octaves {QUALITY.octaves}, "
          f"steps {QUALITY.steps}, feedback {QUALITY.feedback}; {cores} cores; median of {repeats}")  # fmt: skip
    print(f"split: {plan.describe()}")
    print(f"one process, {cores} threads     {median.one_process_s:7.1f} s")
    print(f"one process, 1 thread       {median.one_thread_s:7.1f} s")
    print(f"--ray, {WORKERS} workers             {median.ray_s:7.1f} s  (of which {median.ray_start_s:.1f} s "
          f"starting Ray)")  # fmt: skip
    print(f"ratio one process / --ray   {median.ratio:7.2f}x   limit {median.limit:.2f}x "
          f"({median.ratio / median.limit:.0%} of it)")  # fmt: skip
    print(f"steady frames/s             {median.one_process_fps:7.2f} one process, {median.ray_fps:.2f} --ray: "
          f"{median.steady_ratio:.2f}x (start-up left out: where a long render's ratio tends)")  # fmt: skip
    print("\nseams: warping error of frame pairs (lower is steadier), and the dream's strength at the seams")
    print(f"{'variant':22s} {'inside chunks':>14s} {'at seams':>9s} {'same pairs, one process':>24s} {'ratio':>6s} "
          f"{'strength vs one process':>24s}")  # fmt: skip
    for row in seams:
        print(f"{row.variant:22s} {row.inside:14.4f} {row.seams:9.4f} {row.seams_one_process:24.4f} "
              f"{row.seam_ratio:6.2f} {row.strength:24.2f}")  # fmt: skip
    print(f"\na chunk starting at frame {SEEK_TO} of a 1080p clip: seek {seek_s:.2f} s, decoding up to it "
          f"{decode_s:.2f} s ({decode_s / seek_s:.0f}x)")  # fmt: skip
    return 0
