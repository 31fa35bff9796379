"""Ableton Link through aalink: join the session on the local network, follow its tempo and propose ours.

aalink's Link wants an asyncio loop (for its `sync()` futures and callbacks); it gets one
on a thread of its own, and the show reads tempo, beat and peers directly: Link computes
them on read from its own clock, so a reading is as fresh as the call. The bar is
Link's quantum (beats per bar), so peers agree on where the one falls.

Transport: start/stop sync is on, but a session where nobody has ever pressed play keeps
its beat running (Link's default is "not playing", which would freeze a show with
peers that do not sync start/stop); once a peer has played, a stop holds the beat.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from engine.beats import check_tempo
from engine.errors import DreamwallError
from installation.tempo.clock import BeatState

START_TIMEOUT_S = 5.0


class LinkSource:
    name = "link"

    def __init__(self, bpm: float, beats_per_bar: int) -> None:
        try:
            import aalink  # lazy: optional at run time (DESIGN rule 5)
        except ImportError as error:
            raise DreamwallError(f"--link needs the aalink package (pip install aalink==0.2.3): {error}") from None
        self.beats_per_bar = beats_per_bar
        self._seen_playing = False
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._link: Any = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(aalink, check_tempo(bpm)), name="link", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or self._link is None:
            self.close()
            raise DreamwallError(f"Ableton Link did not start: {self._failure or 'no answer in 5 s'}")

    def _run(self, aalink: Any, bpm: float) -> None:
        asyncio.set_event_loop(self._loop)

        async def join() -> None:
            link = aalink.Link(bpm)
            link.quantum = float(self.beats_per_bar)
            link.start_stop_sync_enabled = True
            link.enabled = True
            self._link = link

        try:
            self._loop.run_until_complete(join())
        except (RuntimeError, OSError) as error:
            self._failure = error
        finally:
            self._ready.set()
        if self._link is not None:
            self._loop.run_forever()
        self._loop.close()

    def reading(self, now: float) -> BeatState | None:
        link = self._link
        if link is None:  # closed
            return None
        playing = bool(link.playing)
        self._seen_playing = self._seen_playing or playing
        return BeatState(float(link.tempo), float(link.beat), self.beats_per_bar,
                         playing or not self._seen_playing, self.name, now, peers=int(link.num_peers))  # fmt: skip

    @property
    def transport_seen(self) -> bool:
        """Whether a peer has pressed play in this session (from then on a stop holds the beat)."""
        return self._seen_playing

    def propose(self, bpm: float) -> None:
        """The show's tempo (a tap, OSC) becomes the session's: every peer follows."""
        self._link.tempo = check_tempo(bpm)

    def close(self) -> None:
        """Leave the session; idempotent."""
        if self._link is not None:
            self._link.enabled = False
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=2)
        self._link = None
