"""`python run.py export`: the dream step's gradient graph as one ONNX file, for your own TensorRT build.

    python run.py export --network squeezenet1_1 --layers fire7 --size 640x360 -o fire7.onnx
    trtexec --onnx=fire7.onnx --fp16 --saveEngine=fire7.engine

The tensorrt target (the default) holds only what TensorRT's ONNX parser documents as
supported and is checked against that table (engine.export.tensorrt_rules) before it
is written; the onnx target is the form ONNX Runtime runs fastest. Every argument is
checked before any work (no weights load for a misspelt layer, no export of a size this
machine's memory cannot hold: installation.dreaming.memory), and the file appears
whole or not at all (temp file + rename in the output folder).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.errors import DreamwallError
from engine.export.convert import TARGETS, check_target
from engine.export.graph import GradientGraph
from engine.export.onnx_file import INPUT_NAMES, OUTPUT_NAME, export_onnx
from engine.export.tensorrt_rules import check_tensorrt_graph
from engine.memory import export_work
from engine.networks import DEFAULT_NETWORK, check_network_name, load_network
from engine.networks.shapes import architecture, min_input_side
from installation.common.atomic import atomic_write_bytes, check_output_path
from installation.common.cli import size_arg
from installation.dreaming.memory import check_memory

HELP = "write the gradient graph as ONNX for trtexec / your own TensorRT engine build"
DEFAULT_EXPORT_TARGET = "tensorrt"
SUFFIXES = (".onnx",)  # trtexec and onnxruntime take any name, but a .txt or .png would mislead whoever finds it


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--network", default=DEFAULT_NETWORK, help=f"default: {DEFAULT_NETWORK}")
    parser.add_argument("--layers", help="comma-separated layers the objective uses, e.g. fire5,fire7 "
                                         "(default: the network's default layer)")
    parser.add_argument("--size", type=size_arg, required=True, metavar="WxH", help="processing size, e.g. 640x360")
    parser.add_argument("--target", default=DEFAULT_EXPORT_TARGET,
                        help=f"{' | '.join(sorted(TARGETS, reverse=True))} (default: {DEFAULT_EXPORT_TARGET})")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="the .onnx file to write")


def _layers(network: str, text: str | None) -> tuple[str, ...]:
    """The named layers, checked on the weightless architecture (did-you-mean on a typo)."""
    shape_only = architecture(network)
    names = [part.strip() for part in (text or shape_only.default_layer).split(",") if part.strip()]
    if not names:
        raise DreamwallError(f"--layers names no layer, got '{text}'")
    for name in names:
        shape_only.check_layer(name)
    return tuple(names)


def _check_size(network: str, width: int, height: int) -> None:
    smallest = min_input_side(network)
    if min(width, height) < smallest:
        raise DreamwallError(f"size {width}x{height} is too small for {network}: both sides must be at least "
                             f"{smallest} px")


def _check_output(path: Path) -> Path:
    if path.is_dir():
        raise DreamwallError(f"output {path} is a directory, expected a file name such as {path / 'graph.onnx'}")
    return check_output_path(path, SUFFIXES, "an ONNX")


def describe(graph: GradientGraph, path: Path) -> list[str]:
    """What the file holds and how to build an engine from it, for the terminal."""
    height, width = graph.size
    layers = "+".join(graph.layers)
    return [
        f"wrote {path} ({graph.target} target): gradient of {layers} at {width}x{height}",
        f"  input  {INPUT_NAMES[0]:<9} float32 [1, 3, {height}, {width}]  RGB in [0, 1]",
        f"  input  {INPUT_NAMES[1]:<9} float32 [{len(graph.layers)}]  weight on each layer's mean square "
        f"({', '.join(graph.layers)})",
        f"  input  {INPUT_NAMES[2]:<9} float32 [{graph.channel_count}]  weight on each channel's mean, "
        "layers concatenated in that order",
        f"  output {OUTPUT_NAME:<9} float32 [1, 3, {height}, {width}]  d objective / d image",
        f"build: trtexec --onnx={path} --fp16 --saveEngine={path.with_suffix('.engine')}" if graph.target == "tensorrt"
        else "run it with onnxruntime; for TensorRT export with --target tensorrt",
    ]


def run(args: argparse.Namespace) -> int:
    network = check_network_name(args.network)
    layers = _layers(network, args.layers)
    width, height = args.size
    _check_size(network, width, height)
    target = check_target(args.target)
    path = _check_output(args.output)
    check_memory([export_work(target)], network, layers, (width, height))
    graph = GradientGraph(load_network(network), layers, height, width, target)
    data = export_onnx(graph)
    if target == "tensorrt":
        check_tensorrt_graph(data)
    try:
        atomic_write_bytes(path, data)
    except OSError as error:  # e.g. a folder that says writable but is not (read-only mounts, /proc)
        raise DreamwallError(f"cannot write {path}: {error.strerror or error}") from None
    print("\n".join(describe(graph, path)))
    return 0
