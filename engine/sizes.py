"""The smallest image the live dream can handle, and why.

Two things bound it from below: the network (its pools and strides must leave at
least one pixel at the logits: squeezenet1_1 needs 17 px, googlenet 15) and the
optical flow (OpenCV 5's DIS estimator raises below 12 px and, worse, crashes the
whole process with a segmentation fault on short, wide images such as 100x16 or
400x24; every shape with both sides of at least 32 px measured safe up to 7680 wide).
"""

from __future__ import annotations

from engine.networks.shapes import min_input_side

MIN_FLOW_SIDE = 32


def min_dream_side(network: str) -> int:
    """Smallest width and height (pixels) to dream `network` at, with optical-flow feedback."""
    return max(min_input_side(network), MIN_FLOW_SIDE)
