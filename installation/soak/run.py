"""One soak: the real app, headless on a camera that drops out, beside the OSC desk and the sampler.

The app runs on the calling (main) thread, as in production (its SIGTERM handler needs
it); helper threads play the outside world. Its headless lines (preset names, the
written file) go to a sink handed to the app, not to a swapped sys.stdout: a
redirect_stdout would silence every other thread's prints for the whole run.
"""

from __future__ import annotations

import itertools
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from installation.soak.desk import OscDesk, settled_count
from installation.soak.judge import Sample, SoakLimits, Verdict, judge
from installation.soak.sampler import Sampler
from installation.sources.openers import FrameSource, open_source
from installation.testing.faulty_source import FaultSchedule, FaultySource

RECONNECT_MARGIN_S = 5.0  # capture back-off cap (2 s) plus a reopen and a dreamt frame
STALL_MARGIN_S = 6.0      # on top of the outage: back-off, reopen, a slow first frame on a busy CPU


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


class Discard:
    """A text sink for the app's per-frame progress and preset lines (the table is the output here)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@dataclass
class SoakResult:
    samples: list[Sample]
    exit_code: int
    longest_stall_s: float
    expected_reconnects: int | None
    osc: dict[str, int]
    faults: dict[str, int]
    preset_changes: int

    def verdict(self, plan: SoakPlan) -> Verdict:
        """PASS or FAIL: every malformed message and non-OSC datagram the desk sent must have been dropped."""
        return judge(self.samples, plan.limits, plan.duration_s, self.longest_stall_s, self.exit_code,
                     self.expected_reconnects, osc_malformed=self.osc["malformed"] + self.osc["garbage"],
                     osc_ignored=self.osc["ignored"], preset_changes=self.preset_changes)  # fmt: skip


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
        app = App(config, source_factory=faulty, stderr=Discard(), stdout=Discard())
        stop = threading.Event()
        desk = OscDesk(app.snapshot()["osc"]["port"], plan.preset_s, stop)
        sampler = Sampler(app, plan.duration_s, plan.sample_s, stop, echo)
        desk.thread.start()
        sampler.thread.start()
        try:
            exit_code = app.run()
        finally:
            stop.set()
            sampler.thread.join(timeout=10.0)
            desk.close()
            ignored = settled_count(lambda: int(app.snapshot()["osc"]["ignored"]), desk.to_drop)
            app.close()
    return _result(plan, sampler, desk, sources, exit_code, ignored)


def _result(plan: SoakPlan, sampler: Sampler, desk: OscDesk, sources: list[FaultySource], exit_code: int,
            ignored: int) -> SoakResult:  # fmt: skip
    elapsed = sampler.samples[-1].t if sampler.samples else 0.0
    counts = [source.counts() for source in sources]
    presets = [s.preset for s in sampler.samples]
    return SoakResult(
        samples=sampler.samples,
        exit_code=exit_code,
        longest_stall_s=sampler.stalls.longest_s,
        expected_reconnects=plan.fault.outages_ended(elapsed - RECONNECT_MARGIN_S),
        osc={"sent": desk.sent, "malformed": desk.malformed, "garbage": desk.garbage, "ignored": ignored},
        faults={"outages": sum(c.outages for c in counts), "failed_reads": sum(c.failed_reads for c in counts),
                "failed_opens": sum(c.failed_opens for c in counts)},
        preset_changes=sum(1 for a, b in itertools.pairwise(presets) if a != b),
    )
