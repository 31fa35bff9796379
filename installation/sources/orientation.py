"""Mirror and rotation of the frames a source delivers, applied once, where capture publishes them.

Visitors expect to see themselves as in a mirror, and galleries hang portrait screens and
mount cameras sideways. The capture turns every frame before anyone sees it, so the
dream, the masks, the optical flow, the processing size (which follows the turned
frame's aspect), recordings and screenshots all work on the same upright picture.

Rotation is clockwise, in quarter turns; the mirror flips left and right of the turned
frame (what the screen shows), so `--rotate 90 --mirror` mirrors the upright picture.
A camera is mirrored by default, files and streams are not (installation.sources.openers
.is_camera_spec tells them apart).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.errors import DreamwallError
from installation.sources.openers import is_camera_spec

ROTATIONS = (0, 90, 180, 270)
_TURNS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def check_rotation(degrees: int) -> int:
    """`degrees` if it is a quarter turn, else the one-line error naming the allowed ones."""
    if isinstance(degrees, bool) or degrees not in ROTATIONS:
        raise DreamwallError(f"rotate must be one of {', '.join(map(str, ROTATIONS))} (degrees clockwise), "
                             f"got {degrees}")  # fmt: skip
    return degrees


@dataclass(frozen=True)
class Orientation:
    """How to turn a source's frames: `rotate` degrees clockwise, then `mirror` left-right."""

    mirror: bool = False
    rotate: int = 0

    def __post_init__(self) -> None:
        check_rotation(self.rotate)

    @property
    def identity(self) -> bool:
        return not self.mirror and self.rotate == 0

    def size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) of a `width` x `height` frame once turned."""
        return (height, width) if self.rotate in (90, 270) else (width, height)

    def apply(self, image: np.ndarray) -> np.ndarray:
        """HWC `image` turned (a new array; the source's own buffer is never written)."""
        if self.rotate:
            image = cv2.rotate(image, _TURNS[self.rotate])
        if self.mirror:
            image = cv2.flip(image, 1)
        return image

    def describe(self) -> str:
        parts = ([f"rotated {self.rotate}°"] if self.rotate else []) + (["mirrored"] if self.mirror else [])
        return ", ".join(parts) or "as delivered"


AS_DELIVERED = Orientation()
"""No turn: what a Capture does unless told."""


def orientation_for(spec: str, mirror: bool | None, rotate: int = 0) -> Orientation:
    """The orientation for `--source spec`: `mirror` as asked, or by default for cameras only."""
    return Orientation(mirror=is_camera_spec(spec) if mirror is None else mirror, rotate=check_rotation(rotate))
