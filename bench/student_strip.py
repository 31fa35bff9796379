"""What a student dreams: docs/student.jpg for the guides.

    .venv/bin/python bench/student_strip.py [--looks default,melt,creatures] [--out docs/student.jpg]

For each shipped student and each picture the students never trained on (installation.distill.data
EVAL_PHOTOS: scikit-image's coffee and clock), at 640x360 (cropped to fill): the camera frame, the
teacher (the look's gradient still dream, as `run.py distill` made its targets) and the student's one
pass at strength 1. A label names the look, the dreamer and its time on this machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.framing import frame_into
from engine.imageops import to_tensor, to_uint8
from engine.networks import load_network
from installation.distill.data import EVAL_PHOTOS, rgb_photo
from installation.distill.student_file import load_student, look_hash, look_settings, student_path
from installation.distill.train import Teacher
from installation.outputs.images import write_image
from installation.presets.loader import PresetLibrary

SIZE = (640, 360)


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.rectangle(out, (0, 0), (len(text) * 9 + 12, 24), (0, 0, 0), -1)
    cv2.putText(out, text, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def row(name: str, photo: str) -> np.ndarray:
    preset = PresetLibrary().load(name)
    found = load_student(student_path(name), expect_look=look_hash(look_settings(preset)))
    net = load_network(preset.network).eval()
    teacher = Teacher(net, preset.build_objective(net), dataclasses.replace(preset.step_params(), jitter_walk=0),
                      preset.octave_params())  # fmt: skip
    camera = frame_into(rgb_photo(photo), SIZE, "fill")
    frame = to_tensor(camera)
    began = time.perf_counter()
    dreamt = teacher.dream(frame, 0, 0)
    teacher_s = time.perf_counter() - began
    with torch.no_grad():
        found.net(frame)  # warm
        began = time.perf_counter()
        student = found.net.dream(frame)
        student_ms = (time.perf_counter() - began) * 1000
    return np.hstack([_label(camera, f"camera ({photo}, held out)"),
                      _label(to_uint8(dreamt), f"{name}: teacher, gradient {teacher_s:.0f} s"),
                      _label(to_uint8(student), f"{name}: student, one pass {student_ms:.0f} ms")])  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--looks", default="default,melt,creatures", help="comma-separated presets with students")
    parser.add_argument("--out", type=Path, default=Path("docs/student.jpg"))
    args = parser.parse_args()
    rows = [row(name, photo) for name in args.looks.split(",") for photo in EVAL_PHOTOS]
    write_image(args.out, np.vstack(rows))
    print(f"wrote {args.out} ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
