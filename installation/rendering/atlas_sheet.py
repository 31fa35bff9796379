"""Lay atlas tiles out as one labelled sheet: the label under each tile is what a preset says."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

BACKGROUND = 18
LABEL_HEIGHT = 18
GAP = 4


def label_strip(text: str, width: int) -> np.ndarray:
    """A dark strip with `text` in light grey, shortened with '..' when it does not fit."""
    strip = np.full((LABEL_HEIGHT, width, 3), BACKGROUND, np.uint8)
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.4
    while len(text) > 3 and cv2.getTextSize(text, font, scale, 1)[0][0] > width - 4:
        text = text[:-3] + ".."
    cv2.putText(strip, text, (3, LABEL_HEIGHT - 5), font, scale, (225, 225, 225), 1, cv2.LINE_AA)
    return strip


def atlas_sheet(pictures: Sequence[np.ndarray], labels: Sequence[str], columns: int = 8) -> np.ndarray:
    """RGB sheet: tiles in rows of `columns`, each with its label underneath, small gaps between."""
    if not pictures:
        raise ValueError("an atlas needs at least one tile")
    side = pictures[0].shape[0]
    columns = max(1, min(columns, len(pictures)))
    rows = math.ceil(len(pictures) / columns)
    cell_w, cell_h = side + GAP, side + LABEL_HEIGHT + GAP
    sheet = np.full((rows * cell_h + GAP, columns * cell_w + GAP, 3), BACKGROUND, np.uint8)
    for index, (picture, label) in enumerate(zip(pictures, labels, strict=True)):
        row, column = divmod(index, columns)
        y, x = GAP + row * cell_h, GAP + column * cell_w
        sheet[y : y + side, x : x + side] = picture
        sheet[y + side : y + side + LABEL_HEIGHT, x : x + side] = label_strip(label, side)
    return sheet
