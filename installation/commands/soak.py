"""`python run.py soak --minutes N`: the real installation under a gallery's worst habits, then a verdict.

The app runs headless on the demo camera (wrapped so it drops out for a few seconds
every so often) while an OSC desk turns the intensity knob, steps presets and sends
malformed messages, and a sampler records memory, threads, file descriptors and dream
progress (installation/soak/run.py). Exit 0 on PASS, 1 on FAIL
(installation.soak.judge.judge says why).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from installation.common.cli import float_in, size_arg
from installation.soak.judge import report_json, table_header, verdict_text
from installation.soak.run import SoakPlan, run_soak
from installation.testing.faulty_source import FaultSchedule

HELP = "run the installation headless for N minutes with source faults, preset changes and OSC traffic; FAIL on leaks"

EXIT_FAIL = 1


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float_in(0.1, 100_000, "minutes"), default=30.0,
                        help="how long to run (default 30)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    parser.add_argument("--process-size", type=size_arg, help="dreaming resolution WxH (default: the presets' auto)")
    parser.add_argument("--sample-every", type=float_in(0.5, 600, "sample interval"), default=3.0,
                        help="seconds between samples (default 3)")  # fmt: skip
    parser.add_argument("--fault-every", type=float_in(1, 3600, "fault period"), default=40.0,
                        help="seconds between simulated camera outages (default 40)")  # fmt: skip
    parser.add_argument("--outage", type=float_in(0, 600, "outage"), default=3.0,
                        help="seconds each outage lasts (default 3)")  # fmt: skip
    parser.add_argument("--preset-every", type=float_in(0.5, 3600, "preset interval"), default=3.0,
                        help="seconds between /dreamwall/next messages (default 3)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    fault = FaultSchedule(period_s=args.fault_every, outage_s=min(args.outage, args.fault_every))
    plan = SoakPlan(duration_s=args.minutes * 60.0, sample_s=args.sample_every, preset_s=args.preset_every,
                    fault=fault, process_size=args.process_size)  # fmt: skip
    stdout = sys.stdout

    def echo(line: str) -> None:
        stdout.write(line + "\n")
        stdout.flush()

    if not args.json:
        size = "x".join(map(str, plan.process_size)) if plan.process_size else "auto"
        echo(f"soak: {args.minutes:g} min, process size {size}, outage {fault.outage_s:g} s every "
             f"{fault.period_s:g} s, next preset every {plan.preset_s:g} s, sample every {plan.sample_s:g} s")
        echo(table_header())
    result = run_soak(plan, echo=None if args.json else echo)
    verdict = result.verdict(plan)
    if args.json:
        extra = {"minutes": args.minutes, "process_size": list(plan.process_size) if plan.process_size else None,
                 "fault": asdict(fault), "osc": result.osc, "faults": result.faults, "exit_code": result.exit_code}
        echo(json.dumps(report_json(result.samples, verdict, extra), indent=2))
    else:
        echo(f"osc: {result.osc}   faults: {result.faults}   preset changes seen: {result.preset_changes}")
        echo(verdict_text(verdict))
    return 0 if verdict.passed else EXIT_FAIL
