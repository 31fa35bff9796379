"""systemd's notify protocol (READY, STATUS, WATCHDOG) without libsystemd, plus the watchdog rule.

The protocol is one datagram of `KEY=value` lines sent to the socket named in
$NOTIFY_SOCKET (a path, or '@name' for an abstract socket). Without $NOTIFY_SOCKET
(not started by systemd: a terminal, tests, a soak run) every call is a no-op.

The watchdog rule, for a render loop that keeps running while the dream engine hangs:

- The render loop calls `heartbeat(dream_seq)` every display frame (any rate works)
  with the sequence number of the newest dreamed frame.
- Progress is "dream_seq changed". A ping (WATCHDOG=1) is sent at most every
  `ping_interval` (half of WatchdogSec, as sd_watchdog_enabled(3) advises) and ONLY
  while the last progress is at most `stall_limit` old (default: WatchdogSec).
- So an engine that delivers at least one frame per WatchdogSec is never killed, however
  slow it is; an engine that stops delivering stops the pings after `stall_limit`, and
  systemd kills and restarts the process at most WatchdogSec later (restart within
  2 x WatchdogSec of the hang). A hung render loop stops calling heartbeat: no pings.
- `heartbeat(seq, idle=True)` marks a pause on purpose (schedule sleep, freeze, blackout
  with the engine stopped): the render loop being alive is then enough, and the stall
  clock restarts when dreaming resumes.
- systemd arms the watchdog only after READY=1, so long start-ups (model load, a
  TensorRT engine build) are bounded by TimeoutStartSec, not by the watchdog.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

Clock = Callable[[], float]


def notify_address(env: Mapping[str, str]) -> str | bytes | None:
    """The socket address from $NOTIFY_SOCKET: a path, or bytes for an abstract socket ('@x')."""
    name = env.get("NOTIFY_SOCKET", "")
    if not name:
        return None
    if name.startswith("@"):
        return b"\0" + name[1:].encode()
    if name.startswith("/"):
        return name
    log.warning("NOTIFY_SOCKET=%r is neither a path nor an abstract '@' socket; not notifying systemd", name)
    return None


def watchdog_seconds(env: Mapping[str, str], pid: int | None = None) -> float | None:
    """WatchdogSec in seconds from $WATCHDOG_USEC, or None when no watchdog is meant for this process.

    $WATCHDOG_PID, when set, names the process the watchdog is for (a child that
    inherited the environment must not ping for its parent).
    """
    usec = env.get("WATCHDOG_USEC", "")
    if not usec:
        return None
    owner = env.get("WATCHDOG_PID", "")
    if owner and owner != str(os.getpid() if pid is None else pid):
        return None
    try:
        value = int(usec)
    except ValueError:
        log.warning("WATCHDOG_USEC=%r is not a whole number of microseconds; watchdog ignored", usec)
        return None
    if value <= 0:
        log.warning("WATCHDOG_USEC=%r is not positive; watchdog ignored", usec)
        return None
    return value / 1_000_000


class Notifier:
    """Talks to systemd for the whole process; thread-safe; never raises on send failures."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        clock: Clock = time.monotonic,
        stall_limit: float | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self._address = notify_address(env)
        self.watchdog_timeout = watchdog_seconds(env) if self._address is not None else None
        # Pinging at half the timeout leaves a whole half for a late display frame.
        self.ping_interval = self.watchdog_timeout / 2 if self.watchdog_timeout else None
        self.stall_limit = stall_limit if stall_limit is not None else self.watchdog_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._send_failed = False
        self._last_seq: int | None = None
        self._last_progress = 0.0
        self._last_ping: float | None = None
        self._stalled = False

    @property
    def enabled(self) -> bool:
        """True when started by systemd with a notify socket."""
        return self._address is not None

    def send(self, **fields: str | int) -> bool:
        """Send one datagram of KEY=value lines; False when disabled or the send failed."""
        if self._address is None:
            return False
        text = "\n".join(f"{key}={str(value).replace(chr(10), ' ')}" for key, value in fields.items())
        with self._lock:
            try:
                if self._socket is None:
                    self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                    # Non-blocking: a busy service manager (full socket queue) must never stall the
                    # render loop; a dropped ping is repeated half a timeout later.
                    self._socket.setblocking(False)
                self._socket.sendto(text.encode(), self._address)
            except BlockingIOError:
                log.debug("systemd's notify queue is full; %s dropped", text.split("=", 1)[0])
                return False
            except OSError as error:
                if not self._send_failed:  # once: a vanished socket must not flood the journal
                    log.warning("could not notify systemd at %r: %s", self._address, error)
                self._send_failed = True
                return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """The first dream frame is on screen: systemd marks the unit started and arms the watchdog."""
        self._last_progress = self._clock()
        fields: dict[str, str | int] = {"READY": 1}
        if status is not None:
            fields["STATUS"] = status
        return self.send(**fields)

    def status(self, text: str) -> bool:
        """One line shown by `systemctl --user status dreamwall` (fps, preset)."""
        return self.send(STATUS=text)

    def stopping(self) -> bool:
        return self.send(STOPPING=1)

    def watchdog(self) -> bool:
        """An unconditional ping; the render loop should call heartbeat() instead."""
        sent = self.send(WATCHDOG=1)
        if sent:  # a dropped ping is retried on the next heartbeat
            self._last_ping = self._clock()
        return sent

    def heartbeat(self, dream_seq: int, idle: bool = False) -> bool:
        """Called by the render loop each frame; pings only while dreams really advance (see module doc).

        Returns True when a ping was sent by this call.
        """
        if self.ping_interval is None or self.stall_limit is None:
            return False
        now = self._clock()
        if idle or dream_seq != self._last_seq:
            self._last_seq = dream_seq
            self._last_progress = now
        stalled_for = now - self._last_progress
        if stalled_for > self.stall_limit:
            if not self._stalled:
                log.error(
                    "dream frame %d has not advanced for %.1f s (limit %.1f s): withholding watchdog pings "
                    "so systemd restarts the installation",
                    dream_seq, stalled_for, self.stall_limit,
                )
                self._stalled = True
            return False
        if self._stalled:
            log.warning("dream frames advance again; watchdog pings resume")
            self._stalled = False
        if self._last_ping is not None and now - self._last_ping < self.ping_interval:
            return False
        return self.watchdog()

    def close(self) -> None:
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None


def status_line(preset: str, dream_fps: float, display_fps: float, extra: str = "") -> str:
    """The STATUS text: short enough for `systemctl status`, the same shape everywhere."""
    line = f"preset {preset} | dream {dream_fps:.1f} fps | display {display_fps:.1f} fps"
    return f"{line} | {extra}" if extra else line
