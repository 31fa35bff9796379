"""Export a GradientGraph to ONNX bytes, keyed and cached so each graph is built once.

torch 2.14's default (dynamo) exporter needs onnxscript, which is not installed
here; the TorchScript exporter (dynamo=False) handles every op the graph uses
(Conv, ConvTranspose, Pad, Slice, Where, Concat, MaxPool) at opset 17.

Each graph is exported per target ("onnx" for ONNX Runtime, "tensorrt" for
TensorRT's parser, see engine.export.convert); the target is part of the key, so the
two forms never share a cached file or engine.
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from weakref import WeakKeyDictionary

import torch

from engine.export.convert import DEFAULT_TARGET, check_target
from engine.export.graph import GradientGraph
from engine.export.store import BlobStore
from engine.export.targets import GraphTargets
from engine.networks import DreamNet

OPSET = 17
# Bump when the graph's construction changes, so stale cached files are not reused.
GRAPH_VERSION = 3
INPUT_NAMES = ("image", "energy", "channels")
OUTPUT_NAME = "gradient"
log = logging.getLogger(__name__)
_DIGESTS: WeakKeyDictionary[DreamNet, str] = WeakKeyDictionary()


def weights_digest(net: DreamNet) -> str:
    """A short hash of the weights, so custom `--weights` never reuse the embedded net's graphs."""
    if net not in _DIGESTS:
        digest = hashlib.blake2b(digest_size=8)
        for name, tensor in net.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        _DIGESTS[net] = digest.hexdigest()
    return _DIGESTS[net]


def graph_key(
    net: DreamNet, layers: tuple[str, ...], height: int, width: int, target: str = DEFAULT_TARGET
) -> str:
    """The graph's identity: network, weights, objective layers, size, export target, opset, graph version."""
    layer_part = "+".join(layers)
    return (f"{net.name}-{weights_digest(net)}-{layer_part}-{width}x{height}-{check_target(target)}"
            f"-op{OPSET}-v{GRAPH_VERSION}")


def example_inputs(graph: GradientGraph, targets: GraphTargets | None = None) -> tuple[torch.Tensor, ...]:
    height, width = graph.size
    image = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
    if targets is not None:
        return image, targets.energy, targets.channel_weights
    return image, torch.ones(len(graph.layers)), torch.zeros(graph.channel_count)


def export_onnx(graph: GradientGraph) -> bytes:
    """The graph as ONNX bytes (fp32; TensorRT decides its own precision when it builds)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(
            graph.cpu().float(),
            example_inputs(graph),
            buffer,
            dynamo=False,
            opset_version=OPSET,
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            do_constant_folding=True,
        )
    return buffer.getvalue()


def onnx_graph(
    net: DreamNet, layers: tuple[str, ...], height: int, width: int, store: BlobStore, target: str = DEFAULT_TARGET
) -> bytes:
    """The ONNX bytes for these layers at this size in `target`'s form: from the store, or built and stored."""
    key = f"onnx/{graph_key(net, layers, height, width, target)}.onnx"
    data = store.get(key)
    if data is None:
        log.info("exporting gradient graph %s", key)
        data = export_onnx(GradientGraph(net, layers, height, width, target))
        store.put(key, data)
    return data
