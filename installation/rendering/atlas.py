"""The channel atlas: every channel of a layer (and any class) grown from noise, cached per tile.

Choosing `fire7:42` was guesswork; the atlas shows what each channel grows
(engine.featurevis), labelled with the preset syntax to copy. Tiles are kept in the
cache folder under a key of network, objective, size and settings, so a later run (or
the web panel) shows them without dreaming again; only the missing ones are dreamt.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from engine.errors import DreamwallError
from engine.export.store import BlobStore
from engine.featurevis import ProgressFn, VisParams, octave_sides, start_noise, visualise
from engine.imageops import to_uint8
from engine.networks import DreamNet
from engine.objectives import Objective, parse_objective

CACHE_FORMAT = 1  # bump when the pictures change for the same settings
BATCH = 8  # pictures per forward/backward pass


@dataclass(frozen=True)
class Tile:
    label: str  # preset syntax: "fire7:42", "class:tabby"
    objective: Objective


def parse_channels(text: str, layer: str, channels: int) -> list[int]:
    """'0-63', '5', '0,7,12-15' -> channel numbers, each checked against the layer's 0-(channels-1)."""
    chosen: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        low_text, dash, high_text = part.partition("-")
        try:
            low = int(low_text)
            high = int(high_text) if dash else low
        except ValueError:
            raise DreamwallError(f"channels must look like 0-63 or 0,5,9-12, got '{text}'") from None
        for channel in (low, high):
            if not 0 <= channel < channels:
                raise DreamwallError(f"channel {channel} out of range for {layer}: it has channels 0-{channels - 1}")
        if high < low:
            raise DreamwallError(f"channel range {part} runs backwards; write {high}-{low}")
        chosen.extend(c for c in range(low, high + 1) if c not in chosen)
    return chosen


def atlas_tiles(net: DreamNet, layer: str | None, channels: str | None, classes: Sequence[str]) -> list[Tile]:
    """A layer's channels (default: its first 64; none when only classes are asked), then classes."""
    tiles: list[Tile] = []
    if layer is not None or channels is not None or not classes:
        info = net.check_layer(layer or net.default_layer)
        numbers = parse_channels(channels or f"0-{min(64, info.channels) - 1}", info.name, info.channels)
        tiles += [Tile(f"{info.name}:{c}", parse_objective(f"{info.name}:{c}", net)) for c in numbers]
    for name in classes:
        objective = parse_objective(f"class:{name.strip()}", net)
        tiles.append(Tile(f"class:{name.strip()}", objective))
    return tiles


def tile_key(network: str, label: str, params: VisParams, seed: int) -> str:
    """Cache key of one tile: what it shows and every setting that changes its pixels."""
    settings = json.dumps({"format": CACHE_FORMAT, "seed": seed, **asdict(params)}, sort_keys=True)
    digest = hashlib.sha256(settings.encode()).hexdigest()[:12]
    return f"atlas/{network}-{label}-{params.size}px-{digest}.png"


def _tile_seed(seed: int, label: str) -> int:
    """Each tile starts from its own noise, whatever else is dreamt with it."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{label}".encode()).digest()[:4], "little")


def _encode(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _decode(data: bytes) -> np.ndarray | None:
    """A cached tile; None for a damaged file (it is dreamt again)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError):
        return None


def dream_tiles(net: DreamNet, tiles: Sequence[Tile], params: VisParams, seed: int, store: BlobStore | None,
                progress: ProgressFn | None = None) -> list[np.ndarray]:  # fmt: skip
    """RGB pictures of `tiles`, from the cache where present; the missing ones dreamt BATCH at a time."""
    pictures: dict[int, np.ndarray] = {}
    for index, tile in enumerate(tiles):
        data = store.get(tile_key(net.name, tile.label, params, seed)) if store is not None else None
        picture = _decode(data) if data is not None else None
        if picture is not None and picture.shape[:2] == (params.size, params.size):
            pictures[index] = picture
    missing = [i for i in range(len(tiles)) if i not in pictures]
    per_batch = len(octave_sides(params, net.name)) * params.steps
    total = len(missing) * per_batch
    side = octave_sides(params, net.name)[0]
    for first in range(0, len(missing), BATCH):
        batch = missing[first : first + BATCH]
        start = torch.cat([start_noise(side, torch.Generator().manual_seed(_tile_seed(seed, tiles[i].label)))
                           for i in batch])  # fmt: skip

        def step_done(done: int, _total: int, before: int = first * per_batch, count: int = len(batch)) -> None:
            if progress is not None:
                progress(before + done * count, total)

        generator = torch.Generator().manual_seed(seed)
        images = visualise(net, [tiles[i].objective for i in batch], params, generator, step_done, start)
        for row, index in enumerate(batch):
            pictures[index] = to_uint8(images[row : row + 1])
            if store is not None:
                store.put(tile_key(net.name, tiles[index].label, params, seed), _encode(pictures[index]))
    return [pictures[i] for i in range(len(tiles))]
