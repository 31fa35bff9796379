"""`live --ndi [NAME]`: the shown frame as an NDI source ("Dreamwall") for a mixer, OBS or TouchDesigner.

The show's thread only hands the frame over (`offer`: a reference into a newest-wins slot,
no copy, no conversion); the NDI thread converts it to RGBX and sends it, at the output
size, one NDI frame per shown frame. A sender slower than the show never slows the dream:
frames it had no time for are overwritten and counted as dropped (status file, `ndi`).
ndi-python's send releases the GIL (installation.common.ndi), so the conversion and the
SDK's compression run beside the dream instead of between its frames.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from engine.errors import DreamwallError, excerpt
from installation.common.ndi import runtime
from installation.common.rates import Clock, RateMeter, RollingMean
from installation.sources.capture import NewestSlot

log = logging.getLogger(__name__)

DEFAULT_NAME = "Dreamwall"
NAME_ENV = "DREAMWALL_NDI"
MAX_NAME = 63
NICENESS = 10
"""The NDI thread yields the CPU to the dream (Linux: a thread has its own nice value): where cores are short,
NDI drops frames (counted) instead of the dream slowing down. On a GPU machine the CPU has room for both."""
WAIT_S = 0.5  # the thread's longest wait for a frame before it looks at the stop flag and the receivers again
SEND_ERRORS = (RuntimeError, ValueError, TypeError, OSError)


def ndi_name(text: str) -> str:
    """A sender name as NDI shows it after the host name: printable, without the brackets NDI puts around it."""
    name = text.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable() or any(c in name for c in "()"):
        raise DreamwallError(f"NDI name {excerpt(text)!r}: expected 1-{MAX_NAME} printable characters without "
                             "brackets, e.g. --ndi Dreamwall")  # fmt: skip
    return name


@dataclass(frozen=True)
class NdiOutStats:
    """What the status file says about the NDI output."""

    name: str  # as receivers list it: 'HOST (Dreamwall)'
    state: str  # sending | off
    sent: int
    dropped: int  # shown frames overwritten before the NDI thread took them
    connections: int  # receivers connected now
    fps: float
    send_ms: float | None  # conversion + send, mean of the last 60 frames
    last_error: str | None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "sent": self.sent, "dropped": self.dropped,
                "connections": self.connections, "fps": round(self.fps, 2),
                "send_ms": round(self.send_ms, 2) if self.send_ms is not None else None,
                "last_error": self.last_error}  # fmt: skip


class NdiOutput:
    """One NDI sender fed from the show; `open` raises NdiUnavailable when NDI is not installed."""

    def __init__(self, ndi: Any, sender: Any, name: str, clock: Clock = time.monotonic) -> None:
        self._ndi = ndi
        self._sender: Any = sender
        self.name = name
        self._clock = clock
        self._slot: NewestSlot[tuple[int, np.ndarray]] = NewestSlot()
        self._offered = RateMeter(clock=clock)
        self._sent = RateMeter(clock=clock)
        self._cost = RollingMean()
        self._video = ndi.VideoFrameV2()
        self._video.FourCC = ndi.FOURCC_VIDEO_TYPE_RGBX
        self._video.timecode = ndi.SEND_TIMECODE_SYNTHESIZE
        self._rgbx: np.ndarray | None = None
        self._connections = 0
        self._last_error: str | None = None
        self._stop = threading.Event()
        self._closed = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="ndi-out", daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, name: str = DEFAULT_NAME, clock: Clock = time.monotonic) -> NdiOutput:
        ndi = runtime()
        settings = ndi.SendCreate()
        settings.ndi_name = ndi_name(name)
        settings.clock_video = False  # the show is the clock: one NDI frame per shown frame, never waited for
        sender = ndi.send_create(settings)
        if sender is None:
            raise DreamwallError(f"NDI out: the NDI runtime could not make a sender named {name!r}")
        source = ndi.send_get_source_name(sender)
        full = source.ndi_name if source is not None and source.ndi_name else name
        log.info("NDI out: sending the shown frame as '%s'", full)
        return cls(ndi, sender, full, clock=clock)

    # ---- the show's side --------------------------------------------------------------------

    def offer(self, frame: np.ndarray) -> None:
        """A shown frame (RGB uint8 HWC, not changed afterwards): the newest one wins."""
        if self._sender is None:
            return
        self._offered.tick()
        self._slot.publish(lambda seq: (seq, frame))

    def stats(self) -> NdiOutStats:
        return NdiOutStats(name=self.name, state="sending" if self._sender is not None else "off",
                           sent=self._sent.count, dropped=self._slot.dropped, connections=self._connections,
                           fps=self._sent.rate(), send_ms=self._cost.mean(), last_error=self._last_error)  # fmt: skip

    def close(self) -> None:
        """Idempotent; the receivers see the source go."""
        if not self._closed.acquire(blocking=False):
            return
        self._stop.set()
        self._slot.wake_all()
        self._thread.join(5.0)
        sender, self._sender = self._sender, None
        if sender is not None:
            self._ndi.send_destroy(sender)

    # ---- the NDI thread ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
        except (AttributeError, OSError) as error:  # not Linux, or not allowed: NDI shares the CPU evenly
            log.debug("NDI out: thread priority unchanged (%s)", error)
        seq = 0
        while not self._stop.is_set():
            item = self._slot.wait_newer(seq, timeout=WAIT_S)
            sender = self._sender
            if sender is None:
                return
            self._connections = self._ndi.send_get_no_connections(sender, 0)
            if item is None:
                continue
            seq, frame = item
            started = self._clock()
            try:
                self._send(sender, frame)
            except SEND_ERRORS as error:
                self._last_error = f"{error.__class__.__name__}: {error}"
                log.warning("NDI out off: sending failed (%s); the show goes on", self._last_error)
                self._sender = None
                self._ndi.send_destroy(sender)
                return
            self._cost.add((self._clock() - started) * 1000.0)
            self._sent.tick()

    def _send(self, sender: Any, frame: np.ndarray) -> None:
        height, width = frame.shape[:2]
        if self._rgbx is None or self._rgbx.shape[:2] != (height, width):
            self._rgbx = np.empty((height, width, 4), np.uint8)
        cv2.cvtColor(frame, cv2.COLOR_RGB2RGBA, dst=self._rgbx)  # alpha 255: NDI's RGBX
        video = self._video
        video.data = self._rgbx  # also the size and line stride
        video.frame_rate_N, video.frame_rate_D = max(1, round(self._offered.rate())), 1
        self._ndi.send_send_video_v2(sender, video)  # synchronous: the buffer is free again when it returns
