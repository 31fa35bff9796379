"""An objective as gradient-graph inputs: which layers, and the weights on them.

Every exportable objective is a weighted sum of two kinds of term per layer:
layer energy (mean of a^2, gradient 2a/numel) and channel means (gradient
w_c/(H*W) for each chosen channel). So the graph takes one energy weight per layer
and one weight per channel as *inputs*: presets that dream at the same layers reuse
one exported graph (and one TensorRT engine) and switch by changing two vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from engine.export.convert import ExportUnsupported
from engine.networks import DreamNet
from engine.objectives import Channels, LayerEnergy, Objective, WeightedSum


@dataclass(frozen=True, eq=False)
class GraphTargets:
    """The graph structure (`layers`, shallow to deep) and its input values."""

    layers: tuple[str, ...]
    channels: tuple[int, ...]  # channel count per layer
    energy: Tensor  # (len(layers),) weight on each layer's mean square
    channel_weights: Tensor  # (sum(channels),) weight on each channel's mean, layers concatenated

    @property
    def structure(self) -> str:
        """What decides the graph: the layers only (weights are inputs)."""
        return "+".join(self.layers)


def _flatten(objective: Objective, weight: float) -> list[tuple[float, Objective]]:
    if isinstance(objective, WeightedSum):
        return [item for w, o in objective.items for item in _flatten(o, weight * w)]
    return [(weight, objective)]


def graph_targets(objective: Objective, net: DreamNet) -> GraphTargets:
    """The graph inputs for `objective`, or ExportUnsupported naming the term that needs autograd."""
    terms = _flatten(objective, 1.0)
    for _, term in terms:
        if not isinstance(term, (LayerEnergy, Channels)):
            raise ExportUnsupported(f"objective '{term.description}' ({type(term).__name__}) has no exported gradient")
    used = sorted({term.layer for _, term in terms}, key=net.stage_names().index)  # type: ignore[attr-defined]
    if not used:
        raise ExportUnsupported("objective names no layer")
    infos = net.layers
    counts = tuple(infos[layer].channels for layer in used)
    energy = torch.zeros(len(used))
    per_layer = [torch.zeros(count) for count in counts]
    for weight, term in terms:
        index = used.index(term.layer)  # type: ignore[attr-defined]
        if isinstance(term, LayerEnergy):
            energy[index] += weight
        elif isinstance(term, Channels):
            for channel in term.channels:
                per_layer[index][channel] += weight / len(term.channels)
    return GraphTargets(tuple(used), counts, energy, torch.cat(per_layer))
