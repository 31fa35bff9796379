"""One bindings table for every control: keyboard keys, MIDI notes/CC/program change, OSC addresses.

The shipped table is `bindings/default.yaml` (not in presets/: the preset loader
reads every YAML there as a preset). A binding is either an action name (`next`) or a
mapping `{action: NAME, value: V, range: [LOW, HIGH], smoothing: SECONDS}`:

- `value` fixes the action's value (`select` 3, `intensity_step` -0.1).
- Continuous controls (MIDI CC, OSC floats) bound to `intensity` or `feedback` without a
  fixed value map the control's 0..1 onto `range` (default the whole 0..1) and glide
  there with an exponential time constant of `smoothing` seconds (0: jump).
- A MIDI CC bound to a discrete action fires when the control rises past the middle
  (64), so buttons that send CC 127/0 work.
- `select` without a value on OSC or program change takes the preset from the message.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from engine.beats import check_tempo
from engine.errors import DreamwallError, did_you_mean
from installation import HOME
from installation.common.atomic import atomic_write_text
from installation.common.yamlfile import read_yaml_mapping, reject_unknown
from installation.controls.actions import ACTION_KINDS, Action, Dispatcher
from installation.controls.lights import LightsTable, parse_lights

log = logging.getLogger(__name__)

DEFAULT_BINDINGS = HOME / "bindings" / "default.yaml"

# Continuous actions and the domain of their values.
CONTINUOUS: dict[str, tuple[float, float]] = {"intensity": (0.0, 1.0), "feedback": (0.0, 1.0)}
# Actions that need a value; where the input cannot supply one, the binding must.
VALUE_KINDS = frozenset(kind for kind, meaning in ACTION_KINDS.items() if meaning is not None)
_BINDING_KEYS = ("action", "value", "range", "smoothing")
_MIDI_KEYS = ("channel", "notes", "cc", "program_change")


@dataclass(frozen=True)
class Binding:
    kind: str
    value: float | int | str | None = None
    range: tuple[float, float] | None = None  # set: a continuous control
    smoothing: float = 0.0  # seconds

    @property
    def continuous(self) -> bool:
        return self.range is not None

    def action(self, source: str, value: float | int | str | None = None, at: float | None = None) -> Action:
        """The action this binding posts; `value` comes from the input when the binding fixes none."""
        return Action(self.kind, self.value if self.value is not None else value, source, at)

    def scaled(self, fraction: float) -> float:
        """Map a control's 0..1 onto the binding's range."""
        low, high = self.range or CONTINUOUS.get(self.kind, (0.0, 1.0))
        return low + min(1.0, max(0.0, fraction)) * (high - low)

    def to_data(self) -> str | dict[str, Any]:
        if self.value is None and self.range is None and not self.smoothing:
            return self.kind
        data: dict[str, Any] = {"action": self.kind}
        if self.value is not None:
            data["value"] = self.value
        if self.range is not None and self.range != CONTINUOUS.get(self.kind):
            data["range"] = list(self.range)
        if self.smoothing:
            data["smoothing"] = self.smoothing
        return data


@dataclass(frozen=True)
class MidiTable:
    channel: int | None = None  # 1-16; None: any channel
    notes: dict[int, Binding] = field(default_factory=dict)
    cc: dict[int, Binding] = field(default_factory=dict)
    program_change: Binding | None = None


@dataclass(frozen=True)
class Bindings:
    keyboard: dict[str, Action]
    midi: MidiTable = field(default_factory=MidiTable)
    osc: dict[str, Binding] = field(default_factory=dict)
    path: Path | None = None
    lights: LightsTable | None = None  # pad lights (controls/lights.py); None: no MIDI output

    def with_midi(self, control: str, number: int, binding: Binding) -> Bindings:
        """A copy where MIDI `control` ('note' or 'cc') `number` triggers `binding`."""
        notes, cc = dict(self.midi.notes), dict(self.midi.cc)
        (notes if control == "note" else cc)[number] = binding
        return replace(self, midi=replace(self.midi, notes=notes, cc=cc))

    def to_data(self) -> dict[str, Any]:
        midi: dict[str, Any] = {}
        if self.midi.channel is not None:
            midi["channel"] = self.midi.channel
        midi["notes"] = {number: b.to_data() for number, b in sorted(self.midi.notes.items())}
        midi["cc"] = {number: b.to_data() for number, b in sorted(self.midi.cc.items())}
        if self.midi.program_change is not None:
            midi["program_change"] = self.midi.program_change.to_data()
        data = {
            "keyboard": {key: Binding(a.kind, a.value).to_data() for key, a in self.keyboard.items()},
            "midi": midi,
            "osc": {address: b.to_data() for address, b in self.osc.items()},
        }
        if self.lights is not None:
            data["lights"] = self.lights.to_data()
        return data

    def save(self, path: Path | None = None) -> Path:
        """Write the table atomically (MIDI learn); comments in the old file are not kept."""
        target = Path(path or self.path or DEFAULT_BINDINGS)
        header = "# Dreamwall bindings (rewritten by MIDI learn). Format: see installation/controls/bindings.py\n"
        atomic_write_text(target, header + yaml.safe_dump(self.to_data(), sort_keys=False, allow_unicode=True))
        return target


@cache
def key_names() -> frozenset[str]:
    """pygame.key.name() of every key pygame knows (what KEYDOWN handlers compare against)."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame  # lazy: loading a table must not open a display

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "pygame.init() has not been called": names are static
        names = {pygame.key.name(getattr(pygame, const)) for const in dir(pygame) if const.startswith("K_")}
    return frozenset(name for name in names if name)


def load_bindings(path: Path | None = None) -> Bindings:
    """Read and validate a bindings file (default: the shipped table); errors name file and key."""
    path = Path(path) if path is not None else DEFAULT_BINDINGS
    return parse_bindings(read_yaml_mapping(path, "bindings"), str(path), path)


def parse_bindings(data: Mapping[str, Any], source: str = "<bindings>", path: Path | None = None) -> Bindings:
    reject_unknown(source, "", data, ("keyboard", "midi", "osc", "lights"))
    reader = _Reader(source)
    keyboard = {}
    for key, raw in reader.mapping("keyboard", data.get("keyboard")).items():
        name = reader.key_name(key)
        keyboard[name] = reader.binding(f"keyboard.{key}", raw, input_value=False, continuous=False).action(
            "keyboard"
        )
    midi_data = reader.mapping("midi", data.get("midi"))
    reject_unknown(source, "midi", midi_data, _MIDI_KEYS)
    channel = midi_data.get("channel")
    if channel is not None and (not _is_int(channel) or not 1 <= channel <= 16):
        raise DreamwallError(f"{source}: midi.channel: expected 1-16 (or leave it out for any), got {channel!r}")
    midi = MidiTable(
        channel=channel,
        notes={
            reader.midi_number(f"midi.notes.{n}", n): reader.binding(f"midi.notes.{n}", raw, False, False)
            for n, raw in reader.mapping("midi.notes", midi_data.get("notes")).items()
        },
        cc={
            reader.midi_number(f"midi.cc.{n}", n): reader.binding(f"midi.cc.{n}", raw, False, True)
            for n, raw in reader.mapping("midi.cc", midi_data.get("cc")).items()
        },
        program_change=(
            reader.binding("midi.program_change", midi_data["program_change"], True, False)
            if midi_data.get("program_change") is not None
            else None
        ),
    )
    osc = {}
    for address, raw in reader.mapping("osc", data.get("osc")).items():
        if not isinstance(address, str) or not address.startswith("/") or " " in address:
            raise DreamwallError(f"{source}: osc.{address}: an OSC address starts with '/' and has no spaces")
        osc[address] = reader.binding(f"osc.{address}", raw, input_value=True, continuous=True)
    return Bindings(keyboard, midi, osc, path, parse_lights(data.get("lights"), source))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class _Reader:
    """Validation with messages that name the file and the dotted key."""

    source: str

    def fail(self, where: str, message: str) -> DreamwallError:
        return DreamwallError(f"{self.source}: {where}: {message}")

    def mapping(self, where: str, value: Any) -> dict[Any, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {value!r}")
        return value

    def key_name(self, key: Any) -> str:
        name = str(key)
        names = key_names()
        if name not in names and name.lower() in names:
            name = name.lower()
        if name not in names:
            raise self.fail(
                f"keyboard.{key}",
                f"unknown key name '{key}'{did_you_mean(name, names)} (names as pygame.key.name() gives them)",
            )
        return name

    def midi_number(self, where: str, number: Any) -> int:
        if not _is_int(number) or not 0 <= number <= 127:
            raise self.fail(where, f"expected a MIDI number 0-127, got {number!r}")
        return number

    def binding(self, where: str, raw: Any, input_value: bool, continuous: bool) -> Binding:
        """`input_value`: the input carries a value (OSC argument, program number);
        `continuous`: the input is a continuous control (CC, OSC float)."""
        data = {"action": raw} if isinstance(raw, str) else raw
        if not isinstance(data, dict):
            raise self.fail(where, f"expected an action name or {{action: NAME, ...}}, got {raw!r}")
        reject_unknown(self.source, where, data, _BINDING_KEYS)
        kind = data.get("action")
        if not isinstance(kind, str) or kind not in ACTION_KINDS:
            raise self.fail(
                where, f"unknown action '{kind}'{did_you_mean(str(kind), ACTION_KINDS)}; "
                f"choose from: {', '.join(ACTION_KINDS)}"
            )
        value = self.value(where, kind, data.get("value"))
        is_continuous = continuous and kind in CONTINUOUS and value is None
        if value is None and kind in VALUE_KINDS and not (input_value or is_continuous):
            raise self.fail(where, f"action '{kind}' needs a value here: {ACTION_KINDS[kind]}")
        if not is_continuous and ("range" in data or "smoothing" in data):
            raise self.fail(where, f"range and smoothing apply only to a continuous control bound to "
                            f"{' or '.join(CONTINUOUS)} without a fixed value")
        if not is_continuous:
            return Binding(kind, value)
        return Binding(kind, None, self.range(where, kind, data.get("range")), self.smoothing(where, data))

    def value(self, where: str, kind: str, value: Any) -> float | int | str | None:
        if value is None:
            return None
        if kind not in VALUE_KINDS:
            raise self.fail(where, f"action '{kind}' takes no value, got {value!r}")
        if kind == "select":
            if (_is_int(value) and value >= 1) or (isinstance(value, str) and value):
                return value
            raise self.fail(where, f"select takes a preset number from 1 or a preset name, got {value!r}")
        if kind == "tempo":
            try:
                return check_tempo(value)
            except DreamwallError as error:
                raise self.fail(where, str(error)) from None
        low, high = CONTINUOUS.get(kind, (-1.0, 1.0))
        if not _is_number(value) or not low <= value <= high:
            raise self.fail(where, f"{kind} value must be a number between {low:g} and {high:g}, got {value!r}")
        return float(value)

    def range(self, where: str, kind: str, value: Any) -> tuple[float, float]:
        low, high = CONTINUOUS[kind]
        if value is None:
            return low, high
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(_is_number(v) and low <= v <= high for v in value)
        ):
            raise self.fail(f"{where}.range", f"expected [LOW, HIGH] within {low:g}..{high:g}, got {value!r}")
        return float(value[0]), float(value[1])

    def smoothing(self, where: str, data: dict[str, Any]) -> float:
        value = data.get("smoothing", 0.0)
        if not _is_number(value) or not 0 <= value <= 10:
            raise self.fail(f"{where}.smoothing", f"expected seconds between 0 and 10, got {value!r}")
        return float(value)


@dataclass
class _Glide:
    current: float
    target: float
    smoothing: float
    source: str
    last: float


class Smoother:
    """Glides continuous parameters towards their targets, posting intermediate actions.

    Knobs send bursts of coarse steps (CC has 128); posting each would make the dream
    jump. One glide per action kind, so MIDI and OSC driving intensity share one value.
    `tick()` is the whole algorithm (tests call it with an injected clock); `start()`
    runs it on a thread that sleeps on a condition while nothing is gliding.
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        clock: Callable[[], float] = time.monotonic,
        rate: float = 50.0,
        epsilon: float = 0.002,
    ) -> None:
        self._dispatcher = dispatcher
        self._clock = clock
        self._period = 1.0 / rate
        self._epsilon = epsilon
        self._glides: dict[str, _Glide] = {}
        self._condition = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def set(self, binding: Binding, fraction: float, source: str) -> None:
        """A continuous control moved to `fraction` (0..1)."""
        target = binding.scaled(fraction)
        now = self._clock()
        with self._condition:
            glide = self._glides.get(binding.kind)
            if binding.smoothing <= 0 or glide is None:
                # Nothing to glide from (the app's current value is unknown) or no smoothing: jump.
                self._glides[binding.kind] = _Glide(target, target, binding.smoothing, source, now)
                self._dispatcher.post(Action(binding.kind, round(target, 4), source))
                return
            if glide.current == glide.target:
                glide.last = now  # was resting: time starts now, not at the last move
            glide.target, glide.smoothing, glide.source = target, binding.smoothing, source
            self._condition.notify()

    def moving(self) -> bool:
        with self._condition:
            return any(g.current != g.target for g in self._glides.values())

    def tick(self) -> int:
        """Advance every glide to now; post one action per moved parameter; return how many."""
        now = self._clock()
        posted = []
        with self._condition:
            for kind, glide in self._glides.items():
                if glide.current == glide.target:
                    continue
                elapsed = max(0.0, now - glide.last)
                glide.last = now
                glide.current += (glide.target - glide.current) * (1.0 - math.exp(-elapsed / glide.smoothing))
                if abs(glide.target - glide.current) < self._epsilon:
                    glide.current = glide.target
                posted.append(Action(kind, round(glide.current, 4), glide.source))
        for action in posted:
            self._dispatcher.post(action)
        return len(posted)

    def start(self) -> Smoother:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="smoother", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._closed and not any(g.current != g.target for g in self._glides.values()):
                    self._condition.wait()
                if self._closed:
                    return
                self._condition.wait(self._period)  # the frame of the glide; close() interrupts it
            self.tick()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
