"""The worker's view of the camera: a capture that can be released (sleep) and replaced (wake).

While no capture is attached a waiting worker blocks on a condition that `attach`
notifies (design rule 6: no sleep-polling), so a woken show gets frames at once.
"""

from __future__ import annotations

import threading

from installation.sources.capture import Capture, Frame


class SwitchableFeed:
    """Hands the worker the newest frame of whichever capture is attached now."""

    def __init__(self, capture: Capture | None) -> None:
        self._capture = capture
        self._attached = threading.Condition()

    @property
    def capture(self) -> Capture | None:
        """The attached capture; None while asleep."""
        return self._capture

    def attach(self, capture: Capture) -> None:
        """Wake: waiters blocked for want of a capture return and ask the new one."""
        with self._attached:
            self._capture = capture
            self._attached.notify_all()

    def detach(self) -> Capture | None:
        """Sleep: the caller closes what it gets back (closing wakes the capture's own waiters)."""
        with self._attached:
            capture, self._capture = self._capture, None
        return capture

    def wait_newer(self, after_seq: int, timeout: float | None = None) -> Frame | None:
        """As Capture.wait_newer; None when the timeout passed or a capture was just attached (ask again)."""
        with self._attached:
            capture = self._capture
            if capture is None:
                self._attached.wait_for(lambda: self._capture is not None, timeout)
                return None
        return capture.wait_newer(after_seq, timeout)
