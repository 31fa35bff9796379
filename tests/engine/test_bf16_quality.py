"""Quality guard: bf16 arithmetic must point the ascent the same way as fp32.

The dream is a chaotic ascent, so pixels differ with any change of arithmetic; what must
hold is the gradient's direction at a middle layer. Networks that hold it may be dreamt
in bf16 by `auto`; the others are checked to still fall short, so the list stays true.
"""

from __future__ import annotations

import pytest
import torch

from engine.backends import TorchBackend
from engine.networks import EMBEDDED, load_network
from engine.objectives import LayerEnergy
from installation.dreaming.cpu_precision import BF16_KEEPS_DIRECTION, MIN_COSINE


def _middle_layer_cosine(network: str) -> tuple[str, float]:
    net = load_network(network)
    names = net.stage_names()
    layer = names[len(names) // 2]
    objective = LayerEnergy(layer)
    image = torch.rand(1, 3, 160, 224, generator=torch.Generator().manual_seed(3))
    fp32 = TorchBackend(net, objective, "cpu").gradient(image)
    bf16 = TorchBackend(net, objective, "cpu", bf16=True).gradient(image)
    return layer, torch.nn.functional.cosine_similarity(fp32.flatten(), bf16.flatten(), dim=0).item()


@pytest.mark.parametrize("network", EMBEDDED)
def test_bf16_gradient_keeps_the_fp32_direction_where_auto_may_choose_it(network: str) -> None:
    layer, cosine = _middle_layer_cosine(network)
    if network in BF16_KEEPS_DIRECTION:
        assert cosine >= MIN_COSINE, f"{network} {layer}: bf16 gradient cosine to fp32 {cosine:.4f} < {MIN_COSINE}"
    else:
        assert cosine < MIN_COSINE, f"{network} {layer}: cosine {cosine:.4f}; add it to BF16_KEEPS_DIRECTION"
