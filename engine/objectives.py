"""What to amplify: objective values that compose, and the one parser for presets.

An objective maps the activations of the layers it names to a scalar that the dream
step increases. Objectives add, scale and negate; each carries a `description` for
the HUD and the set of `layers` the forward pass must reach (and no further).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

import torch
from torch import Tensor

from engine.errors import DreamwallError, did_you_mean, excerpt, number_text
from engine.networks import LOGITS, DreamNet, imagenet_labels


class Objective:
    """Base of all objectives: callable on activations, composable with + * -."""

    description: str
    layers: frozenset[str]

    def __call__(self, activations: Mapping[str, Tensor]) -> Tensor:
        raise NotImplementedError

    def terms(self) -> tuple[tuple[float, Objective], ...]:
        """This objective as a weighted sum of simple ones."""
        return ((1.0, self),)

    def __add__(self, other: Objective) -> Objective:
        return WeightedSum(self.terms() + other.terms())

    def __sub__(self, other: Objective) -> Objective:
        return self + (-1.0) * other

    def __mul__(self, weight: float) -> Objective:
        return WeightedSum(tuple((w * float(weight), o) for w, o in self.terms()))

    __rmul__ = __mul__

    def __neg__(self) -> Objective:
        return -1.0 * self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"


@dataclass(frozen=True, repr=False, eq=False)
class LayerEnergy(Objective):
    """Mean squared activation of a whole layer: the classic DeepDream objective."""

    layer: str

    @property
    def description(self) -> str:  # type: ignore[override]
        return self.layer

    @property
    def layers(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset({self.layer})

    def __call__(self, activations: Mapping[str, Tensor]) -> Tensor:
        return activations[self.layer].float().pow(2).mean()


@dataclass(frozen=True, repr=False, eq=False)
class Channels(Objective):
    """Mean activation of chosen channels of a layer: one learnt feature, made visible."""

    layer: str
    channels: tuple[int, ...]

    @property
    def description(self) -> str:  # type: ignore[override]
        return f"{self.layer}:{','.join(str(c) for c in self.channels)}"

    @property
    def layers(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset({self.layer})

    def __call__(self, activations: Mapping[str, Tensor]) -> Tensor:
        return activations[self.layer][:, list(self.channels)].float().mean()


@dataclass(frozen=True, repr=False, eq=False)
class ClassLogit(Objective):
    """An output class's logit ("make it more cat-like"); needs the full forward pass."""

    index: int
    label: str

    @property
    def description(self) -> str:  # type: ignore[override]
        return f"class:{self.label}"

    @property
    def layers(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset({LOGITS})

    def __call__(self, activations: Mapping[str, Tensor]) -> Tensor:
        return activations[LOGITS][:, self.index].float().mean()


@dataclass(frozen=True, repr=False, eq=False)
class Guide(Objective):
    """Amplify what the layer sees in a guide picture.

    Each position's feature vector is matched with the guide's feature it best agrees
    with (largest dot product) and the objective is that dot product, averaged: the
    gradient pulls every position towards its nearest guide feature.
    """

    layer: str
    features: Tensor  # (channels, positions) of the guide image at `layer`
    name: str

    @property
    def description(self) -> str:  # type: ignore[override]
        return f"guide:{self.name}@{self.layer}"

    @property
    def layers(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset({self.layer})

    def __call__(self, activations: Mapping[str, Tensor]) -> Tensor:
        act = activations[self.layer].float()
        flat = act.flatten(2)  # N, C, P
        guide = self.features.to(device=act.device, dtype=act.dtype)
        scores = torch.einsum("ncp,cg->npg", flat, guide)
        return scores.max(dim=2).values.mean()


@dataclass(frozen=True, repr=False, eq=False)
class WeightedSum(Objective):
    items: tuple[tuple[float, Objective], ...] = field(default=())

    def terms(self) -> tuple[tuple[float, Objective], ...]:
        return self.items

    @property
    def description(self) -> str:  # type: ignore[override]
        text = ""
        for weight, objective in self.items:
            sign = "-" if weight < 0 else "+"
            magnitude = "" if abs(weight) == 1 else f"{abs(weight):g}*"
            term = f"{magnitude}{objective.description}"
            text = (f"-{term}" if sign == "-" else term) if not text else f"{text} {sign} {term}"
        return text or "nothing"

    @property
    def layers(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset().union(*(o.layers for _, o in self.items))

    def __call__(self, activations: Mapping[str, Tensor]) -> Tensor:
        return sum((w * o(activations) for w, o in self.items), torch.zeros(()))


MAX_WEIGHT = 1000.0
"""Largest |weight| of one term. The step normalises the gradient, so only ratios between
weights matter and 1000 spans any useful one; larger values (1e38) overflow to inf in
the backward pass (sooner in fp16) and the dream turns black."""

GuideLoader = Callable[[str], Tensor]
"""Reads a guide image (path) as an RGB [0, 1] tensor of shape (1, 3, H, W)."""


def _class_objective(name: str) -> ClassLogit:
    labels = imagenet_labels()
    if name.isdigit():
        index = int(name)
        if not 0 <= index < len(labels):
            raise DreamwallError(f"class index must be between 0 and {len(labels) - 1}, got {index}")
        return ClassLogit(index, labels[index])
    wanted = name.replace("_", " ").lower()
    for index, label in enumerate(labels):
        if label.lower() == wanted:
            return ClassLogit(index, label)
    suggestion = did_you_mean(name.replace("_", " "), labels)
    raise DreamwallError(f"unknown class '{name}'{suggestion}; use an index 0-999 or an ImageNet label")


def _layer_objective(text: str, net: DreamNet) -> Objective:
    if text.startswith("class:"):
        return _class_objective(text[len("class:"):].strip())
    layer, _, channel_text = text.partition(":")
    info = net.check_layer(layer.strip())
    if not channel_text:
        return LayerEnergy(info.name)
    channels = []
    for part in channel_text.split(","):
        part = part.strip()
        if not part.lstrip("-").isdigit():
            last = info.channels - 1
            raise DreamwallError(f"channel of {info.name} must be a whole number 0-{last}, got '{part}'")
        channel = int(part)
        if not 0 <= channel < info.channels:
            last = info.channels - 1
            raise DreamwallError(f"channel {channel} out of range for {info.name}: it has channels 0-{last}")
        channels.append(channel)
    return Channels(info.name, tuple(channels))


def guide_objective(net: DreamNet, layer: str, guide_image: Tensor, name: str) -> Guide:
    info = net.check_layer(layer)
    parameter = next(net.parameters())  # the guide goes where the network lives (a GPU, fp16)
    with torch.no_grad():
        act = net.forward_to(guide_image.to(device=parameter.device, dtype=parameter.dtype), [info.name])[info.name]
    return Guide(info.name, act[0].flatten(1).detach(), name)


def parse_objective(spec: object, net: DreamNet, load_guide: GuideLoader | None = None) -> Objective:
    """Turn preset syntax into an objective; one with no non-zero weight is refused (it dreams nothing).

    Accepted: "fire7", "fire7:42", "fire7:1,2", "class:tabby", "class:281",
    {fire6: 0.5, "fire8:12": 1.0}, {guide: path.jpg, layer: fire7}, and lists of these.
    Weights are finite numbers with |weight| <= MAX_WEIGHT.
    """
    objective = _parse(spec, net, load_guide)
    if all(weight == 0 for weight, _ in objective.terms()):
        raise DreamwallError(
            f"objective {objective.description} has only zero weights; give at least one non-zero weight"
        )
    return objective


def _parse(spec: object, net: DreamNet, load_guide: GuideLoader | None) -> Objective:
    if isinstance(spec, str):
        text = spec.strip()
        if not text:
            raise DreamwallError(f"objective is empty; name a layer of {net.name} such as '{net.default_layer}'")
        return _layer_objective(text, net)
    if isinstance(spec, Mapping):
        if "guide" in spec:
            unknown = set(spec) - {"guide", "layer", "weight"}
            if unknown:
                key = sorted(unknown)[0]
                suggestion = did_you_mean(key, ["guide", "layer", "weight"])
                raise DreamwallError(f"unknown key '{key}' in guide objective{suggestion}")
            if load_guide is None:
                raise DreamwallError("guide objectives need an image reader; not available here")
            path = str(spec["guide"])
            layer = str(spec.get("layer", net.default_layer))
            weight = _weight(spec.get("weight", 1.0), "guide")
            return weight * guide_objective(net, layer, load_guide(path), PurePath(path).name)
        if not spec:
            raise DreamwallError("objective mapping is empty; give at least one layer: weight")
        total: Objective | None = None
        for key, weight in spec.items():
            term = _weight(weight, str(key)) * _layer_objective(str(key), net)
            total = term if total is None else total + term
        assert total is not None
        return total
    if isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        if not spec:
            raise DreamwallError("objective list is empty")
        parts = [_parse(item, net, load_guide) for item in spec]
        result = parts[0]
        for part in parts[1:]:
            result = result + part
        return result
    raise DreamwallError(f"objective must be a layer name, a mapping or a list, got {type(spec).__name__}")


def _weight(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DreamwallError(f"weight of '{excerpt(key)}' must be a number, got {excerpt(repr(value))}")
    try:
        weight = float(value)
    except OverflowError:  # an integer beyond any float
        weight = math.inf if value > 0 else -math.inf
    if not math.isfinite(weight) or abs(weight) > MAX_WEIGHT:
        raise DreamwallError(
            f"weight of '{excerpt(key)}' must be a finite number between {number_text(-MAX_WEIGHT)} and "
            f"{number_text(MAX_WEIGHT)}, got {number_text(weight)}"
        )
    return weight
