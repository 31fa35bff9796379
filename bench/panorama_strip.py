"""A dreamt 360-degree panorama with its seam in the middle: docs/panorama.jpg for the README.

    .venv/bin/python bench/panorama_strip.py [--out docs/panorama.jpg]

The project ships no equirectangular photo, so a seamless 2:1 stand-in is made from
scikit-image's chelsea: a square crop next to its mirror image (left and right edges meet).
It is dreamt with the default preset's network, objective and render quality, once flat and
once with `panorama: true`, the same seed; each is rolled by half its width so the 0/360
degree seam runs down the middle. Top: flat; bottom: panorama.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.imageops import to_tensor, to_uint8
from engine.networks import load_network
from engine.panorama import panorama_pad
from engine.step import dream_octaves
from installation.outputs.images import write_image
from installation.presets.loader import PresetLibrary
from installation.sources.demo import load_photo

SIDE = 256


def stand_in() -> np.ndarray:
    photo = load_photo("chelsea")
    side = min(photo.shape[:2])
    square = cv2.resize(photo[:side, :side], (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(np.hstack([square, square[:, ::-1]]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/panorama.jpg"))
    args = parser.parse_args()
    preset = PresetLibrary().load("default")
    net = load_network(preset.network)
    objective = preset.build_objective(net)
    image = to_tensor(stand_in())
    rows = []
    for pad in (0, panorama_pad(net, objective.layers)):
        step = dataclasses.replace(preset.step_params(), panorama_pad=pad)
        dreamt = dream_octaves(net, image, objective, step, preset.octave_params(), torch.Generator().manual_seed(0))
        rows.append(np.roll(to_uint8(dreamt), SIDE, axis=1))
    gap = np.full((6, 2 * SIDE, 3), 255, np.uint8)
    write_image(args.out, np.vstack([rows[0], gap, rows[1]]))
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
