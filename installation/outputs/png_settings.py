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
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import DreamwallError, excerpt
from installation.common.userfile import display_path, read_user_file
from installation.common.yamlfile import MAX_DEPTH

SETTINGS_KEY = "dreamwall"
MAX_PICTURE_BYTES = 320 * 1024 * 1024
"""An 8K picture (the largest a dream takes) as an uncompressed 16-bit RGBA PNG is 265 MB; no picture is more."""
MAX_SETTINGS_CHARS = 64 * 1024
"""A record holds one preset: about 1.5 KB. Pillow allows 1 MB per chunk and 64 MB in all."""
MAX_JSON_DEPTH = MAX_DEPTH
"""The record is written back as YAML, which refuses the same depth."""


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
    """The chunk of a PNG file; a one-line DreamwallError naming what is wrong when there is none.

    The file is someone's picture, maybe crafted: read through the safe reader (no FIFO,
    no device, at most MAX_PICTURE_BYTES), its header's size checked before any pixel is
    decoded (Pillow decodes them to reach text chunks after the image data), the chunk
    at most MAX_SETTINGS_CHARS and its JSON at most MAX_JSON_DEPTH deep.
    """
    from PIL import Image, UnidentifiedImageError

    from installation.outputs.images import check_pixels

    path = Path(path)
    shown = display_path(path)
    data = read_user_file(path, "picture", MAX_PICTURE_BYTES)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # check_pixels below decides
            with Image.open(io.BytesIO(data)) as image:
                if image.format != "PNG":
                    raise DreamwallError(
                        f"{shown} is a {image.format} file; only PNG pictures carry Dreamwall settings"
                    )
                check_pixels(image.size, f"picture {shown}")
                text = image.text.get(SETTINGS_KEY)  # type: ignore[attr-defined]
    except Image.DecompressionBombError as error:  # a header beyond Pillow's own limit (far above ours)
        raise DreamwallError(f"picture {shown} is too large to read: {error}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as error:
        # ValueError: Pillow's refusal of text chunks that decompress beyond its limits
        raise DreamwallError(f"cannot read {shown} as a picture: {excerpt(str(error), 200)}") from None
    if text is None:
        raise DreamwallError(f"{shown} has no Dreamwall settings (no '{SETTINGS_KEY}' PNG text chunk)")
    if len(text) > MAX_SETTINGS_CHARS:
        raise DreamwallError(
            f"{shown}: the Dreamwall settings are {len(text)} characters, at most {MAX_SETTINGS_CHARS} expected"
        )
    try:
        record = json.loads(text)
        too_deep = json_depth(record) > MAX_JSON_DEPTH
    except json.JSONDecodeError as error:
        raise DreamwallError(f"{shown}: the Dreamwall settings are not valid JSON ({error.msg})") from None
    except RecursionError:  # nested past Python's own stack
        too_deep = True
    if too_deep:
        raise DreamwallError(f"{shown}: the Dreamwall settings nest more than {MAX_JSON_DEPTH} deep")
    if not isinstance(record, dict):
        raise DreamwallError(f"{shown}: the Dreamwall settings are not a JSON object")
    return record


def json_depth(value: object) -> int:
    """Nesting depth of parsed JSON, without recursion (a deep record must not overflow the stack here)."""
    deepest = 0
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        if isinstance(item, dict):
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
    return deepest
