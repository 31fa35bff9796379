"""`python run.py networks`: the networks, their dreamable layers and channel counts.

Listing reads each architecture on the meta device, so it needs no weights and
never downloads: a network whose weights are missing says so and how to get them.
"""

from __future__ import annotations

import argparse

from engine.networks import DEFAULT_NETWORK, EMBEDDED, NETWORKS, check_network_name, weights_installed
from engine.networks.shapes import architecture

HELP = "list networks, their dreamable layers and channel counts"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--network", help="show only this network")


def origin(name: str) -> str:
    if name in EMBEDDED:
        return "embedded"
    return "installed" if weights_installed(name) else "not installed (see README: run.py fetch-weights)"


def run(args: argparse.Namespace) -> int:
    names = [check_network_name(args.network)] if args.network else list(NETWORKS)
    for name in names:
        net = architecture(name)
        default = " (default)" if name == DEFAULT_NETWORK else ""
        print(f"{name}{default} [{origin(name)}], default layer {net.default_layer}")
        for info in net.catalogue():
            print(f"  {info.name:<14} {info.channels:>5} channels  stride {info.stride}")
    return 0
