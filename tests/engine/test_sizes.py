"""The smallest dreamable size is a real boundary: it works there and fails one pixel below."""

import cv2
import numpy as np
import pytest
import torch

from engine.networks import EMBEDDED, load_network
from engine.networks.shapes import architecture, min_input_side
from engine.sizes import MIN_FLOW_SIDE, min_dream_side
from engine.step import StepParams, dream_step


@pytest.mark.parametrize("name", ["squeezenet1_1", "googlenet"])
def test_min_input_side_is_the_boundary_of_the_real_forward(name: str) -> None:
    side = min_input_side(name)
    net = architecture(name)
    net.forward_to(torch.empty(1, 3, side, side, device="meta"), ["logits"])
    with pytest.raises(RuntimeError, match="too small"):
        net.forward_to(torch.empty(1, 3, side - 1, side - 1, device="meta"), ["logits"])


def test_squeezenet_cannot_dream_16_pixels_but_can_at_its_minimum() -> None:
    net = load_network("squeezenet1_1")
    objective_layers = ["logits"]
    side = min_input_side("squeezenet1_1")
    assert side == 17  # conv1 stride 2 and three ceil-mode 3/2 pools leave one pixel at 17
    net.forward_to(torch.rand(1, 3, side, side), objective_layers)
    with pytest.raises(RuntimeError):
        net.forward_to(torch.rand(1, 3, 16, 16), objective_layers)


@pytest.mark.parametrize("name", EMBEDDED)
def test_a_step_runs_at_the_min_dream_side(name: str) -> None:
    from engine.objectives import parse_objective

    net = load_network(name)
    side = min_dream_side(name)
    assert side >= MIN_FLOW_SIDE
    objective = parse_objective(net.default_layer, net)
    image = torch.rand(1, 3, side, side)
    out = dream_step(net, image, objective, StepParams(lr=0.02, jitter=8, smooth=0.5), torch.Generator())
    assert out.shape == image.shape and torch.isfinite(out).all()


def test_flow_is_safe_at_the_min_flow_side_for_wide_images() -> None:
    # 100x16 crashes DIS with a segmentation fault; at 32 px short side every shape measured safe
    estimator = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    for width in (MIN_FLOW_SIDE, 100, 400, 2000):
        grey = np.zeros((MIN_FLOW_SIDE, width), np.uint8)
        assert estimator.calc(grey, grey, None).shape == (MIN_FLOW_SIDE, width, 2)
