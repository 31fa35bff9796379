"""`python run.py bench`: speed of the dream step (and with flags: backends, the live pipeline)."""

from __future__ import annotations

import argparse

from installation.common.cli import int_in

HELP = "measure ms per dream step and frames/s against a plain autograd loop (--backends, --live)"


def configure(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--backends", action="store_true", help="compare the backends (torch, compile, onnx, ...)")
    what.add_argument("--live", action="store_true", help="end-to-end live pipeline fps, latency and stability")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--repeats", type=int_in(1, 100, "repeats"), default=5, help="runs per figure (median)")


def run(args: argparse.Namespace) -> int:
    if args.backends:
        from installation.benchmarks.backends import run_backends_bench

        return run_backends_bench(json_output=args.json, repeats=args.repeats)
    if args.live:
        from installation.benchmarks.live import run_live_bench

        return run_live_bench(json_output=args.json, repeats=args.repeats)
    from installation.benchmarks.step import run_step_bench

    return run_step_bench(json_output=args.json, repeats=args.repeats)
