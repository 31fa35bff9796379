"""SwitchableFeed: a worker waiting while asleep is woken by attach, not by a polling timeout."""

import threading

import numpy as np

from installation.sources.capture import Capture
from installation.sources.demo import DemoSource
from installation.sources.feed import SwitchableFeed

NEVER = 3600.0  # a polling feed would sleep through this; only a notification ends the wait in time


def test_a_waiter_without_capture_returns_when_a_capture_is_attached():
    feed = SwitchableFeed(None)
    entered, results = threading.Event(), []

    def worker():
        entered.set()
        results.append(feed.wait_newer(0, timeout=NEVER))

    waiter = threading.Thread(target=worker, daemon=True)
    waiter.start()
    assert entered.wait(5.0)
    capture = Capture(DemoSource(size=(32, 18), fps=30.0)).start()
    try:
        feed.attach(capture)
        waiter.join(10.0)
        assert not waiter.is_alive(), "attach did not wake the waiter"
        # None: woken to ask again (or, had attach come first, already a frame of the new capture)
        assert results[0] is None or results[0].seq > 0
        frame = feed.wait_newer(0, timeout=10.0)
        assert frame is not None and isinstance(frame.image, np.ndarray)
    finally:
        capture.close()


def test_without_capture_the_timeout_is_kept():
    assert SwitchableFeed(None).wait_newer(0, timeout=0.0) is None


def test_detach_hands_back_the_capture_and_leaves_the_feed_empty():
    capture = Capture(DemoSource(size=(32, 18), fps=30.0))
    feed = SwitchableFeed(capture)
    assert feed.detach() is capture
    assert feed.capture is None and feed.detach() is None
