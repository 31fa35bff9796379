"""The capture thread: the newest camera frame wins, and a lost camera comes back by itself.

A dreamer slower than the camera must never fall behind it, so there is no queue:
one slot holds the newest item, consumers block on a condition until something newer
than what they have seen arrives, and overwritten items are counted as dropped.
The thread never dies silently: read failures are logged once and retried with a
capped exponential backoff; anything unexpected is logged and the loop goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

import numpy as np

from installation.common.rates import Clock, RateMeter
from installation.sources.openers import FrameSource
from installation.sources.orientation import AS_DELIVERED, Orientation

logger = logging.getLogger(__name__)

T = TypeVar("T")

HealthState = Literal["starting", "ok", "reconnecting", "failed", "closed"]


@dataclass(frozen=True)
class Frame:
    """One camera frame: RGB uint8 HWC, its sequence number (process-wide, increasing) and monotonic time."""

    image: np.ndarray
    seq: int
    timestamp: float


class SequenceNumbers:
    """Hands out increasing numbers to every slot that shares it, from any thread.

    Frames are identified by these numbers, and a consumer asks for "newer than the one I
    had": a capture that counted from 1 again (after sleep and wake, a source switch, a
    replug) would look older than the frames the consumer already dreamt and be ignored for
    as long as the old capture had run. All captures of a process therefore number their
    frames from one counter, so a restart of any source only ever moves forward.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> int:
        with self._lock:
            self._last += 1
            return self._last


FRAME_NUMBERS = SequenceNumbers()
"""The one numbering of camera frames in this process (see SequenceNumbers)."""


class NewestSlot(Generic[T]):
    """Holds only the newest item; items overwritten before anyone took them count as dropped.

    `numbers` is where sequence numbers come from: the slot's own count from 1 by default,
    or a SequenceNumbers shared with other slots so that a successor's items are newer.
    """

    def __init__(self, numbers: SequenceNumbers | None = None) -> None:
        self._condition = threading.Condition()
        self._numbers = numbers or SequenceNumbers()
        self._item: T | None = None
        self._seq = 0
        self._published = 0
        self._taken = True
        self._dropped = 0

    def publish(self, make: Callable[[int], T]) -> T:
        """Store `make(seq)` under the next sequence number and wake every waiter."""
        with self._condition:
            if not self._taken:
                self._dropped += 1
            self._seq = self._numbers.next()
            self._published += 1
            item = make(self._seq)
            self._item = item
            self._taken = False
            self._condition.notify_all()
        return item

    def latest(self) -> T | None:
        """The newest item without waiting (None before the first)."""
        with self._condition:
            self._taken = self._taken or self._item is not None
            return self._item

    def wait_newer(self, after_seq: int, timeout: float | None = None) -> T | None:
        """Block until an item with seq > after_seq exists; None on timeout or `wake_all`."""
        with self._condition:
            if self._seq <= after_seq:
                self._condition.wait(timeout)
            if self._seq <= after_seq or self._item is None:
                return None
            self._taken = True
            return self._item

    def wake_all(self) -> None:
        """Release every waiter (they get None), e.g. when shutting down."""
        with self._condition:
            self._condition.notify_all()

    @property
    def seq(self) -> int:
        """The newest item's sequence number (0 before the first)."""
        with self._condition:
            return self._seq

    @property
    def published(self) -> int:
        """How many items this slot has held."""
        with self._condition:
            return self._published

    @property
    def dropped(self) -> int:
        with self._condition:
            return self._dropped


@dataclass(frozen=True)
class CaptureHealth:
    """What the HUD and the status file show about the source."""

    state: HealthState
    source: str
    fps: float
    frames: int
    dropped: int
    reconnects: int
    last_error: str | None


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: `first`, doubling, never above `cap` (so a returning camera is back within cap + open time)."""

    first: float = 0.1
    cap: float = 2.0

    def delay(self, attempt: int) -> float:
        return min(self.cap, self.first * 2 ** max(0, attempt - 1))


class Capture:
    """Reads a FrameSource on its own thread into a newest-frame-wins slot.

    `max_failures` (None = retry for ever, right for an installation) turns a source
    that never comes back into the `failed` state and ends the thread, for one-shot runs.
    `orientation` (mirror, rotation) is applied here, once, to every frame before it is
    published: everything downstream sees the turned frame.
    """

    def __init__(
        self,
        source: FrameSource,
        backoff: Backoff = Backoff(),
        max_failures: int | None = None,
        clock: Clock = time.monotonic,
        join_timeout: float = 2.0,
        numbers: SequenceNumbers = FRAME_NUMBERS,
        orientation: Orientation = AS_DELIVERED,
    ) -> None:
        self.source = source
        self.orientation = orientation
        self._backoff = backoff
        self._max_failures = max_failures
        self._clock = clock
        self._join_timeout = join_timeout
        self._slot: NewestSlot[Frame] = NewestSlot(numbers)
        self._rate = RateMeter(clock=clock)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._state: HealthState = "starting"
        self._last_error: str | None = None
        self._reconnects = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        # owned by the capture thread only
        self._opened = False
        self._failures = 0
        self._lost_since = 0.0

    # -- consumer side -------------------------------------------------------------

    def wait_newer(self, after_seq: int, timeout: float | None = None) -> Frame | None:
        """The newest frame once its seq exceeds `after_seq`; None on timeout or close."""
        return self._slot.wait_newer(after_seq, timeout)

    def latest(self) -> Frame | None:
        return self._slot.latest()

    def health(self) -> CaptureHealth:
        with self._lock:
            state, error, reconnects = self._state, self._last_error, self._reconnects
        return CaptureHealth(
            state=state,
            source=self.source.description,
            fps=self._rate.rate(),
            frames=self._slot.published,
            dropped=self._slot.dropped,
            reconnects=reconnects,
            last_error=error,
        )

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> Capture:
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the thread and release the source; safe to call any number of times."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        self._slot.wake_all()
        if self._thread is not None:
            self._thread.join(self._join_timeout)
            if self._thread.is_alive():
                # stuck in a driver read: releasing the device is the only way to unblock it
                logger.warning("capture thread of %s did not stop within %.1f s; releasing the source",
                               self.source.description, self._join_timeout)
                self._close_source()
        if self.health().state != "failed":
            self._set_state("closed")

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the thread ----------------------------------------------------------------

    def _set_state(self, state: HealthState, error: str | None = None) -> None:
        with self._lock:
            self._state = state
            if error is not None:
                self._last_error = error

    def _close_source(self) -> None:
        try:
            self.source.close()
        except Exception as error:  # noqa: BLE001 - a driver failing to release must not stop the shutdown
            logger.warning("closing %s failed: %s", self.source.description, error)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception:  # a bug here must not end capture silently: log it, breathe, go on
                logger.exception("unexpected error in the capture loop of %s", self.source.description)
                self._stop.wait(self._backoff.cap)
        if self._opened:
            self._opened = False
            self._close_source()

    def _step(self) -> None:
        """Read one frame, or handle one failure (close, log once, back off)."""
        try:
            if not self._opened:
                self.source.open()
                self._opened = True
            image = self.source.read()
            if image is None:
                raise ConnectionError("no frame")
        except Exception as error:  # noqa: BLE001 - any source failure means: reconnect with backoff
            self._failed(error)
            return
        if self._failures:
            with self._lock:
                self._reconnects += 1
            logger.info("source %s is back after %d attempts (%.1f s)", self.source.description, self._failures,
                        self._clock() - self._lost_since)
            self._failures = 0
        self._set_state("ok")
        self._publish(image)

    def _failed(self, error: Exception) -> None:
        self._failures += 1
        reason = f"{error.__class__.__name__}: {error}" if str(error) else error.__class__.__name__
        if self._failures == 1:
            self._lost_since = self._clock()
            logger.warning("source %s failed (%s); reconnecting with backoff", self.source.description, reason)
        else:
            logger.debug("source %s still failing (attempt %d): %s", self.source.description, self._failures, reason)
        if self._opened:
            self._opened = False
            self._close_source()
        if self._max_failures is not None and self._failures >= self._max_failures:
            logger.error("source %s gave up after %d attempts: %s", self.source.description, self._failures, reason)
            self._set_state("failed", reason)
            self._stop.set()
            self._slot.wake_all()
            return
        self._set_state("reconnecting", reason)
        self._stop.wait(self._backoff.delay(self._failures))

    def _publish(self, image: np.ndarray) -> None:
        now = self._clock()
        if not self.orientation.identity:
            image = self.orientation.apply(image)
        self._slot.publish(lambda seq: Frame(image=image, seq=seq, timestamp=now))
        self._rate.tick()
