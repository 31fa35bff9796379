"""Soak samples and the verdict: does the installation leak, lose threads or stop dreaming?

A gallery runs for weeks, so a slow leak (a few MB per preset change, a thread or a
file descriptor per camera reconnect) matters more than speed. The soak command runs
the real app and records a `Sample` every few seconds; `judge` turns the samples into
PASS or FAIL with one line per problem. Memory is compared as the median of the last
samples against the median right after warm-up, so one noisy sample (a garbage
collection, a large temporary) neither hides nor fakes a leak. Warm-up is excluded
because the first minutes legitimately grow: allocator caches, each preset's first
graph, the recorder's buffers.
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from installation.soak.panel import PanelReport, judge_panel
from installation.soak.wakes import Wake, judge_wakes

PROC_STATUS = Path("/proc/self/status")
PROC_FD = Path("/proc/self/fd")
APP_THREADS = ("capture", "dream")  # must be alive whenever the installation is awake


@dataclass(frozen=True)
class ProcessFigures:
    """RSS in MB, OS threads and open file descriptors; None where the platform cannot tell."""

    rss_mb: float | None
    threads: int
    fds: int | None


def _proc_status_field(name: str) -> int | None:
    try:
        text = PROC_STATUS.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    return None


def read_process() -> ProcessFigures:
    """This process now, from /proc (Linux); threads fall back to Python's own count elsewhere.

    OS threads, not only Python ones: a leaked native pool (torch, OpenCV, a codec) counts too.
    """
    rss_kb = _proc_status_field("VmRSS")
    threads = _proc_status_field("Threads") or threading.active_count()
    try:
        fds: int | None = sum(1 for _ in PROC_FD.iterdir())
    except OSError:
        fds = None
    return ProcessFigures(rss_kb / 1024 if rss_kb is not None else None, threads, fds)


def missing_threads(expected: Sequence[str] = APP_THREADS) -> tuple[str, ...]:
    """Names in `expected` with no live thread of that name."""
    alive = {thread.name for thread in threading.enumerate() if thread.is_alive()}
    return tuple(name for name in expected if name not in alive)


@dataclass(frozen=True)
class Sample:
    """One row of the soak table; `t` is seconds since the soak started."""

    t: float
    rss_mb: float | None
    threads: int
    fds: int | None
    dream_fps: float
    dreamed: int
    reconnects: int
    errors: int
    preset: str
    source_state: str
    asleep: bool = False
    missing: tuple[str, ...] = ()  # app threads that should be alive but are not
    frozen: bool = False


def sample_from(t: float, snapshot: dict[str, Any], process: ProcessFigures, missing: tuple[str, ...]) -> Sample:
    """A Sample from the app's status snapshot (App.snapshot()) and the process figures."""
    asleep = bool(snapshot.get("asleep"))
    return Sample(
        t=round(t, 2),
        rss_mb=round(process.rss_mb, 1) if process.rss_mb is not None else None,
        threads=process.threads,
        fds=process.fds,
        dream_fps=float(snapshot["fps"]["dream"]),
        dreamed=int(snapshot["frames"]["dreamed"]),
        reconnects=int(snapshot["source"]["reconnects"]),
        errors=int(snapshot["errors"]),
        preset=str(snapshot["preset"]),
        source_state=str(snapshot["source"]["state"]),
        asleep=asleep,
        missing=() if asleep else missing,
        frozen=bool(snapshot.get("frozen")),
    )


class StallMeter:
    """The longest time without a new dream, polled more often than samples are taken.

    Time asleep (or frozen) does not count: a closed gallery is supposed to stop dreaming.
    Any counter that must keep moving can be watched (the status file's write time too).
    """

    def __init__(self) -> None:
        self._since = 0.0
        self._last_count: int | None = None
        self.longest_s = 0.0
        self.longest_at: float | None = None

    def update(self, t: float, dreamed: int, asleep: bool = False) -> None:
        if asleep or self._last_count is None or dreamed != self._last_count:
            self._since = t
            self._last_count = dreamed
            return
        stalled = t - self._since
        if stalled > self.longest_s:
            self.longest_s = stalled
            self.longest_at = self._since


@dataclass(frozen=True)
class SoakLimits:
    """What counts as a failure.

    max_stall_s: longest allowed time without a new dream; the command sets it to the
    simulated outage plus the capture's reconnect back-off plus a margin.
    """

    max_stall_s: float
    rss_growth: float = 0.05
    warmup_fraction: float = 0.2
    min_warmup_s: float = 30.0
    thread_growth: int = 1
    fd_growth: int = 3
    window_fraction: float = 0.2  # share of the post-warm-up samples in each compared window
    min_window: int = 3
    wake_s: float = 5.0        # after each wake, a camera frame must be dreamt within this (awake, unfrozen)
    status_gap_s: float = 5.0  # the status file (rewritten every second) may go this long unchanged
    stop_s: float = 15.0       # from SIGTERM to the app's orderly return

    def warmup_s(self, duration_s: float) -> float:
        """Warm-up: the larger of `min_warmup_s` and `warmup_fraction` of the run, at most half of it."""
        return min(max(self.min_warmup_s, self.warmup_fraction * duration_s), duration_s / 2)


@dataclass
class Verdict:
    passed: bool
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Growth:
    before: float
    after: float

    @property
    def change(self) -> float:
        return self.after - self.before

    @property
    def ratio(self) -> float:
        return self.after / self.before - 1 if self.before > 0 else 0.0


def _growth(samples: Sequence[Sample], value: Callable[[Sample], float | None], window: int) -> _Growth | None:
    """Median of the first `window` samples vs median of the last `window` (None without data)."""
    values = [value(s) for s in samples]
    known = [v for v in values if v is not None]
    if len(known) != len(values) or len(known) < 2 * window:
        return None
    return _Growth(statistics.median(known[:window]), statistics.median(known[-window:]))


@dataclass(frozen=True)
class RunChecks:
    """What the soak watched besides the samples; None: not watched in this run.

    wakes / expected_wakes: every wake-up seen and how many the opening hours had to make;
    panel: the panel visitor's tally; status_gap_s: the longest time the status file went
    unchanged; stop_s: from SIGTERM to the app's return (None: not sent, the app had ended);
    recovered: outages after which the camera delivered again (counted across
    every capture of the run; None: the last sample's reconnect count stands for it).
    """

    wakes: Sequence[Wake] | None = None
    expected_wakes: int | None = None
    panel: PanelReport | None = None
    status_gap_s: float | None = None
    stop_s: float | None = None
    recovered: int | None = None


def judge(
    samples: Sequence[Sample],
    limits: SoakLimits,
    duration_s: float,
    longest_stall_s: float,
    exit_code: int = 0,
    expected_reconnects: int | None = None,
    osc_malformed: int | None = None,
    osc_ignored: int | None = None,
    preset_changes: int | None = None,
    checks: RunChecks | None = None,
) -> Verdict:
    """PASS or FAIL from the samples, with a readable line per failure.

    expected_reconnects: outages that ended early enough that the source must be back
    from each of them by the last sample. osc_malformed / osc_ignored: malformed OSC
    messages sent and counted as dropped by the app: every one must have been dropped.
    preset_changes: changes seen between samples (at least one expected). None: not checked.
    checks: wakes, the panel, the status file and the stop (RunChecks).
    """
    checks = checks or RunChecks()
    verdict = Verdict(passed=True)
    warmup = limits.warmup_s(duration_s)
    after = [s for s in samples if s.t >= warmup]
    window = max(limits.min_window, round(len(after) * limits.window_fraction))
    verdict.figures.update(samples=len(samples), warmup_s=round(warmup, 1), window=window,
                           longest_stall_s=round(longest_stall_s, 2),
                           max_stall_s=round(limits.max_stall_s, 2))  # fmt: skip
    if exit_code != 0:
        verdict.failures.append(f"the app exited with code {exit_code} (expected 0)")
    if not samples:
        verdict.failures.append("no samples were taken")
    _judge_memory(verdict, after, window, warmup, limits)
    _judge_counts(verdict, after, window, limits)
    _judge_liveness(verdict, samples, longest_stall_s, limits.max_stall_s, expected_reconnects, checks.recovered)
    _judge_run(verdict, checks, limits)
    if osc_malformed and osc_ignored is not None:
        _judge_osc(verdict, osc_malformed, osc_ignored)
    if preset_changes is not None:
        verdict.figures["preset_changes"] = preset_changes
        if preset_changes == 0 and len(samples) > 1:
            verdict.failures.append("the preset never changed although the desk kept sending /dreamwall/next")
    if samples and samples[-1].errors:
        verdict.notes.append(f"{samples[-1].errors} error(s) reported by the app (see the log)")
    verdict.passed = not verdict.failures
    return verdict


def _judge_memory(verdict: Verdict, after: Sequence[Sample], window: int, warmup: float, limits: SoakLimits) -> None:
    rss = _growth(after, lambda s: s.rss_mb, window)
    if rss is None:
        verdict.notes.append(f"memory not judged: {len(after)} samples after the {warmup:.0f} s warm-up, "
                             f"need {2 * window} with RSS")  # fmt: skip
        return
    verdict.figures.update(rss_before_mb=round(rss.before, 1), rss_after_mb=round(rss.after, 1),
                           rss_growth_pct=round(100 * rss.ratio, 2))  # fmt: skip
    if rss.ratio > limits.rss_growth:
        verdict.failures.append(f"memory grew {100 * rss.ratio:.1f}% after warm-up ({rss.before:.1f} -> "
                                f"{rss.after:.1f} MB RSS, limit {100 * limits.rss_growth:g}%)")  # fmt: skip


def _judge_counts(verdict: Verdict, after: Sequence[Sample], window: int, limits: SoakLimits) -> None:
    counted: tuple[tuple[str, str, Callable[[Sample], float | None], int], ...] = (
        ("thread count", "thread_growth", lambda s: s.threads, limits.thread_growth),
        ("open file descriptors", "fd_growth", lambda s: s.fds, limits.fd_growth),
    )
    for name, key, value, limit in counted:
        growth = _growth(after, value, window)
        if growth is None:
            verdict.notes.append(f"{name} not judged (too few samples or not available here)")
            continue
        verdict.figures[key] = growth.change
        if growth.change > limit:
            verdict.failures.append(f"{name} kept growing after warm-up: {growth.before:g} -> {growth.after:g} "
                                    f"(limit +{limit})")  # fmt: skip


def _judge_liveness(verdict: Verdict, samples: Sequence[Sample], longest_stall_s: float, max_stall_s: float,
                    expected_reconnects: int | None, recovered: int | None = None) -> None:  # fmt: skip
    """Threads alive while awake, no long stall, and the source back from every outage that ended."""
    dead = [(s.t, name) for s in samples for name in s.missing]
    if dead:
        names = sorted({name for _, name in dead})
        verdict.failures.append(f"app thread(s) not alive while awake: {', '.join(names)} "
                                f"(first seen at {dead[0][0]:.0f} s)")  # fmt: skip
    if longest_stall_s > max_stall_s:
        verdict.failures.append(f"no new dream for {longest_stall_s:.1f} s (allowed {max_stall_s:.1f} s: "
                                f"the simulated outage plus reconnect time)")  # fmt: skip
    if expected_reconnects is not None and samples:
        reconnects = recovered if recovered is not None else samples[-1].reconnects
        verdict.figures.update(reconnects=reconnects, expected_reconnects=expected_reconnects)
        if reconnects < expected_reconnects:
            verdict.failures.append(
                f"the source came back from {reconnects} of {expected_reconnects} simulated outages"
            )


def _judge_run(verdict: Verdict, checks: RunChecks, limits: SoakLimits) -> None:
    """Wakes bring the camera back, the panel behaves, the status file keeps being written, SIGTERM stops."""
    if checks.wakes is not None:
        wakes = judge_wakes(checks.wakes, limits.wake_s, checks.expected_wakes)
        verdict.failures += wakes.failures
        verdict.notes += wakes.notes
        verdict.figures.update(wakes.figures, wake_limit_s=limits.wake_s)
    if checks.panel is not None:
        panel = judge_panel(checks.panel)
        verdict.failures += panel.failures
        verdict.figures.update(panel.figures)
    if checks.status_gap_s is not None:
        verdict.figures["longest_status_gap_s"] = round(checks.status_gap_s, 2)
        if checks.status_gap_s > limits.status_gap_s:
            verdict.failures.append(f"the status file was not rewritten for {checks.status_gap_s:.1f} s "
                                    f"(allowed {limits.status_gap_s:g} s: a hung hot reload or housekeeping?)")
    if checks.stop_s is not None:
        verdict.figures["stop_s"] = round(checks.stop_s, 2)
        if checks.stop_s > limits.stop_s:
            verdict.failures.append(f"the show took {checks.stop_s:.1f} s to stop after SIGTERM "
                                    f"(allowed {limits.stop_s:g} s)")  # fmt: skip


def _judge_osc(verdict: Verdict, malformed: int, ignored: int) -> None:
    """Every malformed message must be dropped (the README promises all), not just some."""
    verdict.figures.update(osc_malformed_sent=malformed, osc_ignored=ignored)
    if ignored == 0:
        verdict.failures.append(f"the app dropped none of the {malformed} malformed OSC messages: "
                                f"the OSC traffic never arrived")  # fmt: skip
    elif ignored < malformed:
        verdict.failures.append(f"the app dropped {ignored} of the {malformed} malformed OSC messages: "
                                f"{malformed - ignored} were accepted or never arrived")  # fmt: skip


COLUMNS = (("t s", 7), ("RSS MB", 8), ("threads", 8), ("fds", 5), ("dream fps", 10), ("dreamed", 8),
           ("reconn", 7), ("errors", 7), ("source", 13), ("preset", 12))  # fmt: skip


def table_header() -> str:
    return " ".join(f"{name:>{width}}" for name, width in COLUMNS)


def table_row(sample: Sample) -> str:
    rss = f"{sample.rss_mb:.1f}" if sample.rss_mb is not None else "-"
    fds = str(sample.fds) if sample.fds is not None else "-"
    cells = (f"{sample.t:.0f}", rss, str(sample.threads), fds, f"{sample.dream_fps:.1f}", str(sample.dreamed),
             str(sample.reconnects), str(sample.errors), sample.source_state, sample.preset[:12])  # fmt: skip
    row = " ".join(f"{cell:>{width}}" for cell, (_, width) in zip(cells, COLUMNS, strict=True))
    return row + (f"  DEAD: {', '.join(sample.missing)}" if sample.missing else "")


def verdict_text(verdict: Verdict) -> str:
    lines = [f"soak: {'PASS' if verdict.passed else 'FAIL'}"]
    lines += [f"  FAIL: {line}" for line in verdict.failures]
    lines += [f"  note: {line}" for line in verdict.notes]
    lines += [f"  {key}: {value}" for key, value in verdict.figures.items()]
    return "\n".join(lines)


def report_json(samples: Sequence[Sample], verdict: Verdict, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "verdict": "PASS" if verdict.passed else "FAIL",
        "failures": verdict.failures,
        "notes": verdict.notes,
        "figures": verdict.figures,
        **extra,
        "samples": [asdict(s) for s in samples],
    }
