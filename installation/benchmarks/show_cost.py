"""The live pipeline's own cost, for `run.py bench --student`: a dreamer's dream stage inside the whole show
against the same stage in the worker alone.

The dream stage's median time per frame (the gradient's steps, or the student's pass) with the whole
show around it (the camera's capture thread, the worker, composition at SHOW_OUTPUT and the real
pygame renderer at 60 Hz: installation.benchmarks.pipeline) against the same stage in the worker
alone, measured in pairs (the show, then the worker alone on the torch thread count the show's tuner
chose, SHOW_PAIRS times) and reported as the median of the pairs' ratios: this machine's speed
drifts by up to 1.5x between minutes, more than the show's own cost, so a ratio against speed rows
measured minutes earlier said more about the drift than about the show; and a show on one thread
against a worker alone on two compared thread counts, not the show.

Two cameras (CAMERAS). `demo` is the demo camera at the processing size, rendered on the capture
thread: a warp of a photograph that costs 5.8 ms of CPU a 1280x720 frame on this project's CPU,
spread over OpenCV's two threads. `mjpeg` is a camera of real parts: the demo's film as an MJPEG clip
that the bundled ffmpeg serves unchanged over HTTP on the loopback, read by the app's own stream
source (installation.testing.mjpeg_camera), so the show pays what it pays for a real IP camera or
an MJPEG webcam: reading and decoding (3.1 ms a 1280x720 frame), not making the picture.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from installation.benchmarks.pipeline import PipelineSpec, measure_pipeline
from installation.dreaming.settings import DreamSettings
from installation.presets.loader import Preset
from installation.testing.mjpeg_camera import MjpegServer, demo_film_clip

DREAM_STAGE = "steps"  # the worker's stage that dreams: the gradient steps or the student's pass
CAMERAS = {"demo": "the demo camera", "mjpeg": "MJPEG over HTTP (the bundled ffmpeg serving the demo's film)"}
SHOW_ROWS = (((320, 180), "demo", ("gradient", "student")), ((640, 360), "demo", ("gradient", "student")),
             ((1280, 720), "demo", ("student", "student bf16", "student compile", "student compile bf16")),
             ((1280, 720), "mjpeg", ("student", "student bf16")))  # fmt: skip
"""(size, camera, dreamers) measured inside the show, the camera at the size; a dreamer this machine lacks (bf16
without native bf16, compile without a C++ compiler) is skipped. The student is measured at 1280x720, its issue's
second target; the gradient is not (about 2 frames/s there: the show's thread tuner would still be trying counts
when the window opens)."""
SHOW_OUTPUT = (1280, 720)
SHOW_PAIRS = 3  # (whole show, worker alone) pairs per row and dreamer
CLIP_S = 10.0  # the MJPEG camera's clip, looped

AloneStage = Callable[[DreamSettings, tuple[int, int], int | None], float | None]
"""The dream stage's median ms per frame in the worker alone, for settings at a size on a torch thread count."""


@dataclass
class ShowRow:
    size: str
    camera: str  # a key of CAMERAS
    dreamer: str
    dream_fps: float  # dreamed frames/s end to end in the show, median of the pairs
    dream_ms_show: float | None  # the dream stage inside the show, median per frame, median of the pairs
    dream_ms_alone: float | None  # the same stage in the worker alone, median of the pairs
    ratio: float | None  # median of the pairs' show / alone
    ratios: list[float]  # each pair's
    threads: list[int | None]  # each pair's torch threads (the show's tuner chose; the worker alone ran on them)


def ready(settings: DreamSettings, size: tuple[int, int]) -> None:
    """Build a compiled student's pass for `size` before it is timed (the show builds it on a thread, in its
    first seconds at a size)."""
    prepare = getattr(settings.student.net, "prepare", None) if settings.student is not None else None
    if prepare is not None:
        prepare((1, 3, size[1], size[0]))


def measure_in_show(preset: Preset, dreamers: dict[str, DreamSettings], window_s: float,
                    alone: AloneStage) -> list[ShowRow]:  # fmt: skip
    """Each dreamer of SHOW_ROWS inside the whole show against its dream stage in the worker alone (`alone`), in
    SHOW_PAIRS pairs measured back to back: the show, then the worker alone on the threads the show chose."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="dreamwall-bench-camera-") as folder:
        for size, camera, names in SHOW_ROWS:
            names = [name for name in names if name in dreamers]
            clip = demo_film_clip(Path(folder) / f"{size[0]}x{size[1]}.avi", size, CLIP_S) if (
                camera == "mjpeg" and names) else None  # fmt: skip
            for name in names:
                rows.append(_pairs(preset, dreamers[name], size, camera, clip, name, window_s, alone))
    return rows


@contextlib.contextmanager
def _camera(clip: Path | None) -> Iterator[str | None]:
    """One show's camera: None (the demo camera), or the URL of an MJPEG server serving `clip`, a server of the
    show's own (it serves one client and ends with it)."""
    if clip is None:
        yield None
        return
    with MjpegServer(clip, copy=True) as server:
        yield server.url


def _pairs(preset: Preset, settings: DreamSettings, size: tuple[int, int], camera: str, clip: Path | None,
           name: str, window_s: float, alone: AloneStage) -> ShowRow:  # fmt: skip
    fps, show, alone_ms, threads = [], [], [], []
    ready(settings, size)
    for _ in range(SHOW_PAIRS):
        with _camera(clip) as url:
            spec = PipelineSpec(size, SHOW_OUTPUT, camera_size=size, camera_url=url, window_s=window_s + 1,
                                warmup_s=2 * window_s, repeats=1, student=settings.student)  # fmt: skip
            figures = measure_pipeline(preset, spec)
        fps.append(figures.dream_fps)
        show.append(figures.stages_ms.get(DREAM_STAGE))
        threads.append(figures.threads)
        alone_ms.append(alone(settings, size, figures.threads))
    ratios = [round(s / a, 2) for s, a in zip(show, alone_ms, strict=True) if s and a]
    return ShowRow(f"{size[0]}x{size[1]}", camera, name, round(statistics.median(fps), 2), _median(show),
                   _median(alone_ms), statistics.median(ratios) if ratios else None, ratios, threads)  # fmt: skip


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 2) if known else None
