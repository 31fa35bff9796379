"""The same still dreamt in fp32 and in bf16: docs/bf16.jpg for the README.

    .venv/bin/python bench/bf16_side_by_side.py [--size 400x264] [--out docs/bf16.jpg]

scikit-image's chelsea goes through `run.py dream` twice with the same seed, layer and
steps, once with --precision fp32 and once with --precision bf16 (needs a CPU with
native bf16; elsewhere the second run exits 2 and so does this script). Left fp32,
right bf16. The ascent is chaotic, so the detail differs; the character (what appears,
how dense, how large) is what the picture is for.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from installation.outputs.images import read_image, write_image  # noqa: E402
from installation.sources.demo import load_photo  # noqa: E402

DREAM_ARGS = ("--layers", "fire7", "--steps", "10", "--octaves", "3", "--seed", "0")


def dream(source: Path, out: Path, size: str, precision: str) -> np.ndarray:
    command = [sys.executable, str(ROOT / "run.py"), "dream", str(source), "-o", str(out), "--size", size,
               "--precision", precision, *DREAM_ARGS]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = result.stderr.strip().splitlines()[-1:] or [f"exit {result.returncode}"]
        sys.exit(f"{precision}: {last[0]}")
    return read_image(out)


def label(image: np.ndarray, text: str) -> np.ndarray:
    framed = image.copy()
    cv2.putText(framed, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(framed, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return framed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="400x264")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bf16.jpg")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "chelsea.png"
        write_image(source, load_photo("chelsea"))
        halves = [label(dream(source, Path(folder) / f"{p}.png", args.size, p), p) for p in ("fp32", "bf16")]
    gap = np.full((halves[0].shape[0], 6, 3), 255, np.uint8)
    write_image(args.out, np.hstack([halves[0], gap, halves[1]]))
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
