"""OSC control over UDP (python-osc): show-control systems and tablets post the same actions as keys.

Listens on 127.0.0.1 by default: anyone who can reach the port can drive the show,
so binding to another address is the config's explicit choice and is logged.
Malformed messages (unknown address, wrong type, out of range, garbage) are logged
and dropped; nothing a sender does can stop the server thread.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from pythonosc.dispatcher import Dispatcher as OscDispatcher
from pythonosc.osc_packet import OscPacket
from pythonosc.osc_server import BlockingOSCUDPServer

from engine.beats import check_tempo
from engine.errors import DreamwallError
from installation.controls.actions import Dispatcher
from installation.controls.bindings import CONTINUOUS, Binding, Bindings, Smoother

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000
_MAX_DISTINCT_WARNINGS = 100  # after this, malformed traffic is logged at debug level only


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class OscRouter:
    """Turns one OSC message into at most one action (or a glide); knows nothing about sockets."""

    def __init__(self, dispatcher: Dispatcher, bindings: Bindings, smoother: Smoother,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self._dispatcher = dispatcher
        self._clock = clock  # stamps each action: a tap or a beat is timed on arrival, not when applied
        self._bindings = bindings
        self._smoother = smoother
        self._warned: set[tuple[str, str]] = set()
        self.ignored = 0  # malformed messages dropped: for the status file and tests

    def replace(self, bindings: Bindings) -> None:
        """Hot reload of the bindings table."""
        self._bindings = bindings

    def handle(self, address: str, *args: Any) -> None:
        try:
            problem = self._route(address, args)
        except DreamwallError as error:  # e.g. an Action value the vocabulary rejects
            problem = str(error)
        if problem is not None:
            self._reject(address, args, problem)

    def _route(self, address: str, args: tuple[Any, ...]) -> str | None:
        """Post the action; return why the message was dropped, or None."""
        binding = self._bindings.osc.get(address)
        if binding is None:
            return "unknown address"
        if binding.continuous:
            if len(args) != 1 or not _is_number(args[0]) or not 0.0 <= args[0] <= 1.0:
                return f"expected one float 0-1 for {binding.kind}"
            self._smoother.set(binding, float(args[0]), "osc")
            return None
        if binding.value is None and binding.kind in ("select", "intensity_step", "tempo", *CONTINUOUS):
            value, problem = self._value_from(binding, args)
            if problem is not None:
                return problem
            self._dispatcher.post(binding.action("osc", value, self._clock()))
            return None
        if binding.kind == "beat" and args and _is_number(args[0]) and args[0] >= 1:
            if not float(args[0]).is_integer():
                return "expected no argument, or the beat's place in the bar (1 = the downbeat)"
            self._dispatcher.post(binding.action("osc", int(args[0]), self._clock()))
            return None
        # A trigger: no argument, or a non-zero first one (buttons send 1 on press, 0 on release).
        if args and not _is_number(args[0]) and not isinstance(args[0], bool):
            return f"{binding.kind} takes no argument or a number (1 press, 0 release)"
        if args and not args[0]:
            return None  # a release: not an error
        self._dispatcher.post(binding.action("osc", at=self._clock()))
        return None

    @staticmethod
    def _value_from(binding: Binding, args: tuple[Any, ...]) -> tuple[float | int | str | None, str | None]:
        if len(args) != 1:
            return None, f"expected one argument for {binding.kind}, got {len(args)}"
        value = args[0]
        if binding.kind == "select":
            if isinstance(value, str) and value:
                return value, None
            if _is_number(value) and float(value).is_integer() and value >= 1:
                return int(value), None
            return None, "expected a preset number from 1 or a preset name"
        if binding.kind == "tempo":
            try:
                return check_tempo(value), None
            except DreamwallError as error:
                return None, str(error)
        low, high = CONTINUOUS.get(binding.kind, (-1.0, 1.0))
        if _is_number(value) and low <= value <= high:
            return float(value), None
        return None, f"expected a float {low:g}..{high:g} for {binding.kind}"

    def reject_packet(self, data: bytes, error: Exception) -> None:
        """A datagram that does not parse as OSC: counted and logged like a malformed message."""
        reason = str(error).splitlines()[0] if str(error) else ""
        problem = f"not an OSC packet ({type(error).__name__}{': ' + reason if reason else ''})"
        what = f"packet of {len(data)} bytes starting {data[:16]!r}"
        self._count(what, problem, key=("<packet>", type(error).__name__))

    def _reject(self, address: str, args: tuple[Any, ...], problem: str) -> None:
        self._count(f"{address} {list(args)!r}", problem, key=(address, problem))

    def _count(self, what: str, problem: str, key: tuple[str, str]) -> None:
        self.ignored += 1
        first = key not in self._warned and len(self._warned) < _MAX_DISTINCT_WARNINGS
        if first:
            self._warned.add(key)
        log.log(logging.WARNING if first else logging.DEBUG, "OSC %s ignored: %s", what, problem)


class _RouterDispatcher(OscDispatcher):
    """Parses each datagram itself so a packet python-osc cannot decode is one counted line, not a traceback.

    python-osc parses in the server thread and lets some failures through (invalid
    UTF-8 in an address is a UnicodeDecodeError, which socketserver prints in full);
    others (ParseError) it drops silently. Either way the router counts and logs it.
    """

    def __init__(self, router: OscRouter) -> None:
        super().__init__(strict_timing=False)  # a bundle time-tagged far ahead must not park the server thread
        self._router = router

    def call_handlers_for_packet(self, data: bytes, client_address: tuple[str, int]) -> list[Any]:
        try:
            messages = [timed.message for timed in OscPacket(data).messages]
        except Exception as error:  # noqa: BLE001 - python-osc raises ParseError, UnicodeDecodeError, struct.error...
            self._router.reject_packet(data, error)
            return []
        for message in messages:
            self._router.handle(message.address, *message.params)
        return []


class _Server(BlockingOSCUDPServer):
    def verify_request(self, request: Any, client_address: Any) -> bool:
        return True  # python-osc drops non-OSC datagrams silently here: let the dispatcher count them

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A last resort: one line (the traceback only with -v), never socketserver's dump on stderr."""
        log.error("OSC packet from %s dropped: unexpected error", client_address[0],
                  exc_info=log.isEnabledFor(logging.DEBUG))  # fmt: skip


class OscServer:
    """A running UDP server; `close()` stops it and frees the port (idempotent)."""

    def __init__(self, server: BlockingOSCUDPServer, router: OscRouter, own_smoother: Smoother | None) -> None:
        self._server = server
        self.router = router
        self._own_smoother = own_smoother
        self.host, self.port = server.server_address[:2]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="osc",
                                        daemon=True)
        self._thread.start()
        self._closed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)
        if self._own_smoother is not None:
            self._own_smoother.close()


def start_osc(
    dispatcher: Dispatcher,
    bindings: Bindings,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    smoother: Smoother | None = None,
) -> OscServer:
    """Listen for OSC on host:port (port 0: any free port, see .port); raises DreamwallError if taken.

    Pass the `smoother` MIDI uses so both glide one shared value; one made here is closed with the server.
    """
    own_smoother = None
    if smoother is None:
        smoother = own_smoother = Smoother(dispatcher)
    router = OscRouter(dispatcher, bindings, smoother)
    try:
        server = _Server((host, port), _RouterDispatcher(router))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise DreamwallError(
                f"OSC port {port} on {host} is already in use (another Dreamwall?); choose one with --osc-port"
            ) from None
        raise DreamwallError(f"cannot listen for OSC on {host}:{port}: {error.strerror or error}") from None
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("OSC listens on %s:%d: anyone on that network can control the installation", host, port)
    smoother.start()
    handle = OscServer(server, router, own_smoother)
    log.info("OSC listening on %s:%d", handle.host, handle.port)
    return handle

