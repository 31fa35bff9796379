"""MIDI control (mido + python-rtmidi): notes, CC and program change become actions.

The device is chosen by a case-insensitive regular expression on the port name
(`--midi nano` matches "nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0"); without one, the first
port that is not ALSA's "Midi Through". Hot-plug: a thread rescans the port names every
`rescan_interval` s; a vanished port is closed, and the next port matching the pattern
is opened when it appears, so the mapping resumes. (An unplug and replug faster than one
rescan that keeps the exact same ALSA name can go unnoticed; ALSA usually gives a
replugged device a new client number.) No MIDI backend (no rtmidi, no ALSA sequencer):
one warning and the show runs on. No matching device: one warning, and it keeps looking.

MIDI learn: `learn(action)` arms; the next note or moved CC is bound to that action and
the bindings file is rewritten atomically. A CC learnt for intensity or intensity_step
becomes a continuous intensity control, for feedback a continuous feedback control;
anything else becomes a trigger.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from engine.errors import DreamwallError
from installation.controls.actions import Action, Dispatcher
from installation.controls.bindings import CONTINUOUS, Binding, Bindings, Smoother

log = logging.getLogger(__name__)

CLOCK_TYPES = frozenset({"clock", "start", "stop", "continue", "songpos"})
_CC_PRESSED = 64  # a CC bound to a trigger fires when it rises to here or above
# What a learnt CC controls continuously, by the armed action's kind.
_LEARN_CONTINUOUS = {"intensity": "intensity", "intensity_step": "intensity", "feedback": "feedback"}

Callback = Callable[[Any], None]  # receives mido.Message


class MidiPort(Protocol):
    def close(self) -> None: ...


class MidiBackend(Protocol):
    """What mido.Backend offers and tests imitate."""

    def get_input_names(self) -> list[str]: ...

    def open_input(self, name: str, callback: Callback) -> MidiPort: ...


SEQUENCER = Path("/dev/snd/seq")  # ALSA's MIDI sequencer device, which rtmidi opens on Linux


def open_mido(list_ports: Callable[[Any], list[str]]) -> Any:
    """mido on python-rtmidi, its ports listed once (`list_ports(backend)`) to prove it works; the one place the
    MIDI input and the pad lights open it.

    Without a usable ALSA sequencer, libasound writes its own line ("ALSA lib seq_hw.c:...
    open /dev/snd/seq failed") straight to file descriptor 2 on every try: that is silenced
    (c_stderr_quiet, unless -v) and an OSError says it in our words instead, once, for the
    caller to log. ImportError when mido or python-rtmidi is not installed.
    """
    import mido  # lazy: optional at run time (DESIGN rule 5)

    from installation.common.cli import c_stderr_quiet

    backend = mido.Backend("mido.backends.rtmidi", load=True)
    try:
        with c_stderr_quiet():
            list_ports(backend)  # creating the ALSA client: rtmidi.SystemError (an OSError) without a sequencer
    except OSError as error:
        if sys.platform.startswith("linux"):
            raise OSError(_no_sequencer(SEQUENCER)) from None
        raise OSError(f"the MIDI system cannot be opened: {str(error).strip() or type(error).__name__}") from None
    return backend


def _no_sequencer(device: Path) -> str:
    if not device.exists():
        return (f"this machine has no ALSA MIDI sequencer ({device} is missing: no sound hardware, or the snd-seq "
                "kernel module is not loaded)")  # fmt: skip
    return f"the ALSA MIDI sequencer {device} cannot be opened (is this user in the audio group?)"


def mido_backend() -> MidiBackend:
    """mido on python-rtmidi; ImportError or OSError (in our words) when this machine has no usable MIDI."""
    return open_mido(lambda backend: backend.get_input_names())


def compile_pattern(pattern: str | None) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        raise DreamwallError(f"MIDI device pattern '{pattern}' is not a valid regular expression: {error}") from None


def choose_port(names: list[str], pattern: re.Pattern[str] | None) -> str | None:
    """The first port whose name matches; without a pattern the first that is not ALSA's "Midi Through"."""
    for name in names:
        if pattern is not None:
            if pattern.search(name):
                return name
        elif "through" not in name.lower():
            return name
    return None


class MidiInput:
    """One MIDI input device feeding the dispatcher; survives the device coming and going."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bindings: Bindings,
        pattern: str | None = None,
        *,
        backend: MidiBackend | None = None,
        backend_factory: Callable[[], MidiBackend] = mido_backend,
        smoother: Smoother | None = None,
        rescan_interval: float = 1.0,
        on_learned: Callable[[str, int, Binding], None] | None = None,
        on_clock: Callable[[Any], None] | None = None,
    ) -> None:
        self._dispatcher = dispatcher
        self._bindings = bindings
        self._pattern_text = pattern or ""
        self._pattern = compile_pattern(pattern)
        self._backend = backend
        self._backend_factory = backend_factory
        # A shared smoother (the OSC server's) makes MIDI and OSC glide one value; our own one we close.
        self._own_smoother = None if smoother is not None else Smoother(dispatcher)
        self._smoother = smoother or self._own_smoother or Smoother(dispatcher)
        self._rescan_interval = rescan_interval
        self._on_learned = on_learned
        self._on_clock = on_clock  # MIDI clock, start/stop/continue, song position: the tempo room's
        self._lock = threading.Lock()
        self._port: MidiPort | None = None
        self._port_name: str | None = None
        self._ever_connected = False
        self._warned_missing = False
        self._warned_scan = False
        self._learning: Action | None = None
        self._cc_last: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def connected(self) -> str | None:
        """The open port's name, for the HUD and the status file."""
        return self._port_name

    @property
    def bindings(self) -> Bindings:
        return self._bindings

    @property
    def learning(self) -> Action | None:
        return self._learning

    def replace(self, bindings: Bindings) -> None:
        """Hot reload of the bindings table."""
        self._bindings = bindings

    def start(self) -> MidiInput:
        """Find the backend and start the hot-plug thread; without a backend, warn once and do nothing."""
        if self._thread is not None:
            return self
        if self._backend is None:
            try:
                self._backend = self._backend_factory()
            except (ImportError, OSError) as error:
                log.warning("MIDI unavailable: %s; running without MIDI control", str(error).strip() or error)
                return self
        self._smoother.start()
        self.scan()
        self._thread = threading.Thread(target=self._run, name="midi", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._rescan_interval):
            self.scan()

    def scan(self) -> None:
        """One hot-plug step: drop a vanished port, open a matching one that appeared."""
        backend = self._backend
        if backend is None:
            return
        try:
            names = list(backend.get_input_names())
        except OSError as error:
            if not self._warned_scan:
                log.warning("listing MIDI ports failed: %s; will retry", error)
                self._warned_scan = True
            return
        with self._lock:
            if self._port is not None and self._port_name not in names:
                log.warning("MIDI device '%s' disconnected; waiting for it to return", self._port_name)
                self._close_port()
            if self._port is None:
                self._connect(backend, names)

    def _connect(self, backend: MidiBackend, names: list[str]) -> None:
        name = choose_port(names, self._pattern)
        if name is None:
            if not self._warned_missing:
                wanted = f"matching '{self._pattern_text}'" if self._pattern_text else "found"
                log.warning("no MIDI input %s (available: %s); will keep looking", wanted, ", ".join(names) or "none")
                self._warned_missing = True
            return
        try:
            self._port = backend.open_input(name, callback=self._on_message)
        except OSError as error:
            log.warning("opening MIDI input '%s' failed: %s; will retry", name, error)
            return
        self._port_name = name
        self._cc_last.clear()
        log.info("MIDI %s '%s'", "reconnected to" if self._ever_connected else "listening to", name)
        self._ever_connected = True
        self._warned_missing = False

    def _close_port(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except OSError as error:  # the device is gone already; closing is best effort
                log.debug("closing MIDI port: %s", error)
        self._port = None
        self._port_name = None

    def close(self) -> None:
        """Stop the thread, close the port; idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        with self._lock:
            self._close_port()
        if self._own_smoother is not None:
            self._own_smoother.close()

    # --- messages (called on the backend's thread) -------------------------------------

    def _on_message(self, message: Any) -> None:
        try:
            self.handle(message)
        except DreamwallError as error:  # a bad value must not kill the backend's callback thread
            log.warning("MIDI %s ignored: %s", message, error)

    def handle(self, message: Any) -> None:
        """Map one mido message to an action (or a learnt binding)."""
        if message.type in CLOCK_TYPES:  # system messages: no channel
            if self._on_clock is not None:
                self._on_clock(message)
            return
        table = self._bindings.midi
        if table.channel is not None and getattr(message, "channel", None) != table.channel - 1:
            return
        kind = message.type
        if kind == "note_on" and message.velocity > 0:
            if self._learn("note", message.note):
                return
            binding = table.notes.get(message.note)
            if binding is not None:
                self._dispatcher.post(binding.action("midi", at=time.monotonic()))  # a tapped pad: timed now
        elif kind == "control_change":
            previous = self._cc_last.get(message.control, 0)
            self._cc_last[message.control] = message.value
            if self._learn("cc", message.control):
                return
            binding = table.cc.get(message.control)
            if binding is None:
                return
            if binding.continuous:
                self._smoother.set(binding, message.value / 127.0, "midi")
            elif message.value >= _CC_PRESSED > previous:
                self._dispatcher.post(binding.action("midi"))
        elif kind == "program_change" and table.program_change is not None:
            self._dispatcher.post(table.program_change.action("midi", message.program + 1))

    # --- MIDI learn ------------------------------------------------------------------

    def learn(self, action: Action) -> None:
        """Arm learn: the next note or moved CC will trigger `action`."""
        with self._lock:
            self._learning = action
        log.info("MIDI learn: move a control to bind it to %s", action.kind)

    def cancel_learn(self) -> None:
        with self._lock:
            self._learning = None

    def _learn(self, control: str, number: int) -> bool:
        """Bind the armed action to this control; True when the message was consumed by learning."""
        with self._lock:
            action, self._learning = self._learning, None
        if action is None:
            return False
        continuous = _LEARN_CONTINUOUS.get(action.kind) if control == "cc" else None
        if continuous is not None:
            binding = Binding(continuous, None, CONTINUOUS[continuous], smoothing=0.15)
        else:
            binding = Binding(action.kind, action.value)
        bindings = self._bindings.with_midi(control, number, binding)
        self._bindings = bindings
        try:
            path: Path | None = bindings.save()
        except OSError as error:
            log.error("MIDI learn: %s %d -> %s works now but could not be saved: %s", control, number,
                      binding.kind, error)
            path = None
        if path is not None:
            log.info("MIDI learn: %s %d -> %s, saved to %s", control, number, binding.kind, path)
        if self._on_learned is not None:
            self._on_learned(control, number, binding)
        return True
