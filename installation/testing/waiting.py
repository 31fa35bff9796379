"""Waiting for a running show in tests that drive real threads or processes: poll a condition until a deadline.

Unit tests use injected clocks and events; an end-to-end test of the real app (camera
threads, a browser, a web server) can only watch from outside, so it polls, briefly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], object], timeout: float = 20.0, interval: float = 0.01) -> bool:
    """True as soon as `condition()` is truthy; False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def wait_for(condition: Callable[[], T], what: str, timeout: float = 60.0, interval: float = 0.05) -> T:
    """The first truthy value of `condition()`; an AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
