"""`python run.py live`: the installation (placeholder until the live app lands)."""

from __future__ import annotations

import argparse

HELP = "run the installation (default command)"


def configure(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    print("live installation not wired yet")
    return 0
