"""Who dreams: docs/mask.jpg for the README.

    .venv/bin/python bench/mask_strip.py [--frames 24] [--out docs/mask.jpg]

A still room (scikit-image's coffee photo) and a "visitor" crossing it (a disc cut from the
astronaut photo, moving 8 px a frame) go through the live frame dreamer at 320x180 with the
default preset at twice its lr, 10 frames a second, the same seed for each mode. Panels, left
to right: the camera, the mask the background model made (white = moved), `mask: visitors`,
`mask: room`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.masks import MaskParams
from engine.step import dream_step
from installation.dreaming.dreamer import FrameDreamer, autograd_factory
from installation.dreaming.looks import NetworkCache, Overrides, dream_settings
from installation.outputs.images import write_image
from installation.presets.loader import PresetLibrary
from installation.sources.capture import Frame
from installation.sources.demo import load_photo

SIZE = (320, 180)


def visitor_frames(count: int) -> list[np.ndarray]:
    room = cv2.resize(load_photo("coffee"), SIZE, interpolation=cv2.INTER_AREA)
    face = cv2.resize(load_photo("astronaut")[20:300, 110:390], (90, 90), interpolation=cv2.INTER_AREA)
    disc = np.zeros((90, 90), np.uint8)
    cv2.circle(disc, (45, 45), 44, 255, -1)
    frames = [room.copy() for _ in range(3)]
    for i in range(count):
        frame, x = room.copy(), 40 + 8 * i
        region = frame[50:140, x:x + 90]
        region[disc > 0] = face[disc > 0]
        frames.append(frame)
    return frames


def dream(mode: str, frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(last shown frame, its mask as grey RGB)."""
    preset = PresetLibrary().load("default")
    preset = dataclasses.replace(preset, lr=2 * preset.lr, attract=dataclasses.replace(preset.attract, enabled=False))
    settings = dream_settings(preset, NetworkCache().get(preset.network), Overrides(), SIZE)
    settings = settings.replace(mask=MaskParams(mode, 1.0, settings.mask.feather))
    shown: list[np.ndarray] = []
    clock = iter(range(10_000))
    dreamer = FrameDreamer(autograd_factory, dream_step, None, 0, lambda: next(clock) / 10,
                           lambda image, *_: shown.append(image), None)  # fmt: skip
    for seq, image in enumerate(frames, 1):
        dreamer.camera(Frame(image, seq, seq / 10), settings, 1, None)
    mask = dreamer.mask[0, 0].numpy() if dreamer.mask is not None else np.ones(SIZE[::-1], np.float32)
    grey = (mask * 255).round().astype(np.uint8)
    return shown[-1], np.dstack([grey] * 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--out", type=Path, default=Path("docs/mask.jpg"))
    args = parser.parse_args()
    frames = visitor_frames(args.frames)
    visitors, mask = dream("visitors", frames)
    room, _ = dream("room", frames)
    gap = np.full((SIZE[1], 4, 3), 255, np.uint8)
    write_image(args.out, np.hstack([frames[-1], gap, mask, gap, visitors, gap, room]))
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
