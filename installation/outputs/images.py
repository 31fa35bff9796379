"""Reading and writing still images with errors a user can act on, and the sizes a dream accepts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from engine.errors import DreamwallError
from engine.sizes import min_dream_side
from installation.common.atomic import atomic_path, check_output_path
from installation.common.cli import LARGEST, MAX_PIXELS, c_stderr_quiet

WRITABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
LIMIT_TEXT = f"{LARGEST[0]}x{LARGEST[1]} = {MAX_PIXELS / 1e6:.1f} Mpx"


def check_pixels(size: tuple[int, int], what: object) -> None:
    """Refuse pictures above MAX_PIXELS before decoding them: dreaming them runs out of memory.

    Refused, not shrunk: the person chooses how to scale (and the output keeps the input's size).
    """
    width, height = size
    if width * height > MAX_PIXELS:
        raise DreamwallError(f"{what} is {width}x{height} = {width * height / 1e6:.1f} Mpx, more than the "
                             f"limit of {LIMIT_TEXT}; scale it down first")  # fmt: skip


def header_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the file's header alone (Pillow opens lazily); None if Pillow does not know it."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return image.size
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours: no size, but surely too large
        raise DreamwallError(f"image {path} has more than {2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} Mpx, "
                             f"more than the limit of {LIMIT_TEXT}; scale it down first") from None  # fmt: skip
    except (OSError, ValueError):
        return None  # OpenCV decides below (it reads formats Pillow does not) and names the failure


def read_image(path: Path) -> np.ndarray:
    """RGB uint8 HWC from a file; DreamwallError when missing, unreadable, not an image or too large."""
    path = Path(path)
    if not path.exists():
        raise DreamwallError(f"image not found: {path}")
    if not path.is_file():
        raise DreamwallError(f"not a file: {path}")
    size = header_size(path)
    if size is not None:
        check_pixels(size, f"image {path}")
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        raise DreamwallError(f"cannot read image {path}: {error.strerror}") from None
    return decode_image(data, f"image {path}")


def decode_image(data: bytes | np.ndarray, what: str) -> np.ndarray:
    """RGB uint8 HWC from an image file's bytes; DreamwallError naming `what` when they are not one."""
    encoded = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else data
    with c_stderr_quiet():  # libpng reports truncation on fd 2 itself; the error below says it
        image = cv2.imdecode(encoded, cv2.IMREAD_COLOR) if encoded.size else None
    if image is None:
        raise DreamwallError(f"cannot decode {what}: the file is empty, corrupt or not an image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def check_writable_image_path(path: Path, inputs: tuple[Path, ...] = (), overwrite: bool = False) -> Path:
    """Fail before any work if `path` cannot become an image file."""
    return check_output_path(path, WRITABLE_SUFFIXES, "an image", inputs=inputs, overwrite=overwrite)


def write_image(path: Path, rgb: np.ndarray, settings: Mapping[str, Any] | None = None) -> None:
    """Write RGB uint8 atomically; the format comes from the extension; a full disk is a DreamwallError.

    settings: how the picture was dreamt, kept inside a PNG as a text chunk
    (installation.outputs.png_settings); other formats have no place for it.
    """
    path = Path(path)
    if settings is not None and path.suffix.lower() == ".png":
        from installation.outputs.png_settings import encode_png

        data = encode_png(rgb, settings)
    else:
        data = encode_image(rgb, path.suffix)
    write_encoded(path, data)


def encode_image(rgb: np.ndarray, suffix: str = ".png") -> bytes:
    """RGB uint8 pixels as the bytes of an image file of that suffix's format."""
    ok, encoded = cv2.imencode(suffix.lower(), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise DreamwallError(f"cannot encode image as {suffix}")
    return encoded.tobytes()


def write_encoded(path: Path, data: bytes) -> None:
    """An encoded image's bytes to `path` atomically; a full disk is a DreamwallError."""
    try:
        with atomic_path(path) as temp:
            temp.write_bytes(data)
    except OSError as error:  # ENOSPC, EFBIG, EIO: the temp file is gone, the target untouched
        raise DreamwallError(f"cannot write {path}: {error.strerror or error}") from None


def dreamable_size(size: tuple[int, int], network: str) -> tuple[int, int]:
    """The size to dream a picture of `size` at: its own, or scaled up (aspect kept) to the network's minimum.

    Small inputs (an icon, a thumbnail, skimage's 14x25 GIF, `--size 16x16`) are upscaled
    rather than refused: the dream runs where the network and the optical flow work
    (engine.sizes.min_dream_side) and the caller scales the result back to `size`, so the
    output keeps the input's size. Only a picture so thin that scaling it up would pass
    LARGEST is refused.
    """
    width, height = size
    low = min_dream_side(network)
    if min(width, height) >= low:
        return size
    scale = low / min(width, height)
    dream = (max(low, math.ceil(width * scale)), max(low, math.ceil(height * scale)))
    if dream[0] > max(LARGEST) or dream[1] > max(LARGEST) or dream[0] * dream[1] > MAX_PIXELS:
        raise DreamwallError(
            f"a {width}x{height} picture is too thin to dream: {network} needs at least {low} px on each side, "
            f"which makes it {dream[0]}x{dream[1]}, beyond the limit of {LIMIT_TEXT}"
        )
    return dream
