"""No restart of a source can look older than what the show already dreamt (issue 20, point 1).

The worker asks its feed for "a frame newer than the last one I dreamt". A capture that
numbered its frames from 1 again (after sleep and wake, a source switch, a replug) was
ignored until it had delivered as many frames as the old one: a show open for ten hours
dreamt without its camera for ten hours after its overnight sleep. Each path runs the real
app on a camera that counts its captures, so a dreamt frame tells which capture it came from.
"""

import threading
import time

import numpy as np
import pytest

from installation.controls.actions import Action
from installation.sources.capture import Capture, NewestSlot, SequenceNumbers
from installation.testing.waiting import wait_for


class CountedCamera:
    """A fast synthetic camera; every opened instance has its own generation number."""

    generations = 0

    def __init__(self, fps: float = 120.0):
        CountedCamera.generations += 1
        self.generation = CountedCamera.generations
        self.description = f"counted camera {self.generation}"
        self._period = 1.0 / fps
        self._next = 0.0

    def open(self):
        self._next = time.monotonic()

    def read(self):
        self._next += self._period
        delay = self._next - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return np.full((36, 64, 3), 40 * self.generation % 256, np.uint8)

    def close(self):
        pass


def _run_app(app):
    runner = threading.Thread(target=app.run, daemon=True)
    runner.start()
    return runner


def _dreamt_from(app, capture: Capture, after: float):
    """The newest dream made from one of `capture`'s frames (seen after `after`), else None."""
    dream = app.worker.latest()
    if dream is None or dream.mode != "camera" or dream.source_timestamp <= after:
        return None
    newest = capture.latest()
    return dream if newest is not None and dream.source_seq <= newest.seq else None


def _long_first_capture(app) -> int:
    """Let the first capture deliver many frames, as a show open all day does; its frame count."""
    first = app.capture
    wait_for(lambda: first.health().frames >= 240 and app.worker.health().frames > 3, "a long first capture",
             timeout=60)
    return first.health().frames


@pytest.mark.parametrize("restart", ["sleep-wake", "source-switch"])
def test_a_restarted_source_is_dreamt_at_once(presets_dir, tmp_path, make_app, restart):
    app = make_app(presets_dir, tmp_path, source="counted", seconds=300, out=None,
                   source_factory=lambda spec: CountedCamera())
    runner = _run_app(app)
    try:
        old_frames, first = _long_first_capture(app), app.capture
        restarted_at = time.monotonic()
        if restart == "sleep-wake":  # what the opening hours and the panel's sleep/wake post
            app.dispatcher.post(Action("sleep", source="schedule"))
            app.dispatcher.post(Action("wake", source="schedule"))
            wait_for(lambda: not app.asleep and app.capture not in (None, first), "the show to wake", timeout=10)
        else:  # a new capture attached in place of the running one
            app.feed.detach()
            app.feed.attach(Capture(CountedCamera()).start())
            first.close()
        new = app.capture
        wait_for(lambda: _dreamt_from(app, new, restarted_at), "a dream of the new capture's frames", timeout=30)
        # before the fix the new capture had to deliver more than `old_frames` frames before its first dream
        assert new.health().frames < old_frames / 2
        assert app.snapshot()["source"]["state"] == "ok"
    finally:
        app.stop()
        runner.join(30)


def test_a_replugged_camera_keeps_counting_forward():
    """A reconnect inside one capture and a new capture both only move the numbers forward."""
    numbers = SequenceNumbers()
    first = Capture(CountedCamera(), numbers=numbers).start()
    try:
        last = wait_for(lambda: (f := first.latest()) is not None and f.seq >= 20 and f, "frames")
    finally:
        first.close()
    second = Capture(CountedCamera(), numbers=numbers).start()
    try:
        frame = second.wait_newer(last.seq, timeout=10)
        assert frame is not None and frame.seq > last.seq
        assert second.health().frames <= 3  # its own count starts again: the HUD's number for this capture
    finally:
        second.close()


def test_slots_sharing_numbers_never_repeat_one():
    numbers = SequenceNumbers()
    slots = [NewestSlot(numbers), NewestSlot(numbers)]
    seen = [slots[i % 2].publish(lambda seq: seq) for i in range(10)]
    assert seen == sorted(set(seen)) and slots[0].published == slots[1].published == 5


def test_the_show_says_it_is_awake_only_once_its_camera_is_there(presets_dir, tmp_path, make_app):
    """The soak saw 'awake' with no capture thread: wake said so before it had opened the camera."""
    asleep_while_opening, show = [], {}

    def camera(spec):
        asleep_while_opening.append(show["app"].asleep if show else None)  # None: the app is being built
        return CountedCamera()

    app = show["app"] = make_app(presets_dir, tmp_path, source="counted", source_factory=camera)
    try:
        app.dispatcher.post(Action("sleep", source="schedule"))
        app.dispatcher.post(Action("wake", source="schedule"))
        app.dispatcher.drain()
        assert asleep_while_opening == [None, True]  # the first open, then the wake's: still asleep
        assert not app.asleep and app.capture is not None
    finally:
        app.close()
