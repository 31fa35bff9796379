"""`dream --panorama`: a 360-degree still dreamt without a seam, as the live show and render do.

A panorama has no left or right edge, so dreaming it rolled by half its width must give the
same dream rolled; a flat dream of the same image does not (its zero padding marks the edges).
"""

from __future__ import annotations

import numpy as np
import pytest

import run
from installation.outputs.images import read_image, write_image
from installation.outputs.png_settings import read_settings

QUICK = ["--octaves", "1", "--steps", "3", "--layers", "fire5", "--seed", "4"]


@pytest.fixture(scope="module")
def panorama(chelsea) -> np.ndarray:
    """A seamless 2:1 stand-in, 192x96: a square of the photo beside its mirror image (the left and right edges
    meet). Half its width is a multiple of the network's stride, the shifts a strided network is equivariant to."""
    square = chelsea[:288, 100:388][::3, ::3]
    return np.ascontiguousarray(np.hstack([square, square[:, ::-1]]))


def dream(source: np.ndarray, folder, name: str, flags: list[str]) -> np.ndarray:
    write_image(folder / f"{name}-in.png", source)
    assert run.main(["dream", str(folder / f"{name}-in.png"), "-o", str(folder / f"{name}.png"), *QUICK, *flags]) == 0
    return read_image(folder / f"{name}.png").astype(np.int16)


def test_a_panorama_dreams_the_same_from_any_longitude_and_says_so_in_the_png(panorama, tmp_path):
    half = panorama.shape[1] // 2
    rolled = np.roll(panorama, half, axis=1)
    seams = {}
    for label, flags in (("flat", []), ("panorama", ["--panorama"])):
        straight, turned = dream(panorama, tmp_path, label, flags), dream(rolled, tmp_path, f"{label}-rolled", flags)
        seams[label] = float(np.abs(np.roll(straight, half, axis=1) - turned).mean())
    assert seams["panorama"] < 0.5 and seams["flat"] > 4 * seams["panorama"], seams  # measured: 0.27 and 2.5 levels
    assert read_settings(tmp_path / "panorama.png")["preset"]["panorama"] is True
    assert read_settings(tmp_path / "flat.png")["preset"]["panorama"] is False
