"""One soak: the real app, headless on a camera that drops out, beside the OSC desk, the panel visitor and the sampler.

The app runs on the calling (main) thread, as in production (its SIGTERM handler needs
it); helper threads play the outside world. Its headless lines (preset names, the
written file) go to a sink handed to the app, not to a swapped sys.stdout: a
redirect_stdout would silence every other thread's prints for the whole run.

With a compressed day the real opening-hours Scheduler runs on a fast clock, so the show
sleeps and wakes every `day_s` seconds; the soak ends as systemd ends it, by SIGTERM,
and times the app's return.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from installation.controls.schedule import Scheduler
from installation.soak.day import SoakDay
from installation.soak.desk import OscDesk, settled_count
from installation.soak.judge import RunChecks, Sample, SoakLimits, Verdict, judge
from installation.soak.panel import PanelClient, PanelReport
from installation.soak.sampler import Sampler
from installation.soak.wakes import Wake
from installation.sources.openers import FrameSource, open_source
from installation.testing.faulty_source import FaultSchedule, FaultySource

if TYPE_CHECKING:
    from installation.app.app import App

RECONNECT_MARGIN_S = 5.0  # capture back-off cap (2 s) plus a reopen and a dreamt frame
STALL_MARGIN_S = 6.0      # on top of the outage: back-off, reopen, a slow first frame on a busy CPU
STATE_ENV = "DREAMWALL_STATE_DIR"  # the panel's thumbnails go to the soak's folder, not the user's


@dataclass(frozen=True)
class SoakPlan:
    """`day`: sleep/wake cycles (None: always open); the camera outages follow `fault`, which a day
    places itself (SoakDay.faults). `panel_s`: seconds between panel visits (None: no panel)."""

    duration_s: float
    sample_s: float = 3.0
    preset_s: float = 3.0
    fault: FaultSchedule = field(default_factory=FaultSchedule)
    process_size: tuple[int, int] | None = None
    day: SoakDay | None = None
    panel_s: float | None = None

    @property
    def limits(self) -> SoakLimits:
        return SoakLimits(max_stall_s=self.fault.outage_s + STALL_MARGIN_S)

    def calm(self, t: float) -> bool:
        """Whether the panel may sleep/wake or freeze the show at soak second `t`."""
        return self.day.calm(t, self.fault.outage_s) if self.day is not None else True


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
    checks: RunChecks = field(default_factory=RunChecks)

    def verdict(self, plan: SoakPlan) -> Verdict:
        """PASS or FAIL: every malformed message and non-OSC datagram the desk sent must have been dropped."""
        return judge(self.samples, plan.limits, plan.duration_s, self.longest_stall_s, self.exit_code,
                     self.expected_reconnects, osc_malformed=self.osc["malformed"] + self.osc["garbage"],
                     osc_ignored=self.osc["ignored"], preset_changes=self.preset_changes,
                     checks=self.checks)  # fmt: skip


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


class _Ending:
    """Ends the show as systemd does: the helpers stop first, then SIGTERM (on the main thread's app)."""

    def __init__(self, app: App, helpers: list[Callable[[], None]]) -> None:
        self._app = app
        self._helpers = helpers
        self._by_signal = threading.current_thread() is threading.main_thread()  # App.run's handler is there
        self.sent: float | None = None

    def __call__(self) -> None:
        for close in self._helpers:
            close()
        if not self._app.running:  # it ended by itself (a fatal worker): nothing to stop, nothing to time
            return
        self.sent = time.monotonic()
        if self._by_signal:
            os.kill(os.getpid(), signal.SIGTERM)
        else:
            self._app.stop()


def run_soak(plan: SoakPlan, echo: Callable[[str], None] | None = None) -> SoakResult:
    """Run the app on this (main) thread for plan.duration_s with the desk, the panel and the sampler beside it."""
    from installation.app.app import App
    from installation.app.config import LiveConfig
    from installation.controls.inputs import ControlsConfig

    sources: list[FaultySource] = []
    started = time.monotonic()  # the soak's time 0: samples, the day's clock and its outages count from it

    def faulty(spec: str) -> FrameSource:
        source = FaultySource(open_source(spec), plan.fault, origin=started if plan.day else None)
        sources.append(source)
        return source

    with tempfile.TemporaryDirectory(prefix="dreamwall-soak-") as folder, _environment(STATE_ENV, folder):
        out = Path(folder)
        config = LiveConfig(source="demo", headless=True, seconds=plan.duration_s + 60.0,  # SIGTERM ends it
                            out=out / "soak.mp4", process_size=plan.process_size, status_file=out / "status.json",
                            recordings_dir=out, screenshots_dir=out, web_port=0 if plan.panel_s else None,
                            controls=ControlsConfig(osc_port=0, midi=False))  # fmt: skip
        app = App(config, source_factory=faulty, stderr=Discard(), stdout=Discard())
        if plan.day is not None:
            app.controls.scheduler = Scheduler(plan.day.schedule(), app.dispatcher,
                                               clock=plan.day.clock(lambda: time.monotonic() - started))
        stop = threading.Event()
        desk = OscDesk(app.snapshot()["osc"]["port"], plan.preset_s, stop)
        panel = _panel(app, plan, stop, started)
        ending = _Ending(app, [desk.close] + ([panel.close] if panel else []))
        sampler = Sampler(app, plan.duration_s, plan.sample_s, stop, echo, ending, config.status_file, started)
        desk.thread.start()
        if panel is not None:
            panel.thread.start()
        sampler.thread.start()
        try:
            exit_code = app.run()
            returned = time.monotonic()
        finally:
            stop.set()
            sampler.thread.join(timeout=10.0)
            desk.close()
            ignored = settled_count(lambda: int(app.snapshot()["osc"]["ignored"]), desk.to_drop)
            app.close()
    stop_s = (returned - ending.sent) if ending.sent is not None else None
    return _result(plan, sampler, desk, sources, exit_code, ignored,
                   _checks(plan, sampler, panel.report if panel else None, stop_s, sources))  # fmt: skip


def _panel(app: App, plan: SoakPlan, stop: threading.Event, started: float) -> PanelClient | None:
    if plan.panel_s is None or app.web is None:
        return None
    return PanelClient(app.web.port, app.web.panel.token, stop, lambda: plan.calm(time.monotonic() - started),
                       every_s=plan.panel_s)  # fmt: skip


def _checks(plan: SoakPlan, sampler: Sampler, panel: PanelReport | None, stop_s: float | None,
            sources: list[FaultySource]) -> RunChecks:  # fmt: skip
    elapsed = sampler.samples[-1].t if sampler.samples else 0.0
    wakes: list[Wake] | None = sampler.wakes.wakes if plan.day is not None or plan.panel_s else None
    return RunChecks(wakes=wakes, expected_wakes=plan.day.wakes_by(elapsed) if plan.day else None, panel=panel,
                     status_gap_s=sampler.status_gaps.longest_s, stop_s=stop_s,
                     recovered=sum(source.counts().recovered for source in sources))  # fmt: skip


def _result(plan: SoakPlan, sampler: Sampler, desk: OscDesk, sources: list[FaultySource], exit_code: int,
            ignored: int, checks: RunChecks) -> SoakResult:  # fmt: skip
    counts = [source.counts() for source in sources]
    presets = [s.preset for s in sampler.samples]
    faults: dict[str, Any] = {
        "outages": sum(c.outages for c in counts), "recovered": sum(c.recovered for c in counts),
        "failed_reads": sum(c.failed_reads for c in counts), "failed_opens": sum(c.failed_opens for c in counts),
        "captures": len(sources)}  # fmt: skip
    return SoakResult(
        samples=sampler.samples,
        exit_code=exit_code,
        longest_stall_s=sampler.stalls.longest_s,
        expected_reconnects=sum(source.recoveries_due(RECONNECT_MARGIN_S) for source in sources),
        osc={"sent": desk.sent, "malformed": desk.malformed, "garbage": desk.garbage, "ignored": ignored},
        faults=faults,
        preset_changes=sum(1 for a, b in itertools.pairwise(presets) if a != b),
        checks=checks,
    )
