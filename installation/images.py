"""Reading and writing still images with errors a user can act on."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from engine.errors import DreamwallError
from installation.atomic import atomic_path, check_output_path

WRITABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def read_image(path: Path) -> np.ndarray:
    """RGB uint8 HWC from a file; DreamwallError when missing, unreadable or not an image."""
    path = Path(path)
    if not path.exists():
        raise DreamwallError(f"image not found: {path}")
    if not path.is_file():
        raise DreamwallError(f"not a file: {path}")
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        raise DreamwallError(f"cannot read image {path}: {error.strerror}") from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise DreamwallError(f"cannot decode image {path}: the file is empty, corrupt or not an image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def check_writable_image_path(path: Path) -> Path:
    """Fail before any work if `path` cannot become an image file."""
    return check_output_path(path, WRITABLE_SUFFIXES, "an image")


def write_image(path: Path, rgb: np.ndarray) -> None:
    """Write RGB uint8 atomically; the format comes from the extension."""
    path = Path(path)
    ok, encoded = cv2.imencode(path.suffix.lower(), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise DreamwallError(f"cannot encode image as {path.suffix}")
    with atomic_path(path) as temp:
        temp.write_bytes(encoded.tobytes())
