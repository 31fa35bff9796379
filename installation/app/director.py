"""What the worker dreams: the preset on show, the live overrides and the audio gain.

Settings are rebuilt on every knob move, the objective only once per preset version
(and net), so a MIDI fader never re-parses an objective. A reloaded preset is built
before it replaces the old one: a failure keeps the last good preset on screen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch

from engine.errors import DreamwallError
from engine.networks import DreamNet
from engine.objectives import Objective
from installation.app.messages import Messages
from installation.dreaming.backend_choice import BackendChooser
from installation.dreaming.cpu_precision import Bf16Probe
from installation.dreaming.export_cache import DEFAULT_CACHE
from installation.dreaming.looks import NetworkCache, Overrides, dream_settings
from installation.dreaming.placement import Placement, resolve_precision
from installation.dreaming.size_governor import auto_process_size
from installation.dreaming.worker import DreamSettings, DreamWorker
from installation.presets.loader import Preset
from installation.presets.playlist import PlaylistPlayer
from installation.tempo.clock import TempoClock
from installation.tempo.cue import CuedChanges, Move
from installation.tempo.pulse import NO_PULSE, pulse_now, pulsed

log = logging.getLogger("installation.app.app")

PULSE_STEP = 0.005  # a pulse moves the dream's settings only when its gain moved this much


class LookDirector:
    """`announce(preset)` tells the outside world a new preset is on (stdout, crossfade)."""

    def __init__(
        self,
        programme: PlaylistPlayer,
        backends: BackendChooser,
        device: tuple[torch.device, str],
        process_size: tuple[int, int] | None,
        messages: Messages,
        bf16: Bf16Probe | None = None,
    ) -> None:
        self.programme = programme
        self.bf16 = bf16 if bf16 is not None else Bf16Probe(DEFAULT_CACHE / "precision" / "bf16_probe.json")
        self.networks = NetworkCache()
        self.backends = backends
        self.device, self.device_reason = device
        self.process_size = process_size
        self.messages = messages
        self.overrides = Overrides()
        self.audio_gain = 1.0
        self.mask: str | None = None  # --mask: who dreams in every preset; None = each preset's own
        self.dreamer: str | None = None  # --dreamer: gradient or student for every preset; None = each preset's own
        self.panorama = False  # --panorama: every preset dreams a 360 panorama; False = each preset's own key
        self.fit: str | None = None  # --fit: how every preset's frame meets the screen; None = each preset's own
        self.placement_now: Placement | None = None
        self.worker: DreamWorker  # attached once started: the first settings are needed to start it
        self.announce: Callable[[Preset], None] = lambda preset: None
        self.tempo: TempoClock | None = None  # the show's one clock (set by the app); None: seconds only
        self.cued = CuedChanges()  # preset changes waiting for the beat (quantize)
        self.pulse: tuple[str, float] = NO_PULSE  # (target, gain) of the preset's pulse this tick
        self._placements: dict[int, tuple[Preset, Placement]] = {}
        self._objective_of: tuple[Preset, Objective, DreamNet] | None = None

    def prepare(self, presets: list[Preset]) -> None:
        """fp16 (or bf16 without it) asked on a CPU: exit 2 now, while someone is looking; networks load
        and the bf16 probe runs before the show starts."""
        for preset in presets:
            placement = self.placement(preset, strict=True)
            self.networks.get(preset.network, placement.device, placement.dtype)

    def placement(self, preset: Preset, strict: bool = False) -> Placement:
        """Device and dtype for `preset`, once per preset version; a reloaded fp16-on-CPU preset is a notice."""
        cached = self._placements.get(id(preset))
        if cached is not None and cached[0] is preset:
            return cached[1]
        on_cpu = self.device.type == "cpu"
        native = self.bf16.available() if on_cpu and preset.precision == "bf16" else None
        dtype, notice = resolve_precision(preset.precision, self.device, f"preset {preset.name}", strict, native)
        if notice is not None:
            self.messages.notify(notice)
        compute, why = self._compute(preset, notice is None and native is not None, on_cpu)
        placement = Placement(self.device, dtype, self.device_reason, compute, why)
        log.info("preset %s dreams in %s (%s)", preset.name, placement.precision, why)
        self._placements[id(preset)] = (preset, placement)
        return placement

    def _compute(self, preset: Preset, bf16_granted: bool, on_cpu: bool) -> tuple[str | None, str]:
        """The arithmetic beside the dtype (bf16 or None) and why, for the log, the HUD and the status."""
        if bf16_granted:
            return "bf16", f"bf16 as asked ({self.bf16.available()})"
        if preset.precision != "auto" or not on_cpu:
            return None, f"{preset.precision} as asked" if preset.precision != "auto" else "auto: fp16 on CUDA"
        size = self.process_size or preset.process_size or auto_process_size(self.device)
        choice = self.bf16.choose(self.networks.get(preset.network, self.device, torch.float32), size)
        return (choice.compute if choice.compute == "bf16" else None), f"auto {choice.reason}"

    def _net(self, preset: Preset) -> DreamNet:
        placement = self.placement(preset)
        return self.networks.get(preset.network, placement.device, placement.dtype)

    def settings(self) -> DreamSettings:
        preset = self.programme.current
        placement = self.placement(preset)
        net = self._net(preset)
        self.placement_now = placement
        self.backends.wanted = preset.backend
        self.backends.compute = placement.compute
        if self._objective_of is None or self._objective_of[0] is not preset or self._objective_of[2] is not net:
            objective = preset.build_objective(net)  # once per preset version, not per knob move
            self._objective_of = (preset, objective, net)
        shown, overrides, lr_gain = pulsed(preset, self.overrides, self.audio_gain, self.pulse)
        return dream_settings(shown, net, overrides, self.process_size, lr_gain=lr_gain,
                              objective=self._objective_of[1], placement=placement, mask=self.mask,
                              panorama=self.panorama, fit=self.fit, dreamer=self.dreamer,
                              backend=self.backends.override)  # fmt: skip

    def apply(self, announce: bool = True) -> None:
        """Send the current preset (with overrides) to the worker; announce a change."""
        try:
            self.worker.set_settings(self.settings())
        except DreamwallError as error:
            self.messages.report_error(f"preset {self.programme.current.name}: {error}")
            return
        if announce:
            preset = self.programme.current
            log.info("preset: %s", preset.summary())
            self.announce(preset)

    def change_preset(self, move: Move) -> None:
        """Run a playlist move (next, previous, select) and show its preset; with `quantize: beat | bar` and a
        running clock, on the next beat or bar line (follow_tempo lands it)."""
        mode = self.programme.quantize
        state = self.tempo.state() if self.tempo is not None and mode != "off" else None
        if state is None or not state.playing:
            move(None)
            self.show_new_preset()
            return
        beat = self.cued.ask(move, mode, state, state.at)
        log.info("preset change cued for beat %.2f (%s)", beat, mode)

    def follow_tempo(self, now: float) -> None:
        """Once per tick: land a cued change whose line has come, and move the pulse."""
        state = self.tempo.state(now) if self.tempo is not None else None
        moves, at = self.cued.due(state, now)
        if moves:
            for move in moves:
                try:
                    move(at)
                except DreamwallError as error:  # e.g. a preset number the playlist does not have
                    self.messages.report_error(str(error))
            self.show_new_preset()
        pulse = pulse_now(self.programme.current.pulse, state, now)
        if pulse[0] != self.pulse[0] or abs(pulse[1] - self.pulse[1]) >= PULSE_STEP:
            self.pulse = pulse
            self.apply(announce=False)

    def seconds_to_cue(self, now: float) -> float | None:
        state = self.tempo.latest if self.tempo is not None else None
        return self.cued.seconds_left(state, now)

    def show_new_preset(self) -> None:
        """A new preset starts from its own values: live overrides are cleared."""
        self.overrides = Overrides()
        self.apply()

    @property
    def intensity(self) -> float:
        if self.overrides.intensity is not None:
            return self.overrides.intensity
        return self.programme.current.intensity

    def set_overrides(self, intensity: float | None, feedback: float | None) -> None:
        """A knob move: both clamped to 0-1, applied without an announcement."""
        self.overrides = Overrides(_unit(intensity), _unit(feedback))
        self.apply(announce=False)

    def set_audio_gain(self, gain: float) -> None:
        self.audio_gain = gain
        self.apply(announce=False)

    def on_reloaded(self, preset: Preset) -> None:
        """A checked edit: build what the show needs first, so a failure keeps the last good preset on screen."""
        showing = preset.name == self.programme.current.name
        if showing:
            net = self._net(preset)
            try:
                self._objective_of = (preset, preset.build_objective(net), net)
            except DreamwallError as error:
                self.messages.report_error(f"preset {preset.name}: {error} (kept last good)")
                return
        self.programme.replace_preset(preset)
        if showing:
            self.messages.notify(f"reloaded preset {preset.name}")
            self.apply(announce=False)


def _unit(value: float | None) -> float | None:
    return None if value is None else min(1.0, max(0.0, value))
