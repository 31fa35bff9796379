"""The dream breathes with the music: a preset's `pulse` turned into a gain on intensity, feedback or mix."""

from __future__ import annotations

import dataclasses

from engine.beats import pulse_gain
from installation.dreaming.looks import Overrides
from installation.presets.schema import Preset, Pulse
from installation.tempo.clock import BeatState

NO_PULSE = ("off", 1.0)


def pulse_now(pulse: Pulse, state: BeatState | None, now: float) -> tuple[str, float]:
    """(target, gain) at `now`: the shape over `every` beats, counted from the bar line; (off, 1) without a
    running clock (no tempo, or the transport stopped: the dream holds still with the band)."""
    if pulse.target == "off" or state is None or not state.playing:
        return NO_PULSE
    period = pulse.every.beats(state.beats_per_bar)
    phase = (state.beat_at(now) % period) / period
    return pulse.target, pulse_gain(pulse.shape, phase, pulse.depth)


def pulsed(preset: Preset, overrides: Overrides, lr_gain: float, pulse: tuple[str, float]
           ) -> tuple[Preset, Overrides, float]:  # fmt: skip
    """The preset, knobs and lr gain the dream uses with `pulse` applied on top of the live knobs."""
    target, gain = pulse
    if target == "intensity":
        return preset, overrides, lr_gain * gain
    if target == "feedback":
        feedback = overrides.feedback if overrides.feedback is not None else preset.feedback
        return preset, dataclasses.replace(overrides, feedback=feedback * gain), lr_gain
    if target == "mix":
        post = dataclasses.replace(preset.post, mix=preset.post.mix * gain)
        return dataclasses.replace(preset, post=post), overrides, lr_gain
    return preset, overrides, lr_gain
