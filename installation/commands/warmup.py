"""`python run.py warmup`: build every preset's gradient graph (and TensorRT engine) before opening hours.

Exporting a graph takes seconds and a TensorRT engine tens of seconds; doing it at
install time means the first visitor never waits. Graphs are keyed by layers and
size (channel choices and weights are graph inputs), so presets that share layers
share one build. Objectives that need autograd (class logits, guides) need nothing.
"""

from __future__ import annotations

import argparse
import logging
import time

import torch

from engine.backends import create_backend, missing
from engine.export.convert import ExportUnsupported
from engine.export.onnx_file import onnx_graph
from engine.export.targets import graph_targets
from engine.networks import DreamNet, load_network
from engine.objectives import Objective
from installation.cli import size_arg
from installation.export_cache import DEFAULT_CACHE, DiskStore

HELP = "prebuild the exported gradient graphs (and TensorRT engines on a GPU) for every preset"
log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--presets", nargs="*", metavar="NAME", help="only these presets (default: all)")
    parser.add_argument("--size", type=size_arg, action="append", metavar="WxH",
                        help="processing size(s) to build for (default: each preset's, auto = by device)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--network", help="instead of presets: build for this network ...")
    parser.add_argument("--layers", help="... and these comma-separated layers, e.g. fire5,fire7")


def _jobs(args: argparse.Namespace, device: torch.device) -> list[tuple[str, str, object, list[tuple[int, int]]]]:
    """(label, network, objective spec, sizes) to build."""
    from installation.dream_worker import auto_process_size

    default_sizes = args.size or [auto_process_size(device)]
    if args.network:
        layers = [part.strip() for part in (args.layers or "").split(",") if part.strip()]
        spec: object = {layer: 1.0 for layer in layers} if layers else None
        return [(f"{args.network} {args.layers or '(default layer)'}", args.network, spec, default_sizes)]
    from installation.presets import PresetLibrary

    library = PresetLibrary()
    presets = library.load_all(args.presets or None)
    return [
        (name, preset.network, preset, args.size or [preset.process_size or auto_process_size(device)])
        for name, preset in presets.items()
    ]


def _objective(net: DreamNet, spec: object) -> Objective:
    from engine.objectives import parse_objective
    from installation.presets import Preset

    if isinstance(spec, Preset):
        return spec.build_objective(net)
    return parse_objective(spec if spec is not None else net.default_layer, net)


def run(args: argparse.Namespace) -> int:
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    store = DiskStore(DEFAULT_CACHE)
    use_tensorrt = device.type == "cuda" and missing("tensorrt", device) is None
    networks: dict[str, DreamNet] = {}
    built = 0
    for label, network, spec, sizes in _jobs(args, device):
        net = networks.setdefault(network, load_network(network))
        objective = _objective(net, spec)
        try:
            targets = graph_targets(objective, net)
        except ExportUnsupported as error:
            print(f"{label}: nothing to build ({error})")
            continue
        backend = create_backend("tensorrt", net, objective, device, store) if use_tensorrt else None
        for width, height in sizes:
            start = time.perf_counter()
            onnx_graph(net, targets.layers, height, width, store)
            if backend is not None:
                backend.prepare(height, width)  # type: ignore[attr-defined]
            built += 1
            what = "onnx + tensorrt" if backend is not None else "onnx"
            print(f"{label}: {what} for {'+'.join(targets.layers)} at {width}x{height} "
                  f"ready in {time.perf_counter() - start:.1f} s")
    print(f"{built} graph(s) ready under {DEFAULT_CACHE}")
    return 0
