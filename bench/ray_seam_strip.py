"""A seam of a split render, frame by frame: docs/ray_seam.jpg for the README.

    .venv/bin/python bench/ray_seam_strip.py [--out docs/ray_seam.jpg]

The bench's pan across the chelsea photo (140 frames at 256x144, the default preset at 2
octaves x 4 steps, feedback 0.7) rendered by one process and by `render --ray` in two chunks
of 70 frames on a local Ray. Columns: frames across the seam (the crossfade is frames 62-69,
chunk 2 owns 70 on). Rows: one process, the split render, and their difference (x4).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from argparse import Namespace
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.networks import load_network
from installation.benchmarks.temporal import clips
from installation.outputs.images import read_image, write_image
from installation.outputs.video_io import open_source
from installation.presets.loader import PresetLibrary, environment_presets_dir
from installation.rendering.frame_dreamer import FrameDreamer, render_settings
from installation.rendering.offline import render
from installation.rendering.split.cluster import connect
from installation.rendering.split.driver import farm_render
from installation.rendering.split.plan import ChunkPlan, warmup_frames
from installation.rendering.split.task import ChunkJob
from installation.rendering.work_folder import WorkFolder

SIZE, FRAMES, CHUNK, FPS = (256, 144), 140, 70, 25.0
PICKS = (58, 62, 65, 68, 70, 74)


def label(text: str, width: int) -> np.ndarray:
    band = np.full((20, width, 3), 20, np.uint8)
    cv2.putText(band, text, (6, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (235, 235, 235), 1, cv2.LINE_AA)
    return band


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/ray_seam.jpg"))
    args = parser.parse_args()
    torch.set_num_threads(1)  # as a Ray task: the same arithmetic
    preset = PresetLibrary(environment_presets_dir()).load("default")
    net = load_network(preset.network)
    settings = render_settings(preset, Namespace(octaves=2, steps=4, feedback=0.7), net, preset.objective_on(net), SIZE)
    plan = ChunkPlan(FRAMES, CHUNK, warmup_frames(settings.feedback))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "clip"
        folder.mkdir()
        for index, rgb in enumerate(clips(SIZE, FRAMES)["pan chelsea"]):
            write_image(folder / f"{index:06d}.png", rgb)
        one = Path(scratch) / "one.mp4"
        render(open_source(folder, folder_fps=FPS), one, FrameDreamer(net, preset.objective_on(net), settings),
               keep_frames=True)  # fmt: skip
        split = Path(scratch) / "split.mp4"
        cluster = connect(None, cpus=2)
        try:
            job = ChunkJob(folder, FPS, preset, None, settings, FPS, "cpu", "float32")
            farm_render(open_source(folder, folder_fps=FPS), split, job, plan, cluster, keep_frames=True)
        finally:
            cluster.close()
        rows = [[read_image(WorkFolder(output).frame_path(index)) for index in PICKS] for output in (one, split)]
    difference = [np.clip(np.abs(a.astype(int) - b.astype(int)) * 4, 0, 255).astype(np.uint8)
                  for a, b in zip(*rows, strict=True)]  # fmt: skip
    width = SIZE[0] * len(PICKS)
    titles = ", ".join(f"{index}{'*' if plan.blend(index) else ''}" for index in PICKS)
    lines = [label(f"frames {titles}   (* crossfade; chunk 2 from 70)", width)]
    for name, tiles in (("one process", rows[0]), ("--ray, 2 chunks", rows[1]), ("difference x4", difference)):
        lines += [label(name, width), np.concatenate(tiles, axis=1)]
    strip = np.concatenate(lines, axis=0)
    cv2.imwrite(str(args.out), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
