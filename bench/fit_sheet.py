"""How a 4:3 and a 21:9 camera meet a 16:9 and a portrait screen: docs/fit.jpg for the README.

    .venv/bin/python bench/fit_sheet.py [--frames 6] [--out docs/fit.jpg]

Each camera (scikit-image's astronaut, cropped to 4:3 and to 21:9, with a white ring drawn
on it so a squashed circle shows) goes through the real pieces: the capture thread -> the
dream worker with the default preset (its processing size the CPU's pixel budget at the
camera's aspect) -> the renderer under SDL's dummy driver, on a 16:9 and on a 9:16 window,
with `fit: stretch` (the old way), `fill` and `fit`. One row per camera.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from installation.controls.actions import Dispatcher
from installation.display.renderer import Renderer
from installation.dreaming.looks import NetworkCache, Overrides, dream_settings
from installation.dreaming.worker import DreamWorker
from installation.outputs.images import write_image
from installation.presets.loader import PresetLibrary
from installation.sources.capture import Capture
from installation.sources.demo import load_photo

CAMERAS = {"4:3": (640, 480), "21:9": (840, 360)}
SCREENS = [("16:9", (320, 180), "stretch"), ("16:9", (320, 180), "fill"), ("16:9", (320, 180), "fit"),
           ("9:16", (180, 320), "fill"), ("9:16", (180, 320), "fit")]  # fmt: skip
GAP = 8


class StillCamera:
    """The astronaut at the camera's aspect (a centre crop), with a white ring around her face."""

    description = "still camera"

    def __init__(self, size: tuple[int, int]) -> None:
        photo = load_photo("astronaut")  # 512x512
        width, height = size
        crop_h = round(512 * height / width)
        top = max(0, min(512 - crop_h, 40))
        image = cv2.resize(photo[top : top + crop_h], size, interpolation=cv2.INTER_AREA)
        cv2.circle(image, (round(width * 0.45), round(height * 0.45)), round(height * 0.3), (255, 255, 255),
                   max(2, height // 60), cv2.LINE_AA)  # fmt: skip
        self.image = image

    def open(self) -> None:
        pass

    def read(self) -> np.ndarray:
        time.sleep(1 / 30)
        return self.image.copy()

    def close(self) -> None:
        pass


def shown(camera: tuple[int, int], screen: tuple[int, int], fit: str, frames: int) -> np.ndarray:
    """The screen after `frames` dreams of the camera, as the audience sees it."""
    preset = PresetLibrary().load("default")
    preset = dataclasses.replace(preset, fit=fit, attract=dataclasses.replace(preset.attract, enabled=False))
    settings = dream_settings(preset, NetworkCache().get(preset.network), Overrides())
    capture = Capture(StillCamera(camera))
    with capture, DreamWorker(capture, settings, seed=0) as worker:
        worker.set_output_size(screen)
        while worker.health().frames < frames:
            time.sleep(0.05)
        dream = worker.latest()
        print(f"{camera[0]}x{camera[1]} on {screen[0]}x{screen[1]} {fit}: dreamt at "
              f"{worker.health().process_size}, composed {dream.image.shape[1]}x{dream.image.shape[0]}")  # fmt: skip
    renderer = Renderer(lambda: (dream.seq, dream.image), Dispatcher(), size=screen, windowed=True, fps=0, fit=fit)
    try:
        renderer.tick()
        return renderer.grab()()
    finally:
        renderer.close()


def label(image: np.ndarray, text: str) -> np.ndarray:
    band = np.full((22, image.shape[1], 3), 255, np.uint8)
    cv2.putText(band, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([band, image])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path("docs/fit.jpg"))
    args = parser.parse_args()
    height = 22 + max(size[1] for _, size, _ in SCREENS)
    rows = []
    for name, camera in CAMERAS.items():
        source = cv2.resize(StillCamera(camera).image, (round(180 * camera[0] / camera[1]), 180))
        panels = [label(source, f"{name} camera")]
        for screen_name, screen, fit in SCREENS:
            panels.append(label(shown(camera, screen, fit, args.frames), f"{screen_name} {fit}"))
        padded = [np.vstack([p, np.full((height - p.shape[0], p.shape[1], 3), 255, np.uint8)]) for p in panels]
        gap = np.full((height, GAP, 3), 255, np.uint8)
        rows.append(np.hstack([x for panel in padded for x in (panel, gap)][:-1]))
    width = max(row.shape[1] for row in rows)
    rows = [np.hstack([row, np.full((row.shape[0], width - row.shape[1], 3), 255, np.uint8)]) for row in rows]
    write_image(args.out, np.vstack([rows[0], np.full((GAP, width, 3), 255, np.uint8), rows[1]]))
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
