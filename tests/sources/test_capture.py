"""Capture: newest frame wins, reconnect after failures, idempotent close; sources and the demo."""

from __future__ import annotations

import itertools
import logging
import threading
import time
import tracemalloc

import cv2
import numpy as np
import pytest

from engine.errors import DreamwallError
from installation.common.rates import Pacer, RateMeter
from installation.sources.cameras.source import CameraSource
from installation.sources.capture import Backoff, Capture, NewestSlot
from installation.sources.demo import DemoSource
from installation.sources.openers import FrameSource, OpenCVSource, camera_available, open_source
from installation.testing.waiting import wait_until

FAST = Backoff(first=0.001, cap=0.01)


class SyntheticCamera:
    """Frames whose first pixel is a counter; fails where `fail` says, at up to `fps` frames/s."""

    description = "synthetic camera"

    def __init__(self, fps: float = 1000.0, fail_reads: range = range(0), fail_opens: int = 0) -> None:
        self.fps = fps
        self.fail_reads = fail_reads
        self.fail_opens = fail_opens
        self.reads = 0
        self.opens = 0
        self.closes = 0
        self.lock = threading.Lock()

    def open(self) -> None:
        self.opens += 1
        if self.opens <= self.fail_opens:
            raise ConnectionError("unplugged")

    def read(self) -> np.ndarray | None:
        time.sleep(1.0 / self.fps)
        self.reads += 1
        if self.reads in self.fail_reads:
            return None if self.reads % 2 else _raise(OSError("device gone"))
        image = np.zeros((4, 4, 3), np.uint8)
        image[0, 0] = self.reads % 256
        return image

    def close(self) -> None:
        self.closes += 1


def _raise(error: Exception) -> np.ndarray:
    raise error


def test_synthetic_camera_satisfies_the_read_hook() -> None:
    assert isinstance(SyntheticCamera(), FrameSource)
    assert isinstance(DemoSource(), FrameSource)


def test_slot_keeps_only_the_newest_and_counts_what_nobody_took() -> None:
    slot: NewestSlot[str] = NewestSlot()
    for name in ("a", "b", "c"):
        slot.publish(lambda seq, name=name: f"{name}{seq}")
    assert slot.dropped == 2
    assert slot.wait_newer(0, timeout=0.01) == "c3"
    assert slot.wait_newer(3, timeout=0.01) is None
    slot.publish(lambda seq: f"d{seq}")
    assert slot.dropped == 2  # "c3" was taken, so replacing it drops nothing


class RecordingCondition(threading.Condition):
    """A Condition that says when a waiter blocks and whether each wait ended by a notify."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked = threading.Event()
        self.waits: list[tuple[float | None, bool]] = []  # (timeout asked, woken by notify)

    def wait(self, timeout: float | None = None) -> bool:
        self.blocked.set()
        notified = super().wait(timeout)
        self.waits.append((timeout, notified))
        return notified


def test_waiter_wakes_on_publish_without_polling() -> None:
    slot: NewestSlot[int] = NewestSlot()
    condition = RecordingCondition()
    slot._condition = condition  # the slot's one synchronisation point, observed
    got: list[int | None] = []
    waiter = threading.Thread(target=lambda: got.append(slot.wait_newer(0, timeout=5.0)))
    waiter.start()
    assert condition.blocked.wait(5.0)  # the waiter is parked in the condition before anything is published
    slot.publish(lambda seq: seq * 10)
    waiter.join(5.0)
    assert got == [10]
    # One wait for the whole timeout, ended by publish's notify: a sleep loop or short timed waits fail here.
    assert condition.waits == [(5.0, True)]


def test_newest_frame_wins_under_a_slow_consumer() -> None:
    camera = SyntheticCamera(fps=500)
    seen: list[int] = []
    with Capture(camera) as capture:
        last = 0
        while len(seen) < 8:
            frame = capture.wait_newer(last, timeout=2.0)
            assert frame is not None
            seen.append(frame.seq)
            last = frame.seq
            time.sleep(0.02)  # a dreamer much slower than the camera
    health = capture.health()
    assert seen == sorted(set(seen))
    assert max(b - a for a, b in itertools.pairwise(seen)) > 1  # stale frames skipped
    assert health.dropped > 0
    # every published frame was either taken once or dropped (the last may be neither)
    assert health.frames - health.dropped - len(seen) in (0, 1)


def test_reconnects_after_a_source_that_fails_then_recovers(caplog: pytest.LogCaptureFixture) -> None:
    camera = SyntheticCamera(fail_reads=range(5, 15), fail_opens=0)
    with caplog.at_level(logging.INFO, logger="installation.sources.capture"), Capture(camera, backoff=FAST) as capture:
        assert wait_until(lambda: camera.reads > 30 and capture.health().state == "ok")
        frame = capture.wait_newer(0, timeout=1.0)
        health = capture.health()
    assert frame is not None
    assert health.reconnects == 1
    assert health.last_error is not None and ("no frame" in health.last_error or "device gone" in health.last_error)
    assert camera.opens > 1  # the source was closed and reopened
    failures = [r for r in caplog.records if r.levelno == logging.WARNING and "failed" in r.getMessage()]
    assert len(failures) == 1  # logged once, not once per attempt
    assert any("is back" in r.getMessage() for r in caplog.records)


def test_reconnects_when_open_fails_at_first() -> None:
    camera = SyntheticCamera(fail_opens=4)
    with Capture(camera, backoff=FAST) as capture:
        frame = capture.wait_newer(0, timeout=5.0)
        assert frame is not None
        assert capture.health().state == "ok"
    assert camera.opens == 5


def test_reports_reconnecting_while_the_camera_is_away() -> None:
    camera = SyntheticCamera(fail_reads=range(3, 10**9))
    with Capture(camera, backoff=FAST) as capture:
        assert wait_until(lambda: capture.health().state == "reconnecting")
        assert "device gone" in (capture.health().last_error or "") or "no frame" in (capture.health().last_error or "")


def test_gives_up_only_when_asked() -> None:
    camera = SyntheticCamera(fail_opens=10**9)
    capture = Capture(camera, backoff=FAST, max_failures=3).start()
    assert wait_until(lambda: capture.health().state == "failed")
    assert camera.opens == 3
    capture.close()
    assert capture.health().state == "failed"


def test_an_unexpected_error_in_the_loop_is_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = Capture(SyntheticCamera(), backoff=FAST)
    original = capture._publish
    calls = {"n": 0}

    def flaky_publish(image: np.ndarray) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("bug")
        original(image)

    monkeypatch.setattr(capture, "_publish", flaky_publish)
    with caplog.at_level(logging.ERROR, logger="installation.sources.capture"), capture:
        assert wait_until(lambda: capture.health().frames >= 5)
    assert any("unexpected error" in r.getMessage() for r in caplog.records)


def test_close_is_idempotent_and_releases_the_source() -> None:
    camera = SyntheticCamera()
    capture = Capture(camera).start()
    assert capture.wait_newer(0, timeout=2.0) is not None
    capture.close()
    capture.close()
    assert camera.closes == 1
    assert capture.health().state == "closed"
    assert not capture._thread.is_alive()  # type: ignore[union-attr]
    Capture(SyntheticCamera()).close()  # never started: nothing to join


def test_close_wakes_a_waiting_consumer() -> None:
    capture = Capture(SyntheticCamera(fail_opens=10**9), backoff=FAST).start()
    result: list[object] = []
    waiter = threading.Thread(target=lambda: result.append(capture.wait_newer(0, timeout=10.0)))
    waiter.start()
    time.sleep(0.05)
    started = time.monotonic()
    capture.close()
    waiter.join(5.0)
    assert result == [None]
    assert time.monotonic() - started < 5.0


def test_backoff_doubles_and_is_capped_so_a_camera_resumes_quickly() -> None:
    backoff = Backoff()
    delays = [backoff.delay(n) for n in range(1, 20)]
    assert delays == sorted(delays)
    assert delays[0] == pytest.approx(0.1)
    assert max(delays) == pytest.approx(2.0)


# -- sources ---------------------------------------------------------------------


def test_open_source_parses_each_kind() -> None:
    assert isinstance(open_source("demo"), DemoSource)
    camera = open_source("1")
    assert isinstance(camera, CameraSource)
    assert camera.description == "camera 1"
    by_id = "/dev/v4l/by-id/usb-cam-video-index0"
    assert open_source(by_id).description == f"camera {by_id}"
    assert open_source("name:C920").description == "camera 'C920'"
    stream = open_source("rtsp://example.org/live")
    assert isinstance(stream, OpenCVSource) and stream.description.startswith("stream")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("dmeo", "unknown source 'dmeo' (did you mean 'demo'?)"),
        ("missing/clip.mp4", "video file not found: missing/clip.mp4"),
        ("clip.mp4", "video file not found: clip.mp4"),
    ],
)
def test_open_source_rejects_what_cannot_work(spec: str, message: str) -> None:
    with pytest.raises(DreamwallError) as error:
        open_source(spec)
    assert str(error.value).startswith(message)


def test_gstreamer_needs_an_opencv_built_with_it() -> None:
    spec = "videotestsrc ! videoconvert ! appsink"
    if cv2.videoio_registry.hasBackend(cv2.CAP_GSTREAMER):
        assert open_source(spec).description.startswith("gstreamer")
    else:
        with pytest.raises(DreamwallError, match="no GStreamer support"):
            open_source(spec)


def test_video_file_loops_at_its_end(tmp_path: object) -> None:
    path = f"{tmp_path}/clip.avi"
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 200, (32, 24))
    levels = [20, 120, 220]
    for level in levels:
        writer.write(np.full((24, 32, 3), level, np.uint8))
    writer.release()
    source = open_source(path)
    source.open()
    try:
        means = [source.read() for _ in range(8)]
    finally:
        source.close()
        source.close()
    assert all(m is not None and m.shape == (24, 32, 3) for m in means)
    order = [int(np.argmin([abs(float(m.mean()) - level) for level in levels])) for m in means]  # type: ignore[union-attr]
    assert order == [0, 1, 2, 0, 1, 2, 0, 1]


def test_a_missing_camera_is_reported_unavailable() -> None:
    assert camera_available(63) is False


# -- demo source and rates ------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_demo_source_moves_like_a_camera_at_its_frame_rate() -> None:
    clock = FakeClock()
    demo = DemoSource(size=(64, 36), fps=25, hold=2.0, fade=0.5, clock=clock, sleep=clock.sleep)
    demo.open()
    frames = [demo.read() for _ in range(30)]
    demo.close()
    assert all(f is not None and f.shape == (36, 64, 3) and f.dtype == np.uint8 for f in frames)
    assert sum(clock.sleeps) == pytest.approx(29 / 25)  # paced by the clock, one interval per frame
    differences = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in itertools.pairwise(frames)]
    assert min(differences) > 0  # never a frozen picture


def test_a_closed_demo_source_lets_go_of_its_memory() -> None:
    """The soak keeps every source it made; each closed demo source kept its 5.7 MB noise bank, so every
    reconnect and every wake grew the process (+92 MB in 8 minutes) until the soak failed on memory."""
    kept = []
    tracemalloc.start()
    try:
        DemoSource(size=(320, 180)).open()  # the photographs are loaded once per process, then shared
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(4):  # four nights: a new source each morning, the old ones still referenced
            demo = DemoSource(size=(320, 180))
            demo.open()
            assert demo.read() is not None
            demo.close()
            kept.append(demo)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    bank = 4 * (180 + 16) * (320 + 16) * 3 * 2  # NOISE_FIELDS int16 fields, a margin wider than the frame
    assert held < bank / 4  # four closed sources hold less than a quarter of one bank
    with pytest.raises(ConnectionError):
        kept[0].read()


def test_demo_source_pans_and_changes_photographs() -> None:
    demo = DemoSource(size=(64, 36), hold=4.0, fade=1.0, noise=0.0)
    demo.open()
    start, later, next_photo = demo.frame_at(0.0), demo.frame_at(2.0), demo.frame_at(5.0)
    assert np.array_equal(start, demo.frame_at(0.0))  # a function of time
    pan = np.abs(start.astype(int) - later.astype(int)).mean()
    cut = np.abs(start.astype(int) - next_photo.astype(int)).mean()
    assert 0 < pan < cut


def test_rate_meter_measures_events_per_second() -> None:
    clock = FakeClock()
    meter = RateMeter(window=1.0, clock=clock)
    assert meter.rate() == 0.0
    for _ in range(50):
        meter.tick()
        clock.now += 0.05
    assert meter.rate() == pytest.approx(20.0)
    assert meter.count == 50


def test_pacer_restarts_instead_of_bursting_after_a_stall() -> None:
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)
    pacer.wait()
    clock.now += 1.0  # the reader stalled for ten intervals
    pacer.wait()
    pacer.wait()
    assert clock.sleeps == [pytest.approx(0.1)]
