"""systemd notify protocol against a real datagram socket, and the watchdog rule with an injected clock."""

from __future__ import annotations

import itertools
import os
import socket
import uuid

import pytest

from installation.ops.sd_notify import Notifier, notify_address, status_line, watchdog_seconds
from installation.testing.clocks import HandClock


@pytest.fixture
def listener(tmp_path):
    """A bound AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    yield str(path), sock
    sock.close()


def received(sock: socket.socket) -> list[dict[str, str]]:
    """Every datagram waiting on the socket, parsed into KEY=value dicts."""
    sock.setblocking(False)
    messages = []
    try:
        while True:
            data = sock.recv(4096)
            messages.append(dict(line.split("=", 1) for line in data.decode().split("\n")))
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(2)
    return messages


def test_ready_and_status_arrive_as_key_value_datagrams(listener):
    path, sock = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready(status="first frame")
    assert notifier.status("preset deep\nwith newline")
    notifier.close()
    messages = received(sock)
    assert messages == [{"READY": "1", "STATUS": "first frame"}, {"STATUS": "preset deep with newline"}]


def test_abstract_socket_address():
    name = f"dreamwall-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(2)
    try:
        assert notify_address({"NOTIFY_SOCKET": f"@{name}"}) == b"\0" + name.encode()
        notifier = Notifier({"NOTIFY_SOCKET": f"@{name}"})
        assert notifier.send(STATUS="abstract")
        assert sock.recv(4096) == b"STATUS=abstract"
        notifier.close()
    finally:
        sock.close()


def test_without_notify_socket_everything_is_a_no_op():
    notifier = Notifier({}, clock=HandClock(1000.0))
    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.status("x")
    assert not notifier.heartbeat(1)
    assert notifier.watchdog_timeout is None


def test_vanished_socket_does_not_raise(tmp_path):
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.enabled
    assert not notifier.ready()
    assert not notifier.status("still fine")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "500000", "WATCHDOG_PID": str(os.getpid())}, 0.5),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({}, None),
    ],
)
def test_watchdog_usec_parsing(env, expected):
    assert watchdog_seconds(env) == expected


class RenderLoop:
    """The render loop as the watchdog sees it: heartbeat every display frame, systemd reading pings."""

    def __init__(self, sock: socket.socket, watchdog_usec: int) -> None:
        self.sock = sock
        self.clock = HandClock(1000.0)
        self.notifier = Notifier(
            {"NOTIFY_SOCKET": sock.getsockname(), "WATCHDOG_USEC": str(watchdog_usec)}, clock=self.clock
        )
        self.notifier.ready()
        received(sock)
        self.seq = 0
        self.ping_times: list[float] = [self.clock.now]

    def run(self, seconds: float, frame_every: float | None, idle: bool = False, display_fps: float = 30.0) -> int:
        """Run the loop; the dream seq advances every `frame_every` s (None: hung). Returns pings seen."""
        next_frame = self.clock.now + frame_every if frame_every else None
        before = len(self.ping_times)
        for _ in range(round(seconds * display_fps)):
            self.clock.now += 1.0 / display_fps
            if next_frame is not None and self.clock.now >= next_frame:
                self.seq += 1
                next_frame += frame_every
            self.notifier.heartbeat(self.seq, idle=idle)
            self.ping_times += [self.clock.now for m in received(self.sock) if m.get("WATCHDOG") == "1"]
        return len(self.ping_times) - before

    def longest_silence(self) -> float:
        """The longest time systemd went without WATCHDOG=1, up to now."""
        times = [*self.ping_times, self.clock.now]
        return max(b - a for a, b in itertools.pairwise(times))


def test_frozen_engine_stops_watchdog_pings(listener):
    _path, sock = listener
    loop = RenderLoop(sock, watchdog_usec=10_000_000)
    healthy = loop.run(20, frame_every=0.1)
    assert healthy >= 20 / loop.notifier.ping_interval - 1  # pinged every half timeout
    # The engine hangs: the render loop keeps running, the dream seq stays put.
    hung = loop.run(60, frame_every=None)
    assert hung <= loop.notifier.stall_limit / loop.notifier.ping_interval + 1
    assert loop.run(5, frame_every=None) == 0
    # systemd, reading the same socket, would have seen silence past WatchdogSec: it restarts us.
    assert loop.longest_silence() > loop.notifier.watchdog_timeout
    # Should the engine recover before systemd acts, pings resume on the next frame.
    assert loop.notifier.heartbeat(loop.seq + 1)


@pytest.mark.parametrize("frame_every", [0.05, 2.0, 9.0])
def test_slow_engine_is_never_starved_of_pings(listener, frame_every):
    """Anything that delivers at least one frame per WatchdogSec keeps systemd fed within the timeout."""
    _path, sock = listener
    loop = RenderLoop(sock, watchdog_usec=10_000_000)
    loop.run(60, frame_every=frame_every)
    assert loop.longest_silence() < loop.notifier.watchdog_timeout


def test_idle_on_purpose_keeps_pinging(listener):
    """Schedule sleep or freeze: no new dreams, but the render loop is alive, so no restart."""
    _path, sock = listener
    loop = RenderLoop(sock, watchdog_usec=2_000_000)
    assert loop.run(60, frame_every=None, idle=True) >= 60 / loop.notifier.ping_interval - 1
    assert loop.longest_silence() < loop.notifier.watchdog_timeout
    # Waking up restarts the stall clock: the first seconds after idle are not a hang.
    loop.run(1.5, frame_every=None)
    assert loop.longest_silence() < loop.notifier.watchdog_timeout


def test_full_notify_queue_never_blocks_the_render_loop(listener):
    """systemd busy: datagrams pile up unread; sends are dropped instead of stalling the caller."""
    path, sock = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    results = [notifier.status(f"frame {n}") for n in range(200)]  # far beyond the kernel's queue
    assert results[0]
    assert not all(results)
    assert received(sock)[0] == {"STATUS": "frame 0"}


def test_status_line_names_preset_and_rates():
    line = status_line("fur", 12.345, 60.0, "camera ok")
    assert line == "preset fur | dream 12.3 fps | display 60.0 fps | camera ok"
