"""Synthetic camera scenes for the mask's tests, benchmark and README picture: a still room, a visitor crossing it."""

from __future__ import annotations

import cv2
import numpy as np


def still_room(size: tuple[int, int], seed: int = 5) -> np.ndarray:
    """A textured still background (width, height): something for the dream to grow on everywhere."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(40, 200, (size[1], size[0], 3)).astype(np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), max(1.0, size[0] / 50))


def disc_scene(count: int, size: tuple[int, int], still: int = 3, seed: int = 5) -> list[np.ndarray]:
    """`still` frames of the empty room, then `count` frames of a bright disc crossing it left to right.

    The disc's centre in frame `still + i` is at x = width / 4 + i * width / 20, y = height / 2; radius height / 5.
    """
    room = still_room(size, seed)
    width, height = size
    frames = [room.copy() for _ in range(still)]
    for i in range(count):
        frame = room.copy()
        cv2.circle(frame, (round(width / 4 + i * width / 20), height // 2), round(height / 5), (240, 200, 90), -1)
        frames.append(frame)
    return frames
