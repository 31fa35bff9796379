"""`run.py bench --temporal`: how steadily the dream sticks to moving scenes (warping error).

Each clip is dreamt offline with frame-aligned output through the render path
(installation.commands.render.FrameDreamer) at the live setting: the default preset,
one octave, 2 steps per frame. Variants: per-frame restart (the defaults with feedback
0: the reference, row 0), feedback in place (no flow), feedback along the flow with
the settings before issue 12 ("before"), each idea on its own on top of "before", and
the preset's defaults ("after"). engine.consistency measures them against DIS (medium
preset) flow of the source frames with forward-backward occlusion.

Clips (real motion, made here): pans, a zoom and a rotation of the demo photographs
with a textured disc moving over them, and scikit-image's animated GIF
(no_time_for_that_tiny.gif, 14x25, upscaled 8x). It also judges the feedback's own flow: DIS
fast and medium at full and half size, by E_warp of the source and ms per flow.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from engine.consistency import Consistency, FramePair, consistency, source_pairs, warping_error
from engine.networks import load_network
from engine.temporal import FlowFn, dis_flow, flow_size
from installation.presets.loader import Preset, PresetLibrary
from installation.rendering.frame_dreamer import FrameDreamer, RenderSettings, render_settings
from installation.sources.demo import load_photo

PRESET = "default"
SIZE = (256, 144)
FRAMES = 48
SKIP = 16  # frames before the feedback loop has built up its detail; not measured
STEPS = 2
GIF = "no_time_for_that_tiny.gif"
GIF_SCALE = 8
TARGET_RATIO = 0.3  # flicker per strength with feedback + flow, against per-frame restart's


# ---- clips -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Camera:
    """A virtual camera over a photo: centre (share of width, height), zoom (1 = the photo's height fills it), angle."""

    centre: tuple[float, float]
    zoom: float = 1.0
    angle: float = 0.0


def shot(photo: np.ndarray, camera: Camera, size: tuple[int, int]) -> np.ndarray:
    """What `camera` sees of `photo` at (width, height)."""
    width, height = size
    ph, pw = photo.shape[:2]
    scale = camera.zoom * height / ph
    cx, cy = camera.centre[0] * pw, camera.centre[1] * ph
    matrix = cv2.getRotationMatrix2D((cx, cy), camera.angle, scale)
    matrix[:, 2] += (width / 2 - cx, height / 2 - cy)
    return cv2.warpAffine(photo, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def paste_disc(frame: np.ndarray, texture: np.ndarray, centre: tuple[float, float], radius: float) -> np.ndarray:
    """A textured disc (a visitor walking through) with a soft edge, at `centre` in pixels."""
    height, width = frame.shape[:2]
    patch = cv2.resize(texture, (width, height), interpolation=cv2.INTER_AREA)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    distance = np.hypot(xs - centre[0], ys - centre[1])
    alpha = np.clip(radius - distance, 0.0, 1.0)[..., None]
    shifted = np.roll(patch, (round(centre[1] - height / 2), round(centre[0] - width / 2)), axis=(0, 1))
    return (frame * (1 - alpha) + shifted * alpha).round().astype(np.uint8)


CameraPath = Callable[[float], Camera]


def photo_clip(photo: str, path: CameraPath, texture: str, size: tuple[int, int], frames: int) -> list[np.ndarray]:
    """`frames` shots of `photo` along `path` (t in [0, 1]) with a disc of `texture` crossing left to right."""
    image, disc = load_photo(photo), load_photo(texture)
    width, height = size
    clip = []
    for index in range(frames):
        t = index / max(1, frames - 1)
        centre = (width * (0.15 + 0.7 * t), height * (0.6 - 0.2 * math.sin(math.pi * t)))
        clip.append(paste_disc(shot(image, path(t), size), disc, centre, 0.18 * height))
    return clip


def gif_clip(frames: int) -> list[np.ndarray]:
    """scikit-image's tiny animated GIF, upscaled (its 14x25 is below what the network and DIS can take)."""
    import skimage.data
    from PIL import Image, ImageSequence

    path = Path(skimage.data.__file__).parent / GIF
    with Image.open(path) as gif:
        raw = [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(gif)]
    size = (raw[0].shape[1] * GIF_SCALE, raw[0].shape[0] * GIF_SCALE)
    upscaled = [cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR) for frame in raw]
    return [upscaled[i % len(upscaled)] for i in range(frames)]


def clips(size: tuple[int, int] = SIZE, frames: int = FRAMES) -> dict[str, list[np.ndarray]]:
    """The test clips by name."""
    return {
        "pan chelsea": photo_clip("chelsea", lambda t: Camera((0.35 + 0.3 * t, 0.5), 1.3), "coffee", size, frames),
        "zoom coffee": photo_clip("coffee", lambda t: Camera((0.5, 0.5), 1.0 + 0.6 * t), "astronaut", size, frames),
        "rotate astronaut": photo_clip("astronaut", lambda t: Camera((0.5, 0.45), 1.4, 12.0 * t), "chelsea", size,
                                       frames),
        "tilt rocket": photo_clip("rocket", lambda t: Camera((0.5, 0.35 + 0.3 * t), 1.8), "coffee", size, frames),
        f"gif x{GIF_SCALE}": gif_clip(frames),
    }


# ---- variants ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One way of dreaming the clips: changes to the render settings' step and feedback params."""

    name: str
    step: dict[str, object] = field(default_factory=dict)
    feedback: dict[str, object] = field(default_factory=dict)

    def apply(self, settings: RenderSettings) -> RenderSettings:
        return dataclasses.replace(settings, step=dataclasses.replace(settings.step, **self.step),
                                   feedback=dataclasses.replace(settings.feedback, **self.feedback))  # fmt: skip


TODAY_STEP = {"lr": 0.02, "smooth": 0.5, "jitter_walk": 0}  # default.yaml before issue 12
TODAY_FEEDBACK = {"feedback": 0.85, "flow": True}
VARIANTS = (
    Variant("restart (defaults, fb 0)", feedback={"feedback": 0.0}),  # the reference: row 0
    Variant("restart (before, fb 0)", TODAY_STEP, {"feedback": 0.0}),
    Variant("in place (defaults)", feedback={"flow": False}),
    Variant("flow (before)", TODAY_STEP, TODAY_FEEDBACK),
    Variant("before + jitter walk 64", {**TODAY_STEP, "jitter_walk": 64}, TODAY_FEEDBACK),
    Variant("before + feedback 0.95", TODAY_STEP, {**TODAY_FEEDBACK, "feedback": 0.95}),
    Variant("before + lr .01 smooth 1", {**TODAY_STEP, "lr": 0.01, "smooth": 1.0}, TODAY_FEEDBACK),
    Variant("flow (defaults: after)"),
)
BEFORE, AFTER = VARIANTS[3].name, VARIANTS[-1].name


@dataclass
class Row:
    clip: str
    variant: str
    e_dream: float
    e_source: float
    flicker: float
    strength: float
    flicker_per_strength: float
    seconds: float


def dream_clip(preset: Preset, clip: list[np.ndarray], variant: Variant) -> list[np.ndarray]:
    """The clip's ungraded dreams (RGB uint8 at the clip size), through the render path at the live setting."""
    net = load_network(preset.network)
    objective = preset.objective_on(net)
    size = (clip[0].shape[1], clip[0].shape[0])
    args = argparse.Namespace(octaves=1, steps=STEPS)
    settings = variant.apply(render_settings(preset, args, net, objective, size))
    dreamer = FrameDreamer(net, objective, settings)
    return [dreamer(index, frame)[1] for index, frame in enumerate(clip)]


def as_float(frames: list[np.ndarray]) -> list[np.ndarray]:
    return [frame.astype(np.float32) / 255.0 for frame in frames]


def measure(preset: Preset, made: dict[str, list[np.ndarray]], variants: tuple[Variant, ...] = VARIANTS
            ) -> tuple[list[Row], dict[str, dict[str, list[np.ndarray]]]]:  # fmt: skip
    """A row per (clip, variant), and every dreamt clip by clip and variant (for the strip)."""
    rows, dreams = [], {}
    flow = dis_flow(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    for name, clip in made.items():
        greys = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in clip[SKIP:]]
        pairs = source_pairs(greys, flow)
        sources = as_float(clip[SKIP:])
        dreams[name] = {}
        for variant in variants:
            started = time.monotonic()
            dreamt = dream_clip(preset, clip, variant)
            dreams[name][variant.name] = dreamt
            c = consistency(as_float(dreamt[SKIP:]), sources, pairs)
            rows.append(Row(name, variant.name, c.dream, c.source, c.flicker, c.strength, c.flicker_per_strength,
                            time.monotonic() - started))  # fmt: skip
    return rows, dreams


def summary(rows: list[Row]) -> list[Row]:
    """Each variant's mean over the clips."""
    names = list(dict.fromkeys(row.variant for row in rows))
    means = []
    for name in names:
        mine = [row for row in rows if row.variant == name]
        c = Consistency(*(statistics.fmean(getattr(r, key) for r in mine) for key in ("e_dream", "e_source",
                                                                                      "strength")))  # fmt: skip
        means.append(Row("mean", name, c.dream, c.source, c.flicker, c.strength,
                         statistics.fmean(r.flicker_per_strength for r in mine), sum(r.seconds for r in mine)))
    return means


def verdict(means: list[Row]) -> dict[str, object]:
    """The issue's targets for the preset's defaults against per-frame restart with the same step."""
    by_name = {row.variant: row for row in means}
    restart, after = by_name[VARIANTS[0].name], by_name[AFTER]
    before, restart_before = by_name[BEFORE], by_name[VARIANTS[1].name]
    ratio = after.flicker_per_strength / restart.flicker_per_strength if restart.flicker_per_strength else 0.0
    return {"ratio": ratio, "ratio_target": TARGET_RATIO, "ratio_ok": ratio <= TARGET_RATIO,
            "strength": after.strength, "restart_strength": restart.strength,
            "strength_ok": after.strength >= restart.strength,
            "before_ratio": before.flicker_per_strength / restart_before.flicker_per_strength
            if restart_before.flicker_per_strength else 0.0}  # fmt: skip


# ---- the feedback's own flow --------------------------------------------------------------------


FLOW_CHOICES = (("fast", cv2.DISOPTICAL_FLOW_PRESET_FAST), ("medium", cv2.DISOPTICAL_FLOW_PRESET_MEDIUM))
FLOW_SCALES = (1.0, 0.5)


@dataclass
class FlowChoiceRow:
    """How well a cheaper flow aligns the source (E_warp with it, over the reference's trusted pixels) and its cost."""

    preset: str
    size: str
    e_source: float
    ms: float


def scaled_flow(estimator: FlowFn, new: np.ndarray, prev: np.ndarray, scale: float) -> np.ndarray:
    """Flow estimated on copies scaled by `scale` (never under the DIS floor), in full-size pixels."""
    height, width = new.shape
    small = flow_size((width, height), max_width=round(width * scale))
    if small != (width, height):
        new, prev = (cv2.resize(g, small, interpolation=cv2.INTER_AREA) for g in (new, prev))
    flow = estimator(new, prev)
    if small == (width, height):
        return flow
    return cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR) * np.array(
        (width / small[0], height / small[1]), np.float32)


def measure_flow_choices(made: dict[str, list[np.ndarray]]) -> list[FlowChoiceRow]:
    """DIS presets and sizes for the feedback's flow, judged against DIS medium at full size with its mask."""
    reference = dis_flow(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    per_clip = []
    for clip in made.values():
        greys = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in clip[SKIP:]]
        per_clip.append((greys, as_float(clip[SKIP:]), source_pairs(greys, reference)))
    rows = []
    for name, preset in FLOW_CHOICES:
        estimator = dis_flow(preset)
        for scale in FLOW_SCALES:
            errors, seconds, count = [], 0.0, 0
            for greys, sources, pairs in per_clip:
                mine = []
                for (prev, new), pair in zip(itertools.pairwise(greys), pairs, strict=True):
                    started = time.perf_counter()
                    flow = scaled_flow(estimator, new, prev, scale)
                    seconds += time.perf_counter() - started
                    count += 1
                    mine.append(FramePair(flow, pair.trusted))
                errors.append(warping_error(sources, mine))
            rows.append(FlowChoiceRow(name, f"x{scale:g}", statistics.fmean(errors), 1000 * seconds / count))
    return rows


# ---- strip ---------------------------------------------------------------------------------------


def write_strip(dreams: dict[str, list[np.ndarray]], rows: tuple[str, ...], path: Path, picks: int = 4) -> None:
    """Rows of `picks` evenly spaced frames (after the build-up), one row per variant, labelled."""
    frames = len(next(iter(dreams.values())))
    indices = np.linspace(SKIP, frames - 1, picks).round().astype(int)
    lines = []
    for name in rows:
        tiles = [dreams[name][i] for i in indices]
        line = np.concatenate(tiles, axis=1)
        label = np.full((22, line.shape[1], 3), 20, np.uint8)
        cv2.putText(label, name, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (235, 235, 235), 1, cv2.LINE_AA)
        lines.append(np.concatenate((label, line), axis=0))
    strip = np.concatenate(lines, axis=0)
    cv2.imwrite(str(path), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])


# ---- report --------------------------------------------------------------------------------------


def print_table(rows: list[Row], means: list[Row], verdicts: dict[str, object], flows: list[FlowChoiceRow],
                seconds: float) -> None:  # fmt: skip
    print(f"temporal stability: {PRESET} preset through the render path at the live setting (1 octave, {STEPS} "
          f"steps per frame), {SIZE[0]}x{SIZE[1]} (gif {14 * GIF_SCALE}x{25 * GIF_SCALE}), {FRAMES} frames per "
          f"clip, first {SKIP} not measured; warping error (Lai et al. 2018) against DIS-medium source flow with "
          f"forward-backward occlusion; [0, 1] units; {torch.get_num_threads()} torch threads, "
          f"{os.cpu_count()} CPUs, {seconds:.0f} s")
    header = f"  {'clip':<17} {'variant':<26} {'E_warp dream':>12} {'E_warp src':>10} {'flicker':>8} " \
             f"{'strength':>8} {'flick/str':>9} {'vs restart':>10}"  # fmt: skip
    print(header)
    for group in (*(list(g) for g in _by_clip(rows)), means):
        base = group[0].flicker_per_strength
        for row in group:
            ratio = row.flicker_per_strength / base if base else 0.0
            print(f"  {row.clip:<17} {row.variant:<26} {row.e_dream:12.4f} {row.e_source:10.4f} {row.flicker:8.4f} "
                  f"{row.strength:8.4f} {row.flicker_per_strength:9.3f} {ratio:10.2f}")
    print(f"before: flicker per strength {verdicts['before_ratio']:.2f} of its own restart's")
    print(f"target (defaults vs restart, mean of clips): flicker per strength {verdicts['ratio']:.2f} "
          f"(<= {TARGET_RATIO}: {'ok' if verdicts['ratio_ok'] else 'NOT MET'}), strength "
          f"{verdicts['strength']:.4f} vs {verdicts['restart_strength']:.4f} "
          f"({'ok' if verdicts['strength_ok'] else 'NOT MET'})")
    print("the feedback's flow: E_warp(source) with it over DIS-medium's trusted pixels, mean of clips, and ms per "
          "flow (the render path uses DIS fast at the dream size; live, at most 480 px wide):")
    for flow in flows:
        print(f"  DIS {flow.preset:<6} at {flow.size:<4}  E_warp(source) {flow.e_source:.4f}   {flow.ms:5.2f} ms")


def _by_clip(rows: list[Row]) -> list[list[Row]]:
    names = list(dict.fromkeys(row.clip for row in rows))
    return [[row for row in rows if row.clip == name] for name in names]


def run_temporal_bench(json_output: bool, strip: Path | None = None) -> int:
    torch.set_grad_enabled(True)
    started = time.monotonic()
    preset = PresetLibrary().load(PRESET)
    made = clips()
    rows, dreams = measure(preset, made)
    flows = measure_flow_choices(made)
    means = summary(rows)
    verdicts = verdict(means)
    if strip is not None:
        chosen = (VARIANTS[0].name, BEFORE, AFTER)
        write_strip(dreams["pan chelsea"], chosen, strip)
    seconds = time.monotonic() - started
    if json_output:
        print(json.dumps({"preset": PRESET, "size": list(SIZE), "frames": FRAMES, "skipped": SKIP, "steps": STEPS,
                          "rows": [asdict(r) for r in rows], "means": [asdict(r) for r in means],
                          "targets": verdicts, "flow_choices": [asdict(f) for f in flows],
                          "seconds": seconds}, indent=2))  # fmt: skip
        return 0
    print_table(rows, means, verdicts, flows, seconds)
    return 0
