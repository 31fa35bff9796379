"""The live inputs besides the window: bindings, OSC, MIDI (with learn and pad lights) and the opening-hours schedule.

Everything here only posts Actions into the app's Dispatcher. Files are loaded before
any thread starts, so a bad bindings or schedule file ends the start with exit 2; later
edits are hot-reloaded and a broken edit keeps the last good table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from installation.controls.actions import Action, Dispatcher
from installation.controls.bindings import DEFAULT_BINDINGS, Bindings, Smoother, load_bindings
from installation.controls.keys import KeyTable
from installation.controls.lights import LightsTable, LitStatus, PadLights
from installation.controls.midi import MidiInput
from installation.controls.midi_out import MidiOutput
from installation.controls.osc import OscServer, start_osc
from installation.controls.schedule import Scheduler, load_schedule
from installation.presets.hot_reload import HotReloader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ControlsConfig:
    bindings: Path | None = None        # None: bindings/default.yaml
    osc_port: int | None = None         # None: no OSC listener
    osc_host: str = "127.0.0.1"
    midi: bool = True                   # look for a MIDI device (a missing backend is one warning)
    midi_pattern: str | None = None     # regex on the port name; None: the first device
    schedule: Path | None = None        # opening hours; None: always open


class Controls:
    def __init__(self, config: ControlsConfig, dispatcher: Dispatcher, notify: Callable[[str], None],
                 on_midi_clock: Callable[[Any], None] | None = None) -> None:  # fmt: skip
        self._dispatcher = dispatcher
        self._on_midi_clock = on_midi_clock  # MIDI clock on the input: the tempo room's (installation.tempo)
        self._notify = notify
        self.bindings_path = Path(config.bindings) if config.bindings is not None else DEFAULT_BINDINGS
        self.bindings: Bindings = load_bindings(self.bindings_path)
        self._keys = KeyTable(self.bindings.keyboard)
        schedule = load_schedule(config.schedule) if config.schedule is not None else None
        self._schedule_path = config.schedule
        self.smoother = Smoother(dispatcher)
        self.osc: OscServer | None = None
        self.midi: MidiInput | None = None
        self.lights: PadLights | None = None
        self.scheduler = Scheduler(schedule, dispatcher) if schedule is not None else None
        self._learn_armed = False
        self._config = config

    def start(self) -> Controls:
        self.smoother.start()
        if self._config.osc_port is not None:
            self.osc = start_osc(self._dispatcher, self.bindings, self._config.osc_host, self._config.osc_port,
                                 smoother=self.smoother)  # fmt: skip
        if self._config.midi:
            self.midi = MidiInput(self._dispatcher, self.bindings, self._config.midi_pattern, smoother=self.smoother,
                                  on_learned=self._learned, on_clock=self._on_midi_clock).start()  # fmt: skip
            self._set_lights(self.bindings.lights)
        return self

    def watch(self, reloader: HotReloader) -> None:
        """Hot reload of the bindings and schedule files (the last good version stays on a broken edit)."""
        reloader.watch([self.bindings_path], lambda: load_bindings(self.bindings_path), self.replace_bindings,
                       label="bindings")  # fmt: skip
        if self.scheduler is not None and self._schedule_path is not None:
            path = self._schedule_path
            reloader.watch([path], lambda: load_schedule(path), self.scheduler.replace, label="schedule")

    def replace_bindings(self, bindings: Bindings) -> None:
        self.bindings = bindings
        self._keys.replace(bindings.keyboard)
        if self.osc is not None:
            self.osc.router.replace(bindings)
        if self.midi is not None:
            self.midi.replace(bindings)
            self._set_lights(bindings.lights)

    def _set_lights(self, table: LightsTable | None) -> None:
        """Same port: the pads follow the new table; another port or no section: the old lights go dark."""
        if self.lights is not None and table is not None and self.lights.table.port == table.port:
            self.lights.replace(table)
            return
        if self.lights is not None:
            self.lights.close()
        self.lights = None
        if table is not None:
            self.lights = PadLights(table, MidiOutput(table.port or self._config.midi_pattern, self._notify))

    def show(self, status: LitStatus) -> None:
        """Called every tick with the show's status: the pads follow it, whichever control changed it."""
        if self.lights is not None:
            self.lights.show(status)

    @property
    def keyboard(self) -> KeyTable:
        """The live key table: hand it to the renderer once, reloads replace what it holds."""
        return self._keys

    def poll(self) -> None:
        """Called every main-loop tick: the schedule posts sleep/wake when opening hours change."""
        if self.scheduler is not None:
            self.scheduler.poll()

    # ---- MIDI learn: L, then a key names the action, then the moved control is bound ----------

    def arm_learn(self) -> None:
        if self.midi is None or self.midi.connected is None:
            self._notify("MIDI learn: no MIDI device connected")
            return
        self._learn_armed = True
        self._notify("MIDI learn: press the key of the action to bind")

    def post(self, action: Action) -> None:
        """What the keyboard posts to: while learn is armed, the next key picks the action to bind."""
        if self._learn_armed and action.source == "keyboard" and action.kind != "learn":
            self._learn_armed = False
            if self.midi is not None:
                self.midi.learn(action)
                self._notify(f"MIDI learn: move a control to bind it to {action.kind}")
            return
        self._dispatcher.post(action)

    def _learned(self, control: str, number: int, binding: object) -> None:
        self._notify(f"MIDI learn: {control} {number} bound, saved to {self.bindings_path}")

    @property
    def osc_port(self) -> int | None:
        return self.osc.port if self.osc is not None else None

    def close(self) -> None:
        for part in (self.osc, self.midi, self.scheduler, self.lights):
            if part is not None:
                part.close()
        self.smoother.close()
