"""`python run.py networks`: the networks, their dreamable layers and channel counts."""

from __future__ import annotations

import argparse

from engine.errors import DreamwallError
from engine.networks import DEFAULT_NETWORK, EMBEDDED, NETWORKS, load_network

HELP = "list networks, their dreamable layers and channel counts"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--network", help="show only this network")


def run(args: argparse.Namespace) -> int:
    names = [args.network] if args.network else list(NETWORKS)
    for name in names:
        origin = "embedded" if name in EMBEDDED else "torchvision cache/download"
        default = " (default)" if name == DEFAULT_NETWORK else ""
        try:
            net = load_network(name)
        except DreamwallError as error:
            if args.network:
                raise
            print(f"{name}{default} [{origin}]: unavailable: {error}")
            continue
        print(f"{name}{default} [{origin}], default layer {net.default_layer}")
        for info in net.catalogue():
            print(f"  {info.name:<14} {info.channels:>5} channels  stride {info.stride}")
    return 0
