"""Two Ableton Link peers on the loopback of a network namespace: the show's clock and a test peer.

Outside the namespace each test only reports how it went inside: the module runs once under `unshare -n`
(tests/tempo/netns.py) and nothing here ever sends multicast on the host's network."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from netns import inside, run_module_inside

from installation.tempo.clock import TempoClock
from installation.tempo.link import LinkSource

JOIN_S = 5.0


class Peer:
    """Another Link app (as Ableton Live would be): its own aalink Link on its own asyncio loop."""

    def __init__(self, bpm: float) -> None:
        import aalink

        self._loop = asyncio.new_event_loop()
        made = threading.Event()
        self.link: Any = None

        def run() -> None:
            asyncio.set_event_loop(self._loop)

            async def join() -> None:
                self.link = aalink.Link(bpm)
                self.link.quantum = 4.0
                self.link.start_stop_sync_enabled = True
                self.link.enabled = True

            self._loop.run_until_complete(join())
            made.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        made.wait(5)

    def close(self) -> None:
        self.link.enabled = False
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(2)


def wait_for(condition: Callable[[], bool], timeout_s: float = JOIN_S) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError("timed out")
        time.sleep(0.005)
    return time.monotonic() - started


@pytest.fixture(scope="module")
def namespace_outcomes(request) -> dict[str, str]:
    return {} if inside() else run_module_inside(request.node)


@pytest.fixture
def session(request, namespace_outcomes) -> Iterator[tuple[TempoClock, Peer, LinkSource] | None]:
    if not inside():
        outcome = namespace_outcomes.get(request.node.nodeid)
        if outcome == "SKIPPED":
            pytest.skip("skipped in the namespace")
        assert outcome == "PASSED", f"in the namespace: {outcome}\n{namespace_outcomes['<output>']}"
        yield None
        return
    show = LinkSource(120.0, 4)
    clock = TempoClock([show])
    peer = Peer(120.0)
    wait_for(lambda: (clock.state().peers or 0) >= 1 and peer.link.num_peers >= 1)
    yield clock, peer, show
    peer.close()
    clock.close()


def test_peers_agree_on_tempo_and_beat_phase(session):
    if session is None:
        return
    clock, peer, _ = session
    errors_ms = []
    for _ in range(200):
        before = clock.state().beat
        theirs = peer.link.beat
        after = clock.state().beat
        errors_ms.append(abs(theirs - (before + after) / 2) * 60_000 / 120.0)
        time.sleep(0.002)
    state = clock.state()
    print(f"Link phase agreement: median {sorted(errors_ms)[100]:.3f} ms, max {max(errors_ms):.3f} ms")
    assert state.source == "link" and state.peers == 1 and state.bpm == pytest.approx(120.0)
    assert max(errors_ms) < 3.0
    assert state.beat_in_bar == int(peer.link.beat % 4) + 1 or state.phase > 0.99 or state.phase < 0.01


def test_a_tempo_change_by_the_peer_reaches_the_show(session):
    if session is None:
        return
    clock, peer, _ = session
    peer.link.tempo = 137.0
    took = wait_for(lambda: clock.state().bpm == pytest.approx(137.0, abs=0.01))
    print(f"tempo change reached the show in {took * 1000:.1f} ms")
    assert clock.state().as_json()["bpm"] == 137.0 and clock.latest.source == "link"


def test_the_show_proposes_a_tapped_tempo_to_the_session(session):
    if session is None:
        return
    clock, peer, _ = session
    for tap in range(4):
        clock.tap(1000.0 + tap * 0.6)  # 100 BPM
    wait_for(lambda: peer.link.tempo == pytest.approx(100.0, abs=0.01))
    assert clock.state().source == "link"  # the session leads; it took our tempo


def test_transport_stop_holds_the_beat_once_a_peer_has_played(session):
    if session is None:
        return
    clock, peer, show = session
    assert clock.state().playing  # nobody pressed play yet: Link's beat runs
    peer.link.playing = True
    wait_for(lambda: clock.state() is not None and show.transport_seen)
    peer.link.playing = False
    wait_for(lambda: not clock.state().playing)
    held = clock.state()
    assert held.beat_at(held.at + 1.0) == held.beat


def test_the_shows_status_and_hud_follow_a_peers_tempo(namespace_outcomes, request, tmp_path):
    """The real show (headless, demo camera) started with --link: a tempo set by another peer reaches the status
    file's JSON and the HUD on the next tick."""
    if not inside():
        assert namespace_outcomes.get(request.node.nodeid) == "PASSED", namespace_outcomes["<output>"]
        return
    from installation.app.app import App
    from installation.app.config import LiveConfig
    from installation.controls.inputs import ControlsConfig

    peer = Peer(120.0)
    app = App(LiveConfig(source="demo", headless=True, process_size=(64, 36), link=True, tempo=120.0,
                         status_file=tmp_path / "status.json", recordings_dir=tmp_path,
                         controls=ControlsConfig(midi=False)))  # fmt: skip
    try:
        wait_for(lambda: app.loop.tick() is None and (app.snapshot()["tempo"] or {}).get("peers") == 1)
        peer.link.tempo = 137.0
        took = wait_for(lambda: app.loop.tick() is None and app.snapshot()["tempo"]["bpm"] == 137.0)
        print(f"a peer's tempo reached the show's status in {took * 1000:.1f} ms")
        assert app.snapshot()["tempo"]["source"] == "link"
        assert app.hud_info().tempo.startswith("137.0 BPM") and "link (1 peer)" in app.hud_info().tempo
    finally:
        app.close()
        peer.close()
