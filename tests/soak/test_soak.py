"""The soak verdict on synthetic samples (fast), and a real 2-minute soak of the installation (slow)."""

import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from installation.soak.desk import settled_count
from installation.soak.judge import RunChecks, Sample, SoakLimits, StallMeter, judge, missing_threads, read_process

ROOT = Path(__file__).resolve().parents[2]
DURATION = 120.0
LIMITS = SoakLimits(max_stall_s=9.0)


def flat_samples(duration=DURATION, every=3.0, rss=1000.0, threads=14, fds=11):
    samples = []
    t = 0.0
    while t <= duration:
        dreamed = int(t * 20)
        samples.append(Sample(t=t, rss_mb=rss, threads=threads, fds=fds, dream_fps=20.0, dreamed=dreamed,
                              reconnects=int(t // 40), errors=0, preset="default", source_state="ok"))
        t += every
    return samples


def changed(samples, after_t, **fields):
    """Samples with `fields` changed from time `after_t` on; callables get the sample."""
    return [replace(s, **{k: (v(s) if callable(v) else v) for k, v in fields.items()}) if s.t >= after_t else s
            for s in samples]


def test_flat_run_passes_and_reports_the_figures():
    verdict = judge(flat_samples(), LIMITS, DURATION, longest_stall_s=3.2, expected_reconnects=2)
    assert verdict.passed, verdict.failures
    assert verdict.figures["rss_growth_pct"] == 0.0
    assert verdict.figures["warmup_s"] == 30.0  # the larger of 30 s and 20 % of two minutes


def test_memory_growing_after_warm_up_fails_naming_the_growth():
    samples = changed(flat_samples(), 30.0, rss_mb=lambda s: 1000.0 + (s.t - 30.0) * 1.5)  # +1.5 MB/s
    verdict = judge(samples, LIMITS, DURATION, longest_stall_s=0.0)
    assert not verdict.passed
    (failure,) = verdict.failures
    assert failure.startswith("memory grew ") and "after warm-up" in failure and "limit 5%" in failure
    growth = verdict.figures["rss_growth_pct"]
    assert growth > 5.0 and f"{growth:.1f}%" in failure


def test_growth_inside_warm_up_and_single_spikes_do_not_fail():
    samples = changed(flat_samples(), 0.0, rss_mb=lambda s: 500.0 + 20.0 * s.t if s.t < 30.0 else 1100.0)
    spiky = [replace(s, rss_mb=1500.0) if i % 7 == 0 and s.t >= 30.0 else s for i, s in enumerate(samples)]
    assert judge(spiky, LIMITS, DURATION, longest_stall_s=0.0).passed


@pytest.mark.parametrize("growth", [0.03, 0.049])
def test_growth_below_the_limit_passes(growth):
    samples = changed(flat_samples(), 30.0, rss_mb=lambda s: 1000.0 * (1 + growth * (s.t - 30.0) / 90.0))
    verdict = judge(samples, LIMITS, DURATION, longest_stall_s=0.0)
    assert verdict.passed, verdict.failures


@pytest.mark.parametrize(("field", "name"), [("threads", "thread count"), ("fds", "open file descriptors")])
def test_threads_or_descriptors_that_keep_growing_fail(field, name):
    samples = changed(flat_samples(), 30.0, **{field: lambda s: 14 + int((s.t - 30.0) // 10)})
    verdict = judge(samples, LIMITS, DURATION, longest_stall_s=0.0)
    assert not verdict.passed
    assert any(line.startswith(f"{name} kept growing") for line in verdict.failures), verdict.failures


def test_a_dead_app_thread_fails_but_not_while_asleep():
    samples = flat_samples()
    dead = changed(samples, 60.0, missing=("dream",))
    verdict = judge(dead, LIMITS, DURATION, longest_stall_s=0.0)
    assert verdict.failures == ["app thread(s) not alive while awake: dream (first seen at 60 s)"]


def test_a_stall_longer_than_the_outages_fails():
    verdict = judge(flat_samples(), LIMITS, DURATION, longest_stall_s=12.5)
    assert verdict.failures == ["no new dream for 12.5 s (allowed 9.0 s: the simulated outage plus reconnect time)"]


def test_missing_reconnects_osc_and_preset_changes_are_named():
    verdict = judge(flat_samples(), LIMITS, DURATION, longest_stall_s=0.0, expected_reconnects=4,
                    osc_malformed=30, osc_ignored=0, preset_changes=0, exit_code=1)
    assert verdict.failures == [
        "the app exited with code 1 (expected 0)",
        "the source came back from 3 of 4 simulated outages",  # the last sample counted 3
        "the app dropped none of the 30 malformed OSC messages: the OSC traffic never arrived",
        "the preset never changed although the desk kept sending /dreamwall/next",
    ]


def test_one_malformed_osc_message_accepted_fails():
    verdict = judge(flat_samples(), LIMITS, DURATION, longest_stall_s=0.0, osc_malformed=30, osc_ignored=29)
    assert not verdict.passed
    assert verdict.failures == [
        "the app dropped 29 of the 30 malformed OSC messages: 1 were accepted or never arrived"
    ]
    assert verdict.figures["osc_malformed_sent"] == 30 and verdict.figures["osc_ignored"] == 29


def test_every_malformed_osc_message_dropped_passes():
    verdict = judge(flat_samples(), LIMITS, DURATION, longest_stall_s=0.0, osc_malformed=30, osc_ignored=30)
    assert verdict.passed and verdict.failures == []


def test_a_frozen_status_file_and_a_slow_stop_fail():
    """A hung hot reload stops the status file's rewrites; SIGTERM that does not stop the show."""
    verdict = judge(flat_samples(), LIMITS, DURATION, longest_stall_s=0.0,
                    checks=RunChecks(status_gap_s=42.0, stop_s=61.0))
    assert verdict.failures == [
        "the status file was not rewritten for 42.0 s (allowed 5 s: a hung hot reload or housekeeping?)",
        "the show took 61.0 s to stop after SIGTERM (allowed 15 s)",
    ]
    fine = judge(flat_samples(), LIMITS, DURATION, longest_stall_s=0.0, checks=RunChecks(status_gap_s=1.1, stop_s=0.6))
    assert fine.passed and fine.figures["stop_s"] == 0.6 and fine.figures["longest_status_gap_s"] == 1.1


def test_reconnects_are_counted_across_captures_when_given():
    """After sleep and wake each capture counts from 0: the camera's recoveries of the whole run stand instead."""
    verdict = judge(flat_samples(), LIMITS, DURATION, longest_stall_s=0.0, expected_reconnects=4,
                    checks=RunChecks(recovered=4))
    assert verdict.passed and verdict.figures["reconnects"] == 4


def test_settled_count_waits_for_the_last_datagrams_and_gives_up_at_the_deadline():
    counts = iter([3, 5, 8, 9])
    assert settled_count(lambda: next(counts), expected=8, step_s=0.0) == 8
    assert settled_count(lambda: 2, expected=8, timeout_s=0.0) == 2


def test_too_short_a_run_is_not_judged_on_memory():
    verdict = judge(flat_samples(duration=6.0), LIMITS, 6.0, longest_stall_s=0.0)
    assert verdict.passed and any(note.startswith("memory not judged") for note in verdict.notes)


def test_stall_meter_measures_the_longest_gap_and_ignores_sleep():
    meter = StallMeter()
    counts = [(0.0, 1), (1.0, 2), (2.0, 2), (4.5, 2), (5.0, 3), (6.0, 3)]
    for t, dreamed in counts:
        meter.update(t, dreamed)
    assert meter.longest_s == pytest.approx(3.5) and meter.longest_at == pytest.approx(1.0)
    for t in (10.0, 30.0, 60.0):  # a closed gallery dreams nothing, on purpose
        meter.update(t, 3, asleep=True)
    assert meter.longest_s == pytest.approx(3.5)
    meter.update(61.0, 3)
    meter.update(66.0, 3)
    assert meter.longest_s == pytest.approx(6.0)  # nothing new since the last poll that saw it asleep: a stall


def test_process_figures_follow_open_files_and_threads(tmp_path):
    before = read_process()
    assert before.rss_mb is not None and before.rss_mb > 1.0 and before.threads >= 1
    files = [(tmp_path / f"f{i}").open("w") for i in range(5)]
    release = threading.Event()
    thread = threading.Thread(target=release.wait, name="soak-test-probe", daemon=True)
    assert missing_threads(("soak-test-probe",)) == ("soak-test-probe",)
    thread.start()
    try:
        during = read_process()
        assert during.fds == before.fds + 5
        assert during.threads >= before.threads + 1
        assert missing_threads(("soak-test-probe",)) == ()
    finally:
        release.set()
        thread.join()
        for handle in files:
            handle.close()


@pytest.mark.slow
def test_a_short_soak_of_the_real_installation_passes():
    """`run.py soak` for 42 s with 20 s days: outages, two wakes by the real schedule, OSC and panel traffic."""
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    result = subprocess.run(
        [sys.executable, "run.py", "soak", "--minutes", "0.7", "--json", "--process-size", "64x36", "--day", "20",
         "--outage", "1", "--sample-every", "1", "--panel-every", "0.5"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    report = json.loads(result.stdout)
    assert result.returncode == 0, (report["failures"], result.stderr[-3000:])
    assert report["verdict"] == "PASS" and report["failures"] == []
    figures = report["figures"]
    assert "rss_growth_pct" in figures, report["notes"]  # memory was really judged
    assert figures["reconnects"] >= figures["expected_reconnects"] >= 1 and report["faults"]["captures"] >= 3
    assert figures["wakes"] >= 2 and figures["wakes_judged"] >= 1 and figures["slowest_wake_camera_s"] <= 5.0
    assert figures["panel_refused"] >= 10 and figures["panel_stream_frames"] >= 1
    assert figures["longest_status_gap_s"] < 5.0 and figures["stop_s"] < 15.0  # ended by SIGTERM, in time
    assert figures["preset_changes"] >= 5 and report["osc"]["ignored"] >= report["osc"]["malformed"] > 0
    assert len(report["samples"]) >= 30
    assert "Traceback" not in result.stderr
