"""Activity maximisation from noise (engine.featurevis): it grows the asked channel, per picture."""

from __future__ import annotations

import pytest
import torch

from engine.errors import DreamwallError
from engine.featurevis import VisParams, octave_sides, start_noise, visualise
from engine.objectives import parse_objective

FAST = VisParams(size=48, octaves=1, steps=6)


def channel_mean(net, image, layer: str, channel: int) -> float:
    with torch.no_grad():
        return float(net.forward_to(image, [layer])[layer][:, channel].mean())


def test_each_picture_grows_its_own_channel(squeezenet, one_torch_thread) -> None:
    objectives = [parse_objective("fire7:0", squeezenet), parse_objective("fire7:1", squeezenet)]
    images = visualise(squeezenet, objectives, FAST, torch.Generator().manual_seed(0))
    assert images.shape == (2, 3, 48, 48)
    first, second = images[0:1], images[1:2]
    assert channel_mean(squeezenet, first, "fire7", 0) > channel_mean(squeezenet, second, "fire7", 0)
    assert channel_mean(squeezenet, second, "fire7", 1) > channel_mean(squeezenet, first, "fire7", 1)


def test_a_picture_in_a_batch_equals_the_picture_alone(squeezenet, one_torch_thread) -> None:
    """Per-picture normalisation: a strong neighbour in the batch does not change a weak channel's picture."""
    weak, strong = parse_objective("fire7:0", squeezenet), parse_objective("fire7", squeezenet) * 50.0
    start = start_noise(48, torch.Generator().manual_seed(1))
    alone = visualise(squeezenet, [weak], FAST, torch.Generator().manual_seed(0), start=start)
    batch = visualise(squeezenet, [weak, strong], FAST, torch.Generator().manual_seed(0),
                      start=torch.cat([start, start]))  # fmt: skip
    assert torch.allclose(alone[0], batch[0], atol=1e-4)
    assert not torch.allclose(batch[0], batch[1], atol=1e-2)


def test_octaves_start_small_and_never_below_the_network_minimum() -> None:
    assert octave_sides(VisParams(size=128, octaves=3, octave_scale=1.5), "squeezenet1_1") == [57, 85, 128]
    assert octave_sides(VisParams(size=48, octaves=4, octave_scale=2.0), "squeezenet1_1") == [48]


def test_out_of_range_settings_name_the_range() -> None:
    with pytest.raises(DreamwallError, match="atlas size must be between 32 and 512, got 8"):
        VisParams(size=8)
    with pytest.raises(DreamwallError, match=r"decay must be between 0 and 0\.5, got 0\.9"):
        VisParams(decay=0.9)
