"""Contact sheet of every preset dreaming on the demo camera: docs/presets.jpg for the README.

    .venv/bin/python bench/contact_sheet.py [--frames 60] [--out docs/presets.jpg]

Each preset runs headless through the real live pipeline (capture, feedback, post)
for --frames dreamed frames; the last dream is tiled with the preset's name.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from installation.app.app import App
from installation.app.config import LiveConfig
from installation.controls.inputs import ControlsConfig
from installation.outputs.images import write_image
from installation.presets.loader import PresetLibrary

TILE = (320, 180)


def dream_of(preset: str, frames: int, folder: Path) -> np.ndarray:
    config = LiveConfig(source="demo", preset=preset, headless=True, frames=frames, out=folder / f"{preset}.mp4",
                        process_size=TILE, controls=ControlsConfig(midi=False))
    app = App(config)
    with contextlib.redirect_stdout(io.StringIO()):
        app.run()
    dream = app.worker.latest()
    if dream is None:
        raise SystemExit(f"{preset}: no dream")
    return cv2.resize(dream.image, TILE, interpolation=cv2.INTER_AREA)


def label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.rectangle(out, (0, 0), (8 + 11 * len(text), 24), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--columns", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("docs/presets.jpg"))
    args = parser.parse_args()
    names = PresetLibrary().names()
    tiles = []
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            print(f"dreaming {name} ...", file=sys.stderr)
            tiles.append(label(dream_of(name, args.frames, Path(folder)), name))
    while len(tiles) % args.columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i:i + args.columns]) for i in range(0, len(tiles), args.columns)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_image(args.out, np.vstack(rows))
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
