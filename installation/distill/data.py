"""Pictures to distill on, and the crops made of them: shipped photographs, a folder, or a video.

The evaluation pictures are set apart before any crop is made, so the student never trains on
them: for the built-in set, photographs of their own (EVAL_PHOTOS); for a folder, every fifth
file; for a video, its last fifth (later frames of the room than any it trained on).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor

from engine.errors import DreamwallError
from installation.outputs.images import read_image

TRAIN_PHOTOS = ("chelsea", "astronaut", "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
                "camera", "brick", "gravel", "coins", "moon", "colorwheel")  # fmt: skip
EVAL_PHOTOS = ("coffee", "clock")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
VIDEO_FRAMES = 240  # frames sampled evenly from a --video


def rgb_photo(name: str) -> np.ndarray:
    import skimage.data

    image = np.asarray(getattr(skimage.data, name)())
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3].astype(np.uint8))


Pictures = tuple[list[np.ndarray], list[np.ndarray]]
"""(training pictures, evaluation pictures), RGB uint8 HxWx3."""


def builtin_pictures() -> Pictures:
    """scikit-image's bundled photographs (no download), the demo camera's among them."""
    return [rgb_photo(name) for name in TRAIN_PHOTOS], [rgb_photo(name) for name in EVAL_PHOTOS]


def folder_pictures(folder: Path) -> Pictures:
    if not folder.is_dir():
        raise DreamwallError(f"--images {folder}: not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if len(files) < 2:
        raise DreamwallError(f"--images {folder}: found {len(files)} picture(s) ({', '.join(IMAGE_SUFFIXES)}), "
                             "expected at least 2 (one is kept for evaluation)")  # fmt: skip
    pictures = [read_image(p) for p in files]
    evaluation = pictures[4::5] or pictures[-1:]
    train = [p for i, p in enumerate(pictures) if (i % 5 != 4 if len(pictures) > 4 else i != len(pictures) - 1)]
    return train, evaluation


def video_pictures(path: Path, count: int = VIDEO_FRAMES) -> Pictures:
    if not path.is_file():
        raise DreamwallError(f"--video {path}: file not found")
    capture = cv2.VideoCapture(str(path))
    try:
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        frames = []
        wanted = set(np.linspace(0, max(total - 1, 0), num=min(count, max(total, 1))).round().astype(int).tolist())
        index = 0
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            if index in wanted:
                frames.append(np.ascontiguousarray(bgr[..., ::-1]))
            index += 1
    finally:
        capture.release()
    if len(frames) < 5:
        raise DreamwallError(f"--video {path}: read {len(frames)} frame(s), expected a video of at least 5")
    cut = len(frames) - max(1, len(frames) // 5)
    return frames[:cut], frames[cut:]


def crop(picture: np.ndarray, size: int, generator: torch.Generator, jitter: bool = True) -> Tensor:
    """A random square crop (a quarter to all of the shorter side), scaled to `size`; with `jitter`, a random
    horizontal flip and colour jitter (brightness, contrast, saturation). (3, size, size) uint8."""
    height, width = picture.shape[:2]

    def uniform(low: float, high: float) -> float:
        return low + (high - low) * float(torch.rand((), generator=generator))

    side = max(8, round(min(height, width) * uniform(0.25, 1.0)))
    top = int(torch.randint(0, height - side + 1, (), generator=generator))
    left = int(torch.randint(0, width - side + 1, (), generator=generator))
    part = cv2.resize(picture[top:top + side, left:left + side], (size, size), interpolation=cv2.INTER_AREA)
    image = torch.from_numpy(np.ascontiguousarray(part)).permute(2, 0, 1).float() / 255
    if jitter:
        if float(torch.rand((), generator=generator)) < 0.5:
            image = image.flip(-1)
        grey = image.mean(0, keepdim=True)
        image = grey + (image - grey) * uniform(0.7, 1.3)  # saturation
        image = (image - image.mean()) * uniform(0.8, 1.2) + image.mean() + uniform(-0.08, 0.08)
    return (image.clamp(0, 1) * 255).round().to(torch.uint8)


def crops(pictures: list[np.ndarray], count: int, size: int, seed: int, jitter: bool = True) -> Tensor:
    """`count` crops taken round-robin from `pictures`, from (seed) alone: (count, 3, size, size) uint8."""
    generator = torch.Generator().manual_seed(seed)
    return torch.stack([crop(pictures[i % len(pictures)], size, generator, jitter) for i in range(count)])
