"""The wake check on synthetic polls: each wake must reach a dream of a camera frame taken after it."""

import pytest

from installation.soak.judge import RunChecks, SoakLimits, judge
from installation.soak.wakes import DreamSeen, Wake, WakeWatch, judge_wakes

LIMIT = 5.0
POLL = 0.25


def watch_day(dream_after_wake, close_at=40.0, wake_at=60.0, until=80.0, frozen=lambda t: False):
    """Polls of one compressed day: awake, asleep at `close_at`, awake at `wake_at`.

    dream_after_wake(t) gives the newest dream at poll t after the wake (None: nothing new).
    Before the night the camera is dreamt continuously.
    """
    watch = WakeWatch()
    t = 0.0
    while t <= until:
        asleep = close_at <= t < wake_at
        if t < close_at:
            dream = DreamSeen("camera", t - 0.1, t)
        elif asleep:
            dream = DreamSeen("camera", close_at - 0.1, close_at)  # the last dream stays the newest
        else:
            dream = dream_after_wake(t)
        watch.update(t, asleep, frozen(t), dream, "asleep" if asleep else "ok")
        t += POLL
    return watch.finish(t)


def test_the_camera_back_a_moment_after_the_wake_passes():
    wakes = watch_day(lambda t: DreamSeen("camera", t - 0.05, t) if t >= 60.5 else None)
    (wake,) = wakes
    assert wake.ended == "camera" and wake.at == pytest.approx(59.75)  # the last poll that saw it asleep
    assert wake.camera_after_s == pytest.approx(0.75)
    judged = judge_wakes(wakes, LIMIT, expected=1)
    assert judged.failures == [] and judged.figures["wakes_judged"] == 1


def test_the_issue_20_wake_without_camera_fails():
    """Status 'ok', but the worker ignores the new capture: it evolves the old dream (source-lost)."""
    old = DreamSeen("camera", 39.9, 40.0)

    def dreams(t):
        return DreamSeen("source-lost", old.source_t, t) if t >= 61.0 else old

    judged = judge_wakes(watch_day(dreams), LIMIT)
    (failure,) = judged.failures
    assert failure.startswith("after the wake at 60 s: no camera frame dreamt in ")
    assert "(limit 5 s); the worker dreamt 'source-lost' while the source said 'ok'" in failure


def test_a_camera_dream_of_a_frame_from_before_the_night_does_not_count():
    """Mode 'camera' is not enough: the frame itself must be newer than the wake."""
    judged = judge_wakes(watch_day(lambda t: DreamSeen("camera", 39.9, t)), LIMIT)
    assert len(judged.failures) == 1 and "no camera frame dreamt" in judged.failures[0]


def test_a_slow_return_fails_with_its_delay():
    wakes = watch_day(lambda t: DreamSeen("camera", t - 0.05, t) if t >= 68.0 else None)
    judged = judge_wakes(wakes, LIMIT)
    assert judged.failures[0].startswith("after the wake at 60 s: first camera dream after 8.2 s (limit 5 s)")


def test_time_frozen_after_a_wake_does_not_count():
    """A freeze from the panel right after the wake: no dreams on purpose, then the camera at once."""
    wakes = watch_day(lambda t: DreamSeen("camera", t - 0.05, t) if t >= 68.0 else None,
                      frozen=lambda t: 60.0 <= t < 67.75)
    (wake,) = wakes
    assert wake.frozen_s == pytest.approx(7.75)
    assert judge_wakes(wakes, LIMIT).failures == []


def test_wakes_cut_short_are_noted_not_failed_and_missing_wakes_fail():
    short = [Wake(at=10.0, camera_after_s=None, awake_s=2.0, frozen_s=0.0, ended="asleep"),
             Wake(at=20.0, camera_after_s=None, awake_s=1.0, frozen_s=0.0, ended="end")]
    judged = judge_wakes(short, LIMIT, expected=3)
    assert judged.notes == ["2 wake(s) ended (asleep again or the soak's end) before 5 s: not judged"]
    assert judged.failures == ["the show woke 2 time(s), the opening hours should have woken it 3 time(s)"]


def test_the_soak_verdict_carries_the_wake_failure():
    wakes = watch_day(lambda t: DreamSeen("source-lost", 39.9, t))
    verdict = judge([], SoakLimits(max_stall_s=9.0), 80.0, 0.0, checks=RunChecks(wakes=wakes, expected_wakes=1))
    assert not verdict.passed
    assert any(line.startswith("after the wake at 60 s") for line in verdict.failures)
    assert verdict.figures["wakes"] == 1 and verdict.figures["wake_limit_s"] == LIMIT


def test_a_capture_closed_by_a_sleep_after_the_snapshot_is_not_a_dead_thread(monkeypatch):
    """The snapshot said awake, then the show fell asleep (closing its capture) before the threads were
    listed: the short soak in make test failed on that race ('capture not alive while awake')."""
    import threading
    from types import SimpleNamespace

    from installation.soak import sampler as sampling

    snapshot = {"asleep": False, "frozen": False, "fps": {"dream": 5.0}, "frames": {"dreamed": 10},
                "source": {"reconnects": 0, "state": "ok"}, "errors": 0, "preset": "default"}
    monkeypatch.setattr(sampling, "missing_threads", lambda: ("capture",))
    app = SimpleNamespace(asleep=True, worker=None, snapshot=lambda: snapshot)
    watcher = sampling.Sampler(app, 1.0, 1.0, threading.Event(), None, lambda: None)
    watcher._record(1.0, snapshot)
    app.asleep = False  # awake at both reads: a missing capture thread is a fault
    watcher._record(2.0, snapshot)
    assert [sample.missing for sample in watcher.samples] == [(), ("capture",)]
