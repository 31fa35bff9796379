"""`python run.py classify IMAGE`: proof that the embedded weights are real ImageNet classifiers."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from engine.imageops import resize, to_tensor
from engine.networks import DEFAULT_NETWORK, imagenet_labels, load_network
from installation.common.cli import int_in
from installation.outputs.images import read_image

HELP = "classify an image with a network (prints rank class_index label probability)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", type=Path)
    parser.add_argument("--network", default=DEFAULT_NETWORK)
    parser.add_argument("--weights", type=Path, help="state dict for the network's architecture")
    parser.add_argument("--top", type=int_in(1, 1000, "top"), default=5)


def classify(net_name: str, image: torch.Tensor, top: int, weights: Path | None = None) -> list[tuple[int, str, float]]:
    """Top-k (class index, label, probability) at the network's native square size."""
    net = load_network(net_name, weights)
    x = resize(image, net.native_size, net.native_size)
    with torch.no_grad():
        probabilities = net.logits(x).softmax(dim=1)[0]
    values, indices = probabilities.topk(top)
    labels = imagenet_labels()
    return [(int(i), labels[int(i)], float(v)) for v, i in zip(values, indices, strict=True)]


def run(args: argparse.Namespace) -> int:
    image = to_tensor(read_image(args.image))
    for rank, (index, label, probability) in enumerate(classify(args.network, image, args.top, args.weights), 1):
        print(f"{rank} {index} {label} {probability:.4f}")
    return 0
