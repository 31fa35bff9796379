"""The MIDI output the pad lights go to: chosen like the input, hot-plug aware, never fatal.

The port is the first output whose name matches a case-insensitive regex (without
one: the first that is not ALSA's "Midi Through"). Everything runs on the caller's
thread (the show's tick) and is paced by an injected clock: while connected the port
names are listed every `rescan_interval` s, so an unplugged controller is noticed;
a vanished port (gone from the list, or a send that fails) is one notice, then
retries with a backoff that doubles from `backoff[0]` to `backoff[1]` s until it is
back. No MIDI backend on this machine: one warning, and the lights stay dark.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from installation.controls.lights import Address
from installation.controls.midi import choose_port, compile_pattern, open_mido

log = logging.getLogger(__name__)

SEND_ERRORS = (OSError, RuntimeError, ValueError)  # what rtmidi raises for a port that went away


class OutPort(Protocol):
    def send(self, message: Any) -> None: ...

    def close(self) -> None: ...


class MidiOutBackend(Protocol):
    """What mido.Backend offers for outputs and tests imitate."""

    def get_output_names(self) -> list[str]: ...

    def open_output(self, name: str) -> OutPort: ...


def mido_output_backend() -> MidiOutBackend:
    """mido on python-rtmidi; ImportError or OSError when this machine has no usable MIDI."""
    return open_mido(lambda backend: backend.get_output_names())


def message(address: Address, value: int) -> Any:
    """The mido message that sets one light: note_on with the velocity, or a CC with the value."""
    import mido

    if address.kind == "note":
        return mido.Message("note_on", channel=address.channel - 1, note=address.number, velocity=value)
    return mido.Message("control_change", channel=address.channel - 1, control=address.number, value=value)


class MidiOutput:
    """One output port for the lights; `poll()` (every tick) keeps it open, `send()` never raises."""

    def __init__(
        self,
        pattern: str | None,
        notify: Callable[[str], None],
        *,
        backend: MidiOutBackend | None = None,
        backend_factory: Callable[[], MidiOutBackend] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rescan_interval: float = 2.0,
        backoff: tuple[float, float] = (1.0, 16.0),
    ) -> None:
        self._pattern_text = pattern or ""
        self._pattern = compile_pattern(pattern)
        self._notify = notify
        self._backend = backend
        self._backend_factory = backend_factory
        self._clock = clock
        self._rescan = rescan_interval
        self._backoff = backoff
        self._delay = backoff[0]
        self._next_check: float | None = None  # None: check now
        self._port: OutPort | None = None
        self._port_name: str | None = None
        self._unavailable = False
        self._warned_missing = False
        self._lost_once = False

    @property
    def connected(self) -> str | None:
        return self._port_name

    def poll(self) -> bool:
        """At most once per interval: notice a vanished port, open a matching one; True when one was opened."""
        now = self._clock()
        if self._unavailable or (self._next_check is not None and now < self._next_check):
            return False
        backend = self._backend or self._open_backend()
        if backend is None:
            return False
        try:
            names = list(backend.get_output_names())
        except SEND_ERRORS as error:
            log.debug("listing MIDI outputs failed: %s", error)
            return self._retry_later(now)
        if self._port is not None:
            if self._port_name in names:
                self._next_check = now + self._rescan
                return False
            self._lose(f"MIDI lights: '{self._port_name}' is gone; will retry")
        return self._connect(backend, names, now)

    def _open_backend(self) -> MidiOutBackend | None:
        try:
            self._backend = (self._backend_factory or mido_output_backend)()
        except (ImportError, OSError) as error:
            log.warning("MIDI unavailable: %s; the pad lights stay dark", str(error).strip() or error)
            self._unavailable = True
            return None
        return self._backend

    def _connect(self, backend: MidiOutBackend, names: list[str], now: float) -> bool:
        name = choose_port(names, self._pattern)
        if name is None:
            if not self._warned_missing:
                wanted = f"matching '{self._pattern_text}'" if self._pattern_text else "found"
                log.warning("no MIDI output %s for the pad lights (available: %s); will keep looking", wanted,
                            ", ".join(names) or "none")  # fmt: skip
                self._warned_missing = True
            return self._retry_later(now)
        try:
            self._port = backend.open_output(name)
        except SEND_ERRORS as error:
            log.warning("opening MIDI output '%s' failed: %s; will retry", name, error)
            return self._retry_later(now)
        self._port_name = name
        if self._lost_once:
            self._notify(f"MIDI lights: reconnected to '{name}'")
        else:
            log.info("MIDI lights on '%s'", name)
        self._warned_missing = False
        self._delay = self._backoff[0]
        self._next_check = now + self._rescan
        return True

    def _retry_later(self, now: float) -> bool:
        self._next_check = now + self._delay
        self._delay = min(self._delay * 2, self._backoff[1])
        return False

    def _lose(self, notice: str) -> None:
        """One notice per loss; the next try comes after the shortest backoff."""
        self._notify(notice)
        self._lost_once = True
        self._close_port()
        self._delay = self._backoff[0]
        self._retry_later(self._clock())

    def send(self, address: Address, value: int) -> bool:
        """False when there is no port or it just vanished (then it is closed and retried later)."""
        if self._port is None:
            return False
        try:
            self._port.send(message(address, value))
        except SEND_ERRORS as error:
            self._lose(f"MIDI lights: sending to '{self._port_name}' failed ({error}); will retry")
            return False
        return True

    def _close_port(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except SEND_ERRORS as error:  # gone already: closing is best effort
                log.debug("closing MIDI output: %s", error)
        self._port = None
        self._port_name = None

    def close(self) -> None:
        """Idempotent."""
        self._close_port()
