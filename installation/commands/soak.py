"""`python run.py soak --minutes N`: the real installation under a gallery's worst habits, then a verdict.

The app runs headless on the demo camera (wrapped so it drops out for a few seconds
every so often) on the main thread, as in production (its SIGTERM handler needs it).
Helper threads play the outside world: an OSC desk on loopback turning the intensity
knob, stepping presets and sending malformed messages, and a sampler that records
memory, threads, file descriptors and dream progress, then stops the app. Exit 0 on
PASS, 1 on FAIL (installation.ops.soak.judge says why).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import math
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from installation.common.cli import float_in, size_arg
from installation.ops.soak import (
    Sample,
    SoakLimits,
    StallMeter,
    judge,
    missing_threads,
    read_process,
    report_json,
    sample_from,
    table_header,
    table_row,
    verdict_text,
)
from installation.sources.openers import FrameSource, open_source
from installation.testing.faulty_source import FaultSchedule, FaultySource

HELP = "run the installation headless for N minutes with source faults, preset changes and OSC traffic; FAIL on leaks"

log = logging.getLogger(__name__)

EXIT_FAIL = 1
RECONNECT_MARGIN_S = 5.0  # capture back-off cap (2 s) plus a reopen and a dreamt frame
STALL_MARGIN_S = 6.0      # on top of the outage: back-off, reopen, a slow first frame on a busy CPU
POLL_S = 0.25             # how often dream progress is checked between samples
OSC_KNOB_HZ = 8.0


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


@dataclass(frozen=True)
class SoakPlan:
    duration_s: float
    sample_s: float = 3.0
    preset_s: float = 3.0
    fault: FaultSchedule = field(default_factory=FaultSchedule)
    process_size: tuple[int, int] | None = None

    @property
    def limits(self) -> SoakLimits:
        return SoakLimits(max_stall_s=self.fault.outage_s + STALL_MARGIN_S)


class _Discard:
    """A text sink for the app's per-frame progress and preset lines (the table is the output here)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class OscDesk:
    """A show-control desk on loopback: a moving intensity knob, preset steps and some garbage."""

    def __init__(self, port: int, preset_s: float, stop: threading.Event, host: str = "127.0.0.1") -> None:
        from pythonosc.udp_client import SimpleUDPClient

        self._client = SimpleUDPClient(host, port)
        self._raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._target = (host, port)
        self._preset_s = preset_s
        self._stop = stop
        self.sent = 0
        self.malformed = 0  # messages the app's router must count as ignored
        self.garbage = 0    # datagrams that are not OSC at all
        self.thread = threading.Thread(target=self._run, name="soak-osc-desk", daemon=True)

    def _send(self, address: str, value: Any) -> None:
        self._client.send_message(address, value)
        self.sent += 1

    def _run(self) -> None:
        started = time.monotonic()
        next_preset = started + self._preset_s
        tick = 0
        while not self._stop.wait(1.0 / OSC_KNOB_HZ):
            now = time.monotonic()
            tick += 1
            self._send("/dreamwall/intensity", 0.55 + 0.35 * math.sin(now - started))
            if now >= next_preset:
                next_preset += self._preset_s
                self._send("/dreamwall/next", 1)
            if tick % 16 == 0:  # about every 2 s: what a mis-configured desk sends
                bad: tuple[tuple[str, Any], ...] = (("/dreamwall/intensity", 2.5), ("/dreamwall/intensity", "loud"),
                                                    ("/dreamwall/nonsense", 1))  # fmt: skip
                for address, value in bad:
                    self._send(address, value)
                self.malformed += len(bad)
                self._raw.sendto(b"\x00not osc at all", self._target)
                self.garbage += 1

    def close(self) -> None:
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=2.0)
        self._raw.close()
        self._client._sock.close()  # python-osc offers no close(); the socket is its only resource


class Sampler:
    """Polls dream progress often (stalls) and records a Sample every `sample_s`; stops the app at the end."""

    def __init__(self, app: Any, plan: SoakPlan, stop: threading.Event, echo: Callable[[str], None] | None) -> None:
        self._app = app
        self._plan = plan
        self._stop = stop
        self._echo = echo
        self.samples: list[Sample] = []
        self.stalls = StallMeter()
        self.last_snapshot: dict[str, Any] | None = None
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)

    def _run(self) -> None:
        next_sample = self.started
        try:
            while not self._stop.is_set():
                t = time.monotonic() - self.started
                snapshot = self._app.snapshot()
                self.last_snapshot = snapshot
                self.stalls.update(t, int(snapshot["frames"]["dreamed"]), bool(snapshot["asleep"]))
                if time.monotonic() >= next_sample:
                    next_sample += self._plan.sample_s
                    sample = sample_from(t, snapshot, read_process(), missing_threads())
                    self.samples.append(sample)
                    if self._echo is not None:
                        self._echo(table_row(sample))
                if t >= self._plan.duration_s:
                    break
                self._stop.wait(POLL_S)
        except Exception:  # a broken sampler must still end the soak, and say why
            log.exception("soak sampler failed")
        finally:
            self._stop.set()
            self._app.stop()


@dataclass
class SoakResult:
    samples: list[Sample]
    exit_code: int
    longest_stall_s: float
    expected_reconnects: int | None
    osc: dict[str, int]
    faults: dict[str, int]
    preset_changes: int


def run_soak(plan: SoakPlan, echo: Callable[[str], None] | None = None) -> SoakResult:
    """Run the app on this (main) thread for plan.duration_s with the desk and the sampler beside it."""
    from installation.app.app import App
    from installation.app.config import LiveConfig
    from installation.controls.inputs import ControlsConfig

    sources: list[FaultySource] = []

    def faulty(spec: str) -> FrameSource:
        source = FaultySource(open_source(spec), plan.fault)
        sources.append(source)
        return source

    with tempfile.TemporaryDirectory(prefix="dreamwall-soak-") as folder:
        out = Path(folder)
        config = LiveConfig(source="demo", headless=True, seconds=plan.duration_s + 120.0,  # the sampler stops it
                            out=out / "soak.mp4", process_size=plan.process_size, status_file=out / "status.json",
                            recordings_dir=out, screenshots_dir=out,
                            controls=ControlsConfig(osc_port=0, midi=False))  # fmt: skip
        app = App(config, source_factory=faulty, stderr=_Discard())
        stop = threading.Event()
        desk = OscDesk(app.snapshot()["osc"]["port"], plan.preset_s, stop)
        sampler = Sampler(app, plan, stop, echo)
        desk.thread.start()
        sampler.thread.start()
        try:
            with contextlib.redirect_stdout(_Discard()):  # type: ignore[type-var]
                exit_code = app.run()
        finally:
            stop.set()
            sampler.thread.join(timeout=10.0)
            desk.close()
            app.close()
    snapshot = sampler.last_snapshot or {}
    osc = snapshot.get("osc") or {}
    elapsed = sampler.samples[-1].t if sampler.samples else 0.0
    counts = [source.counts() for source in sources]
    presets = [s.preset for s in sampler.samples]
    return SoakResult(
        samples=sampler.samples,
        exit_code=exit_code,
        longest_stall_s=sampler.stalls.longest_s,
        expected_reconnects=plan.fault.outages_ended(elapsed - RECONNECT_MARGIN_S),
        osc={"sent": desk.sent, "malformed": desk.malformed, "garbage": desk.garbage,
             "ignored": int(osc.get("ignored", 0))},
        faults={"outages": sum(c.outages for c in counts), "failed_reads": sum(c.failed_reads for c in counts),
                "failed_opens": sum(c.failed_opens for c in counts)},
        preset_changes=sum(1 for a, b in itertools.pairwise(presets) if a != b),
    )


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
    verdict = judge(result.samples, plan.limits, plan.duration_s, result.longest_stall_s, result.exit_code,
                    result.expected_reconnects, osc_malformed=result.osc["malformed"],
                    osc_ignored=result.osc["ignored"], preset_changes=result.preset_changes)  # fmt: skip
    if args.json:
        extra = {"minutes": args.minutes, "process_size": list(plan.process_size) if plan.process_size else None,
                 "fault": asdict(fault), "osc": result.osc, "faults": result.faults, "exit_code": result.exit_code}
        echo(json.dumps(report_json(result.samples, verdict, extra), indent=2))
    else:
        echo(f"osc: {result.osc}   faults: {result.faults}   preset changes seen: {result.preset_changes}")
        echo(verdict_text(verdict))
    return 0 if verdict.passed else EXIT_FAIL
