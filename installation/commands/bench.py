"""`python run.py bench`: speed of the dream step (and with flags: backends, the live pipeline)."""

from __future__ import annotations

import argparse
from pathlib import Path

from installation.common.cli import int_in

HELP = ("measure ms per dream step and frames/s against a plain autograd loop "
        "(--backends, --live, --temporal, --ray, --ndi, --student)")


def configure(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--backends", action="store_true", help="compare the backends (torch, compile, onnx, ...)")
    what.add_argument("--live", action="store_true", help="end-to-end live pipeline fps, latency and stability")
    what.add_argument("--temporal", action="store_true",
                      help="temporal stability on moving clips: warping error, flicker per dream strength")
    what.add_argument("--ray", action="store_true",
                      help="a 300-frame render on one process vs render --ray with 2 workers, and its seams")
    what.add_argument("--ndi", action="store_true",
                      help="NDI out: cost per frame, the show's dream rate with NDI off and on, the codec's loss "
                      "(in a loopback-only network namespace: needs root)")
    what.add_argument("--student", action="store_true",
                      help="the default look's one-pass student vs its gradient teacher: frames/s at 320x180, "
                      "640x360 and 1280x720, fidelity on held-out pictures, flicker per strength")
    parser.add_argument("--strip", type=Path, help="with --temporal: write a restart/before/after strip (JPEG)")
    parser.add_argument("--recording", action="store_true",
                        help="with --live: only the recording figures (frames dropped per minute at 1280x720 and "
                        "1920x1080 while the default show runs)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--repeats", type=int_in(1, 100, "repeats"), default=5, help="runs per figure (median)")


def run(args: argparse.Namespace) -> int:
    if args.backends:
        from installation.benchmarks.backends import run_backends_bench

        return run_backends_bench(json_output=args.json, repeats=args.repeats)
    if args.live:
        from installation.benchmarks.live import run_live_bench

        return run_live_bench(json_output=args.json, repeats=args.repeats, recording_only=args.recording)
    if args.ndi:
        from installation.benchmarks.ndi import run_ndi_bench

        return run_ndi_bench(json_output=args.json, repeats=args.repeats)
    if args.ray:
        from installation.benchmarks.ray_render import run_ray_bench

        return run_ray_bench(json_output=args.json, repeats=args.repeats)
    if args.student:
        from installation.benchmarks.student import run_student_bench

        return run_student_bench(json_output=args.json, repeats=args.repeats)
    if args.temporal:
        from installation.benchmarks.temporal import run_temporal_bench

        return run_temporal_bench(json_output=args.json, strip=args.strip)
    from installation.benchmarks.step import run_step_bench

    return run_step_bench(json_output=args.json, repeats=args.repeats)
