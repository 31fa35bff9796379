"""`python run.py warmup`: build, before opening hours, exactly what the live show will use here.

Exporting a graph takes seconds and a TensorRT engine tens of seconds; doing it at
install time means the first visitor never waits. Warmup resolves the device and each
preset's precision and processing size the way `run.py live` does, and asks the same
backend chooser the live show asks, with the same on-disk cache: whatever that backend
builds (an ONNX graph, a TensorRT engine) is then found there by the show. Backends
that build nothing (eager torch, the CPU's usual choice) are reported as ready.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.networks import DEFAULT_NETWORK, DreamNet, check_network_name
from engine.networks.shapes import architecture
from engine.objectives import Objective
from installation.common.cli import size_arg, start_done
from installation.dreaming.backend_choice import BackendChooser, check_backend_here
from installation.dreaming.cpu_precision import native_bf16
from installation.dreaming.export_cache import DEFAULT_CACHE, DiskStore, check_cache_folder
from installation.dreaming.looks import NetworkCache
from installation.dreaming.memory import check_dream_memory
from installation.dreaming.placement import Placement, resolve_device, resolve_precision
from installation.dreaming.worker import auto_process_size
from installation.presets.loader import PresetLibrary, environment_presets_dir
from installation.presets.objectives import build_objective

HELP = "prebuild what the live show uses here (exported graphs, TensorRT engines) for every preset"
QUIET_START = True  # start logs are held until the checks pass (installation.common.cli.StartLog)
log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--presets", nargs="*", metavar="NAME", help="only these presets (default: all)")
    parser.add_argument("--size", type=size_arg, action="append", metavar="WxH",
                        help="processing size(s), as live's --process-size (default: each preset's; auto = by device)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N, as for live (default: auto)")
    parser.add_argument("--backend", help="as live's --backend (default: each preset's choice)")
    parser.add_argument("--presets-dir", type=Path, help="folder of preset YAML files (default: presets/)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"build cache (default: {DEFAULT_CACHE})")
    parser.add_argument("--network", help="instead of presets: build for this network ...")
    parser.add_argument("--layers", help=f"... and these comma-separated layers, e.g. fire5,fire7 (alone: on "
                        f"{DEFAULT_NETWORK}, as dream and export take it)")  # fmt: skip


@dataclass(frozen=True)
class Job:
    """One thing the live show will dream: a preset (or custom layers) on its network, precision and sizes."""

    label: str
    network: str
    precision: str
    backend: str
    objective: Callable[[DreamNet], Objective]
    sizes: list[tuple[int, int]]


def _custom_job(args: argparse.Namespace, sizes: list[tuple[int, int]]) -> Job:
    """--network and/or --layers: one job instead of the presets. --layers alone means the default network, as
    in `dream` and `export` (ignoring it, as before, built every preset's network while the user asked for one)."""
    network = check_network_name(args.network or DEFAULT_NETWORK)
    names = [part.strip() for part in (args.layers or "").split(",") if part.strip()]
    for name in names:  # checked on the weightless architecture before anything loads or builds
        architecture(network).check_layer(name)

    def layers(net: DreamNet) -> Objective:
        return build_objective(net, {name: 1.0 for name in names} if names else None)

    return Job(f"{network} {','.join(names) or '(default layer)'}", network, "auto", "auto", layers, sizes)


def _jobs(args: argparse.Namespace, device: torch.device) -> list[Job]:
    auto = [auto_process_size(device)]
    if args.network or args.layers:
        return [_custom_job(args, args.size or auto)]
    library = PresetLibrary(args.presets_dir or environment_presets_dir())
    return [
        Job(name, preset.network, preset.precision, preset.backend, preset.build_objective,
            args.size or ([preset.process_size] if preset.process_size else auto))
        for name, preset in library.load_all(args.presets or None).items()
    ]


def run(args: argparse.Namespace) -> int:
    device, reason = resolve_device(args.device)
    if args.backend is not None:
        check_backend_here(args.backend, device)
    store = DiskStore(check_cache_folder(args.cache))
    networks = NetworkCache()
    ready: list[tuple[Job, Placement, DreamNet, Objective]] = []
    for job in _jobs(args, device):  # every job resolved and its sizes checked before anything is built
        native = native_bf16() if job.precision == "bf16" else None
        dtype, _ = resolve_precision(job.precision, device, f"preset {job.label}", strict=True, bf16_native=native)
        compute = "bf16" if job.precision == "bf16" else None  # auto's bf16 probe runs at the show's start
        net = networks.get(job.network, device, dtype)
        objective = job.objective(net)
        for size in job.sizes:
            check_dream_memory(job.network, objective.layers, size, device, args.backend or job.backend)
        ready.append((job, Placement(device, dtype, reason, compute), net, objective))
    start_done()
    print(f"device {device} ({reason})")
    chooser = BackendChooser(args.backend, store=store)
    for job, placement, net, objective in ready:
        chooser.wanted, chooser.compute = job.backend, placement.compute
        for width, height in job.sizes:
            start = time.perf_counter()
            chooser(net, objective, (width, height))
            print(f"{job.label}: {chooser.name} ({placement.describe()}) at {width}x{height} "
                  f"ready in {time.perf_counter() - start:.1f} s")  # fmt: skip
    print(f"{len(ready)} job(s) ready; builds cached under {args.cache}")
    return 0
