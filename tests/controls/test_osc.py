"""OSC: real UDP packets on loopback become actions; malformed traffic is dropped, never fatal."""

from __future__ import annotations

import socket
import threading

import pytest
from pythonosc.udp_client import SimpleUDPClient

from engine.errors import DreamwallError
from installation.controls.actions import ACTION_KINDS, Action, Dispatcher
from installation.controls.bindings import load_bindings
from installation.controls.osc import OscRouter, start_osc


class Collector:
    """A dispatcher whose handlers record every action, and a way to wait for n of them."""

    def __init__(self) -> None:
        self.dispatcher = Dispatcher()
        self.actions: list[Action] = []
        for kind in ACTION_KINDS:
            self.dispatcher.on(kind, self.actions.append)

    def wait_for(self, count: int, timeout: float = 3.0) -> list[Action]:
        done = threading.Event()
        for _ in range(int(timeout / 0.01)):
            self.dispatcher.drain()
            if len(self.actions) >= count:
                break
            done.wait(0.01)
        return self.actions


@pytest.fixture(scope="module")
def bindings():
    return load_bindings()


@pytest.fixture
def running(bindings):
    collector = Collector()
    server = start_osc(collector.dispatcher, bindings, port=0)  # any free port
    client = SimpleUDPClient("127.0.0.1", server.port)
    yield collector, server, client
    server.close()


def test_real_packets_become_actions(running):
    collector, server, client = running
    assert server.host == "127.0.0.1"
    client.send_message("/dreamwall/next", [])
    client.send_message("/dreamwall/previous", [])
    client.send_message("/dreamwall/preset", 3)
    client.send_message("/dreamwall/preset", "fur")
    client.send_message("/dreamwall/intensity", 0.75)
    client.send_message("/dreamwall/feedback", 0.25)
    client.send_message("/dreamwall/freeze", [])
    client.send_message("/dreamwall/hud", 1)
    client.send_message("/dreamwall/blackout", [])
    client.send_message("/dreamwall/record", [])
    got = [(a.kind, a.value, a.source) for a in collector.wait_for(10)]
    assert got == [
        ("next", None, "osc"), ("previous", None, "osc"), ("select", 3, "osc"), ("select", "fur", "osc"),
        ("intensity", 0.75, "osc"), ("feedback", 0.25, "osc"), ("freeze", None, "osc"), ("hud", None, "osc"),
        ("blackout", None, "osc"), ("record", None, "osc"),
    ]


def test_malformed_traffic_is_ignored_and_the_server_keeps_serving(running, caplog):
    collector, server, client = running
    caplog.set_level("WARNING", logger="installation.controls.osc")
    client.send_message("/dreamwall/intensity", "loud")  # wrong type
    client.send_message("/dreamwall/intensity", 1.5)  # out of range
    client.send_message("/dreamwall/intensity", [0.1, 0.2])  # too many
    client.send_message("/dreamwall/preset", 0)  # presets count from 1
    client.send_message("/dreamwall/preset", 2.5)
    client.send_message("/dreamwall/nope", 1)  # unknown address
    client.send_message("/dreamwall/freeze", "please")
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.sendto(b"\xff\x00garbage", ("127.0.0.1", server.port))  # not OSC at all
    # Truncated: the type tags promise a string and an int that are not there.
    raw.sendto(b"/dreamwall/preset\x00\x00\x00,s\x00\x00abc", ("127.0.0.1", server.port))
    raw.sendto(b"/dreamwall/preset\x00\x00\x00,i\x00\x00\x01", ("127.0.0.1", server.port))
    raw.close()
    client.send_message("/dreamwall/next", [])  # and it still works
    actions = collector.wait_for(1)
    assert [a.kind for a in actions] == ["next"]
    assert server.router.ignored >= 7
    text = caplog.text
    assert "/dreamwall/nope [1] ignored: unknown address" in text
    assert "/dreamwall/intensity ['loud'] ignored: expected one float 0-1 for intensity" in text


def test_button_release_zero_does_not_toggle_twice(running):
    collector, _server, client = running
    client.send_message("/dreamwall/freeze", 1.0)  # press
    client.send_message("/dreamwall/freeze", 0.0)  # release
    client.send_message("/dreamwall/hud", True)
    client.send_message("/dreamwall/hud", False)
    client.send_message("/dreamwall/next", [])  # a marker: everything before it arrived
    assert [a.kind for a in collector.wait_for(3)] == ["freeze", "hud", "next"]


def test_close_frees_the_port_and_is_idempotent(bindings):
    collector = Collector()
    server = start_osc(collector.dispatcher, bindings, port=0)
    port = server.port
    server.close()
    server.close()
    again = start_osc(collector.dispatcher, bindings, port=port)
    again.close()


def test_port_in_use_is_a_user_error(running, bindings):
    _collector, server, _client = running
    with pytest.raises(DreamwallError, match=f"OSC port {server.port} on 127.0.0.1 is already in use"):
        start_osc(Dispatcher(), bindings, port=server.port)


class SpySmoother:
    def __init__(self) -> None:
        self.calls = []

    def set(self, binding, fraction, source):
        self.calls.append((binding.kind, fraction, source))


def test_router_hands_continuous_values_to_the_smoother(bindings):
    dispatcher, smoother = Dispatcher(), SpySmoother()
    router = OscRouter(dispatcher, bindings, smoother)
    router.handle("/dreamwall/intensity", 1)  # an int is a number too
    router.handle("/dreamwall/feedback", 0.5)
    router.handle("/dreamwall/feedback", True)  # a bool is not
    assert smoother.calls == [("intensity", 1.0, "osc"), ("feedback", 0.5, "osc")]
    assert router.ignored == 1


def test_undecodable_packets_are_one_counted_line_each_and_never_a_traceback(running, caplog, capfd):
    collector, server, client = running
    caplog.set_level("DEBUG", logger="installation.controls.osc")  # repeats of one kind of problem drop to debug
    bad = [
        b"/dream\xffwall\x00\x00\x00\x00,\x00\x00\x00",  # invalid UTF-8 in the address
        b"/dreamwall/next\x00,s\x00\x00caf\xe9\x00\x00\x00\x00",  # invalid UTF-8 in a string argument
        b"\xff\x00garbage",  # not OSC at all (python-osc would drop it uncounted)
        b"/dreamwall/preset\x00\x00\x00,i\x00\x00\x01",  # truncated: the int is missing
    ]
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for packet in bad:
        raw.sendto(packet, ("127.0.0.1", server.port))
    raw.close()
    client.send_message("/dreamwall/next", [])  # the same server thread, after the bad ones
    assert [a.kind for a in collector.wait_for(1)] == ["next"]
    assert server.router.ignored == len(bad)
    lines = [r.getMessage() for r in caplog.records if "not an OSC packet" in r.getMessage()]
    assert len(lines) == len(bad) and all("\n" not in line for line in lines)
    assert sum("UnicodeDecodeError" in line for line in lines) == 2
    assert not any(r.exc_info for r in caplog.records)
    assert "Traceback" not in capfd.readouterr().err


def test_osc_host_opens_the_listener_beyond_loopback(bindings):
    """README, privacy: 127.0.0.1 by default; --osc-host 0.0.0.0 listens on every interface."""
    collector = Collector()
    server = start_osc(collector.dispatcher, bindings, host="0.0.0.0", port=0)
    try:
        assert server.host == "0.0.0.0"
        SimpleUDPClient("127.0.0.1", server.port).send_message("/dreamwall/next", [])
        assert [a.kind for a in collector.wait_for(1)] == ["next"]
    finally:
        server.close()
