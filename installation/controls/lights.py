"""Pad lights: the controller shows the active preset and the freeze, blackout and record states.

The `lights:` section of the bindings file names, per state, the pad's message (a note
or a CC) and the velocity/value it gets when the state is on (`lit`) and off (`dark`;
not on/off, which YAML reads as true/false). On Launchpad and APC mini pads the
velocity is the colour. `PadLights.show(status)` maps
the show's one status value to the wanted light of every pad and sends only what
changed since the last send, so a preset change from any control (keys, OSC, web,
schedule, playlist timer) lights the right pad, and an idle show sends nothing.

    lights:
      port: APC MINI          # regex on the output port name; default: the --midi pattern
      channel: 1              # default channel of every light (1-16)
      lit: 1                  # default velocity when lit (127 unless said); dark: 0 unless said
      presets: {1: 56, 2: 57, melt: {note: 58, lit: 3}}   # preset number or name -> note (or a light)
      freeze: {note: 82, lit: 5}
      blackout: {note: 83, lit: 3}
      record: {cc: 84, lit: 127}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from engine.bounds import BOUNDS
from engine.errors import DreamwallError
from installation.common.yamlfile import reject_unknown, show

STATES = ("freeze", "blackout", "record")
_SECTION_KEYS = ("port", "channel", "lit", "dark", "presets", *STATES)
_LIGHT_KEYS = ("note", "cc", "lit", "dark", "channel")


class Address(NamedTuple):
    """Where a light lives: a note or a CC number on a channel (1-16)."""

    kind: str  # "note" or "cc"
    channel: int
    number: int


@dataclass(frozen=True)
class Light:
    address: Address
    lit: int
    dark: int


@dataclass(frozen=True)
class LightsTable:
    port: str | None = None  # regex on the output port name; None: the input's pattern
    channel: int = 1
    lit: int = 127
    dark: int = 0
    presets: dict[int | str, Light] = field(default_factory=dict)  # preset number (from 1) or name
    states: dict[str, Light] = field(default_factory=dict)  # "freeze", "blackout", "record"

    def lights(self) -> list[Light]:
        return [*self.presets.values(), *self.states.values()]

    def to_data(self) -> dict[str, Any]:
        """The section as a file holds it (MIDI learn rewrites the bindings file and keeps it)."""
        data: dict[str, Any] = {} if self.port is None else {"port": self.port}
        data.update(channel=self.channel, lit=self.lit, dark=self.dark)
        data["presets"] = {key: self._light_data(light) for key, light in self.presets.items()}
        data.update({state: self._light_data(light) for state, light in self.states.items()})
        return data

    def _light_data(self, light: Light) -> dict[str, Any]:
        data: dict[str, Any] = {light.address.kind: light.address.number}
        if light.lit != self.lit:
            data["lit"] = light.lit
        if light.dark != self.dark:
            data["dark"] = light.dark
        if light.address.channel != self.channel:
            data["channel"] = light.address.channel
        return data


class LitStatus(Protocol):
    """What the lights read of the show's status (installation.app.status.ShowStatus has it)."""

    @property
    def preset(self) -> str: ...
    @property
    def preset_number(self) -> int: ...
    @property
    def frozen(self) -> bool: ...
    @property
    def blackout(self) -> bool: ...
    @property
    def recording(self) -> str | None: ...


def wanted(table: LightsTable, status: LitStatus) -> dict[Address, int]:
    """Every declared light's value for this status (the loader makes sure no two share a pad)."""
    result = {light.address: light.lit if key in (status.preset_number, status.preset) else light.dark
              for key, light in table.presets.items()}  # fmt: skip
    lit = {"freeze": status.frozen, "blackout": status.blackout, "record": status.recording is not None}
    for state, light in table.states.items():
        result[light.address] = light.lit if lit[state] else light.dark
    return result


class LightSender(Protocol):
    """The output side (MidiOutput, or a test's fake)."""

    def poll(self) -> bool: ...  # True when a port was (re)opened: its pads' state is unknown

    def send(self, address: Address, value: int) -> bool: ...  # False: not sent (no port, or it vanished)

    def close(self) -> None: ...


class PadLights:
    """Keeps the controller's pads equal to the status; only changed lights are sent."""

    def __init__(self, table: LightsTable, output: LightSender) -> None:
        self._table = table
        self._output = output
        self._sent: dict[Address, int] = {}

    @property
    def table(self) -> LightsTable:
        return self._table

    def replace(self, table: LightsTable) -> None:
        """Hot reload: pads the new table no longer uses are switched off, the rest follow the next show()."""
        old = {light.address: light.dark for light in self._table.lights()}
        self._table = table
        kept = {light.address for light in table.lights()}
        for address in [a for a in self._sent if a not in kept]:
            del self._sent[address]
            self._output.send(address, old.get(address, 0))

    def show(self, status: LitStatus) -> int:
        """Send what changed (everything after a (re)connect); the number of messages sent."""
        if self._output.poll():
            self._sent.clear()
        sent = 0
        for address, value in wanted(self._table, status).items():
            if self._sent.get(address) == value:
                continue
            if not self._output.send(address, value):
                self._sent.clear()  # gone mid-way: resend everything once a port is back
                return sent
            self._sent[address] = value
            sent += 1
        return sent

    def close(self) -> None:
        """Switch every lit pad off (a quit show leaves no stale preset lit), then close the port."""
        for light in self._table.lights():
            if self._sent.get(light.address, light.dark) != light.dark:
                self._output.send(light.address, light.dark)
        self._sent.clear()
        self._output.close()


# ---- reading the section --------------------------------------------------------------------


def parse_lights(data: Any, source: str) -> LightsTable | None:
    """The `lights:` section, validated: unknown keys get a suggestion, numbers name their range."""
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise DreamwallError(f"{source}: lights: expected a mapping, got {show(data)}")
    _reject_keys(source, "lights", data, _SECTION_KEYS)
    port = data.get("port")
    if port is not None and (not isinstance(port, str) or not port):
        raise DreamwallError(f"{source}: lights.port: expected a port name pattern, got {show(port)}")
    if port is not None:
        try:
            re.compile(port)
        except re.error as error:
            raise DreamwallError(f"{source}: lights.port: '{port}' is not a valid regular expression: "
                                 f"{error}") from None  # fmt: skip
    channel = _number(source, "lights.channel", data.get("channel", 1), "midi_channel")
    lit = _number(source, "lights.lit", data.get("lit", 127), "midi_value")
    dark = _number(source, "lights.dark", data.get("dark", 0), "midi_value")
    base = LightsTable(port, channel, lit, dark)
    presets_data = data.get("presets") or {}
    if not isinstance(presets_data, Mapping):
        raise DreamwallError(f"{source}: lights.presets: expected preset number or name -> note, "
                             f"got {show(presets_data)}")  # fmt: skip
    presets = {_preset_key(source, key): _light(source, f"lights.presets.{key}", raw, base)
               for key, raw in presets_data.items()}  # fmt: skip
    states = {state: _light(source, f"lights.{state}", data[state], base) for state in STATES
              if data.get(state) is not None}  # fmt: skip
    table = LightsTable(port, channel, lit, dark, presets, states)
    _reject_shared_pads(source, table)
    return table


def _reject_keys(source: str, where: str, data: Mapping[Any, Any], allowed: tuple[str, ...]) -> None:
    for key in data:
        if isinstance(key, bool):  # `on:` / `off:` / `yes:` reach here as true / false
            raise DreamwallError(f"{source}: {where}: a key reads as {show(key)}: YAML takes on/off/yes/no for "
                                 f"true/false; write lit and dark for a light's values")  # fmt: skip
    reject_unknown(source, where, data, allowed)


def _number(source: str, where: str, value: Any, bound: str) -> int:
    limits = BOUNDS[bound]
    if not isinstance(value, int) or isinstance(value, bool):
        raise DreamwallError(f"{source}: {where}: expected a whole number {limits.low:g}-{limits.high:g}, "
                             f"got {show(value)}")  # fmt: skip
    try:
        return int(limits.check(value))
    except DreamwallError as error:
        raise DreamwallError(f"{source}: {where}: {error}") from None


def _preset_key(source: str, key: Any) -> int | str:
    if isinstance(key, int) and not isinstance(key, bool) and key >= 1:
        return key
    if isinstance(key, str) and key:
        return key
    raise DreamwallError(f"{source}: lights.presets.{key}: expected a preset number from 1 or a preset name")


def _light(source: str, where: str, raw: Any, base: LightsTable) -> Light:
    """A light: a bare note number, or {note|cc: N, lit: V, dark: V, channel: C}."""
    data = {"note": raw} if isinstance(raw, int) and not isinstance(raw, bool) else raw
    if not isinstance(data, Mapping):
        raise DreamwallError(f"{source}: {where}: expected a note number or {{note: N, lit: V}}, got {show(raw)}")
    _reject_keys(source, where, data, _LIGHT_KEYS)
    kinds = [kind for kind in ("note", "cc") if kind in data]
    if len(kinds) != 1:
        raise DreamwallError(f"{source}: {where}: a light is either a note or a cc, e.g. {{note: 36}}")
    kind = kinds[0]
    number = _number(source, f"{where}.{kind}", data[kind], "midi_number")
    channel = _number(source, f"{where}.channel", data.get("channel", base.channel), "midi_channel")
    lit = _number(source, f"{where}.lit", data.get("lit", base.lit), "midi_value")
    dark = _number(source, f"{where}.dark", data.get("dark", base.dark), "midi_value")
    return Light(Address(kind, channel, number), lit, dark)


def _reject_shared_pads(source: str, table: LightsTable) -> None:
    """Two lights on one pad would fight over it every tick: refused at load, naming both."""
    owners: dict[Address, str] = {}
    named = [(f"presets.{key}", light) for key, light in table.presets.items()]
    for name, light in [*named, *table.states.items()]:
        other = owners.setdefault(light.address, name)
        if other != name:
            address = light.address
            raise DreamwallError(f"{source}: lights.{name}: {address.kind} {address.number} on channel "
                                 f"{address.channel} is already the light of lights.{other}")  # fmt: skip
