"""The soak's show-control desk: OSC traffic on loopback, the good, the wrong and the not-OSC-at-all."""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

OSC_KNOB_HZ = 8.0
BAD_MESSAGES: tuple[tuple[str, Any], ...] = (
    ("/dreamwall/intensity", 2.5),      # out of range
    ("/dreamwall/intensity", "loud"),   # wrong type
    ("/dreamwall/nonsense", 1),         # unknown address
)


class OscDesk:
    """A show-control desk on loopback: a moving intensity knob, preset steps and some garbage."""

    def __init__(self, port: int, preset_s: float, stop: threading.Event, host: str = "127.0.0.1") -> None:
        from pythonosc.udp_client import SimpleUDPClient

        self._client = SimpleUDPClient(host, port)
        self._raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._target = (host, port)
        self._preset_s = preset_s
        self._stop = stop
        self.sent = 0
        self.malformed = 0  # messages the app's router must count as ignored
        self.garbage = 0    # datagrams that are not OSC at all (the router counts them too)
        self.thread = threading.Thread(target=self._run, name="soak-osc-desk", daemon=True)

    @property
    def to_drop(self) -> int:
        """Everything sent that the app must refuse: the malformed messages and the non-OSC datagrams."""
        return self.malformed + self.garbage

    def _send(self, address: str, value: Any) -> None:
        self._client.send_message(address, value)
        self.sent += 1

    def _run(self) -> None:
        started = time.monotonic()
        next_preset = started + self._preset_s
        tick = 0
        while not self._stop.wait(1.0 / OSC_KNOB_HZ):
            now = time.monotonic()
            tick += 1
            self._send("/dreamwall/intensity", 0.55 + 0.35 * math.sin(now - started))
            if now >= next_preset:
                next_preset += self._preset_s
                self._send("/dreamwall/next", 1)
            if tick % 16 == 0:  # about every 2 s: what a mis-configured desk sends
                for address, value in BAD_MESSAGES:
                    self._send(address, value)
                self.malformed += len(BAD_MESSAGES)
                self._raw.sendto(b"\x00not osc at all", self._target)
                self.garbage += 1

    def close(self) -> None:
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=2.0)
        self._raw.close()
        self._client._sock.close()  # python-osc offers no close(); the socket is its only resource


def settled_count(count: Callable[[], int], expected: int, timeout_s: float = 2.0, step_s: float = 0.05) -> int:
    """`count()` once it reaches `expected`, or its value after `timeout_s`.

    The desk has stopped, but its last datagrams may still sit in the server's socket:
    the judge must see the count after they were handled, not a burst short.
    """
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    value = count()
    while value < expected and time.monotonic() < deadline:
        pause.wait(step_s)
        value = count()
    return value
