"""The one vocabulary every control speaks: keyboard, MIDI, OSC and the schedule emit Actions.

Controls never reach into the engine or the renderer; they `post` actions, and the
app thread `drain`s them and applies each in one place.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import DreamwallError, did_you_mean

log = logging.getLogger(__name__)

# kind -> what its value means (None: no value)
ACTION_KINDS: dict[str, str | None] = {
    "next": None,                  # next preset
    "previous": None,              # previous preset
    "select": "preset number (1-based) or name",
    "intensity": "absolute intensity 0-1 (mapped to the preset's lr range)",
    "intensity_step": "relative change, e.g. +0.1 / -0.1",
    "feedback": "absolute feedback 0-1",
    "freeze": None,                # toggle
    "hud": None,                   # toggle
    "fullscreen": None,            # toggle
    "screenshot": None,
    "blackout": None,              # toggle
    "record": None,                # toggle
    "sleep": None,                 # schedule: closed
    "wake": None,                  # schedule: open
    "quit": None,
    "learn": None,                 # MIDI learn: the next key's action is bound to the next moved control
    "tap": None,                   # tap tempo: a beat is now (a key, a pad)
    "tempo": "beats per minute, 20-999 (OSC /dreamwall/tempo)",
    "beat": None,                  # a beat is now (OSC /dreamwall/beat [N]: N its place in the bar, 1 = the one)
}


@dataclass(frozen=True)
class Action:
    kind: str
    value: float | int | str | None = None
    source: str = ""  # "keyboard", "midi", "osc", "schedule": for logs and the HUD
    at: float | None = None  # monotonic time the control sent it (taps need it); None: when it is applied

    def __post_init__(self) -> None:
        if self.kind not in ACTION_KINDS:
            raise DreamwallError(f"unknown action '{self.kind}'{did_you_mean(self.kind, ACTION_KINDS)}")


Handler = Callable[[Action], None]


class Dispatcher:
    """Thread-safe inbox of actions, applied by handlers on the thread that calls `drain`."""

    def __init__(self) -> None:
        self._inbox: queue.SimpleQueue[Action] = queue.SimpleQueue()
        self._handlers: dict[str, list[Handler]] = {}
        self._lock = threading.Lock()

    def on(self, kind: str, handler: Handler) -> None:
        Action(kind)  # validates the kind
        with self._lock:
            self._handlers.setdefault(kind, []).append(handler)

    def post(self, action: Action) -> None:
        """Called from any thread (MIDI callback, OSC server, keyboard, schedule)."""
        self._inbox.put(action)

    def drain(self) -> int:
        """Apply every waiting action in order; a failing handler is logged, never fatal."""
        applied = 0
        while True:
            try:
                action = self._inbox.get_nowait()
            except queue.Empty:
                return applied
            with self._lock:
                handlers = list(self._handlers.get(action.kind, ()))
            for handler in handlers:
                try:
                    handler(action)
                except Exception:  # a control must never take the show down
                    log.exception("action %s from %s failed", action.kind, action.source or "?")
            applied += 1
