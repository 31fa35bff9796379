"""Settings inside every picture: a PNG text chunk that says how the picture was dreamt.

A screenshot from the show or a still from `run.py dream` carries one JSON chunk under
SETTINGS_KEY: the preset name, every value after live overrides, the network, the seed
and the Dreamwall version. `run.py presets --from-image` reads it back into a preset file,
so a look found on a gallery night can be dreamt again the next morning. What goes into
the chunk is installation.presets.snapshot; this module only writes and reads it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import DreamwallError

SETTINGS_KEY = "dreamwall"


def encode_png(rgb: np.ndarray, settings: Mapping[str, Any] | None) -> bytes:
    """PNG bytes of RGB uint8 pixels with the settings as one iTXt chunk (pixels lossless, as OpenCV's)."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    if settings is not None:
        info.add_itxt(SETTINGS_KEY, json.dumps(settings, sort_keys=True))
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb), "RGB").save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def read_settings(path: Path) -> dict[str, Any]:
    """The chunk of a PNG file; a DreamwallError naming what is wrong when there is none."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as image:
            if image.format != "PNG":
                raise DreamwallError(f"{path} is a {image.format} file; only PNG pictures carry Dreamwall settings")
            text = image.text.get(SETTINGS_KEY)  # type: ignore[attr-defined]
    except FileNotFoundError:
        raise DreamwallError(f"image not found: {path}") from None
    except (UnidentifiedImageError, OSError) as error:
        raise DreamwallError(f"cannot read {path} as a picture: {error}") from None
    if text is None:
        raise DreamwallError(f"{path} has no Dreamwall settings (no '{SETTINGS_KEY}' PNG text chunk)")
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise DreamwallError(f"{path}: the Dreamwall settings are not valid JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise DreamwallError(f"{path}: the Dreamwall settings are not a JSON object")
    return record
