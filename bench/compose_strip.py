"""The shown frame, upscaled against composed: docs/compose.jpg for the README.

    .venv/bin/python bench/compose_strip.py [--frames 30] [--out docs/compose.jpg]

The same camera frames (scikit-image's chelsea at 1280x720, panning slowly) go through
the real dream worker at 320x180 with the default preset, once with `compose: upscale`
and once with `compose: detail`, the same seed for both; a 480x270 crop of each final
frame at output resolution is shown side by side (left upscale, right detail).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from installation.dreaming.looks import NetworkCache, Overrides, dream_settings
from installation.dreaming.worker import DreamWorker
from installation.outputs.images import write_image
from installation.presets.loader import PresetLibrary
from installation.sources.demo import load_photo
from installation.testing.feeds import ListFeed

OUTPUT = (1280, 720)
PROCESS = (320, 180)
CROP = (40, 400, 480, 270)  # x, y, width, height: whiskers and fur


def panning_frames(count: int) -> list[np.ndarray]:
    photo = cv2.resize(load_photo("chelsea"), (OUTPUT[0] + 2 * count, OUTPUT[1]), interpolation=cv2.INTER_CUBIC)
    return [np.ascontiguousarray(photo[:, 2 * i:2 * i + OUTPUT[0]]) for i in range(count)]


def final_frame(mode: str, count: int) -> np.ndarray:
    preset = PresetLibrary().load("default")
    preset = dataclasses.replace(preset, compose=mode, attract=dataclasses.replace(preset.attract, enabled=False))
    settings = dream_settings(preset, NetworkCache().get(preset.network), Overrides(), PROCESS)
    worker = DreamWorker(ListFeed(panning_frames(count)), settings, seed=0)
    worker.set_output_size(OUTPUT)
    with worker:
        while worker.health().frames < count:
            time.sleep(0.05)
    dream = worker.latest()
    assert dream is not None
    return dream.image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("docs/compose.jpg"))
    args = parser.parse_args()
    x, y, w, h = CROP
    panels = [final_frame(mode, args.frames)[y:y + h, x:x + w] for mode in ("upscale", "detail")]
    gap = np.full((h, 6, 3), 255, np.uint8)
    write_image(args.out, np.hstack([panels[0], gap, panels[1]]))
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
