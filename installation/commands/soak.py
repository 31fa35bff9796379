"""`python run.py soak --minutes N`: the real installation under a gallery's worst habits, then a verdict.

The app runs headless on the demo camera (wrapped so it drops out for a few seconds
every so often) while an OSC desk turns the intensity knob, steps presets and sends
malformed messages, a visitor uses the web panel (changes, streams, bad requests), the
opening hours put it to sleep and wake it every compressed day, and a sampler records
memory, threads, file descriptors, dream progress, wakes and the status file
(installation/soak/run.py). The soak ends by SIGTERM. Exit 0 on PASS, 1 on FAIL
(installation.soak.judge.judge says why).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from installation.common.cli import float_in, size_arg
from installation.soak.day import SoakDay
from installation.soak.judge import report_json, table_header, verdict_text
from installation.soak.run import SoakPlan, run_soak
from installation.testing.faulty_source import FaultSchedule

HELP = ("run the installation headless for N minutes with source faults, preset changes, OSC and panel traffic and "
        "sleep/wake cycles; FAIL on leaks, stalls, a wake without camera, a misbehaving panel")

EXIT_FAIL = 1


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float_in(0.1, 100_000, "minutes"), default=30.0,
                        help="how long to run (default 30)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    parser.add_argument("--process-size", type=size_arg, help="dreaming resolution WxH (default: the presets' auto)")
    parser.add_argument("--sample-every", type=float_in(0.5, 600, "sample interval"), default=3.0,
                        help="seconds between samples (default 3)")  # fmt: skip
    parser.add_argument("--fault-every", type=float_in(1, 3600, "fault period"), default=40.0,
                        help="seconds between simulated camera outages with --no-sleep (default 40; with "
                             "opening hours: one outage a day, half-way through the opening hours)")  # fmt: skip
    parser.add_argument("--outage", type=float_in(0, 600, "outage"), default=3.0,
                        help="seconds each outage lasts (default 3)")  # fmt: skip
    parser.add_argument("--preset-every", type=float_in(0.5, 3600, "preset interval"), default=3.0,
                        help="seconds between /dreamwall/next messages (default 3)")  # fmt: skip
    parser.add_argument("--day", type=float_in(12, 86_400, "day length"), default=60.0,
                        help="seconds of soak per gallery day: open two thirds, then asleep (default 60)")
    parser.add_argument("--no-sleep", action="store_true", help="always open: no opening hours, no sleep/wake")
    parser.add_argument("--panel-every", type=float_in(0.2, 600, "panel interval"), default=2.0,
                        help="seconds between the panel visitor's rounds (default 2)")  # fmt: skip
    parser.add_argument("--no-panel", action="store_true", help="no web panel and no panel traffic")


def run(args: argparse.Namespace) -> int:
    day = None if args.no_sleep else SoakDay(day_s=args.day)
    fault = (day.faults(args.outage) if day is not None
             else FaultSchedule(period_s=args.fault_every, outage_s=min(args.outage, args.fault_every)))  # fmt: skip
    plan = SoakPlan(duration_s=args.minutes * 60.0, sample_s=args.sample_every, preset_s=args.preset_every,
                    fault=fault, process_size=args.process_size, day=day,
                    panel_s=None if args.no_panel else args.panel_every)  # fmt: skip
    stdout = sys.stdout

    def echo(line: str) -> None:
        stdout.write(line + "\n")
        stdout.flush()

    if not args.json:
        size = "x".join(map(str, plan.process_size)) if plan.process_size else "auto"
        hours = f"open {day.open_s:g} s of every {day.day_s:g} s" if day is not None else "always open"
        panel = f"panel every {plan.panel_s:g} s" if plan.panel_s is not None else "no panel"
        echo(f"soak: {args.minutes:g} min, process size {size}, {hours}, outage {fault.outage_s:g} s every "
             f"{fault.period_s:g} s, next preset every {plan.preset_s:g} s, {panel}, sample every {plan.sample_s:g} s")
        echo(table_header())
    result = run_soak(plan, echo=None if args.json else echo)
    verdict = result.verdict(plan)
    if args.json:
        checks = result.checks
        extra = {"minutes": args.minutes, "process_size": list(plan.process_size) if plan.process_size else None,
                 "fault": asdict(fault), "day": asdict(day) if day is not None else None, "osc": result.osc,
                 "faults": result.faults, "exit_code": result.exit_code,
                 "wakes": [asdict(w) for w in checks.wakes] if checks.wakes is not None else None,
                 "panel": checks.panel.as_json() if checks.panel is not None else None}  # fmt: skip
        echo(json.dumps(report_json(result.samples, verdict, extra), indent=2))
    else:
        echo(f"osc: {result.osc}   faults: {result.faults}   preset changes seen: {result.preset_changes}")
        if result.checks.wakes:
            echo("wakes (at s: camera dreamt after s): " + ", ".join(
                f"{w.at:.0f}: {w.camera_after_s:.1f}" if w.camera_after_s is not None else f"{w.at:.0f}: {w.ended}"
                for w in result.checks.wakes))  # fmt: skip
        echo(verdict_text(verdict))
    return 0 if verdict.passed else EXIT_FAIL
