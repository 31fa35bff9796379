"""A preset's pulse: the dream's intensity (feedback, mix) follows the chosen shape across a bar."""

from __future__ import annotations

import dataclasses

import pytest

from engine.beats import Span, shape_value
from engine.networks import load_network
from installation.dreaming.looks import Overrides, dream_settings
from installation.presets.loader import PRESETS_DIR, load_preset
from installation.presets.schema import Pulse
from installation.tempo.clock import BeatState
from installation.tempo.pulse import NO_PULSE, pulse_now, pulsed

NET = load_network("squeezenet1_1")  # the embedded weights; dream_settings never runs it


def settings_at(preset, state, now, overrides=None):
    knobs = overrides if overrides is not None else Overrides()
    shown, knobs, lr_gain = pulsed(preset, knobs, 1.0, pulse_now(preset.pulse, state, now))
    objective = preset.build_objective(NET)
    return dream_settings(shown, NET, knobs, lr_gain=lr_gain, objective=objective)


@pytest.mark.parametrize("shape", ["sine", "triangle", "saw", "square", "exp_decay"])
def test_intensity_follows_the_shape_across_a_bar(shape):
    base = load_preset(PRESETS_DIR / "default.yaml")
    preset = dataclasses.replace(base, pulse=Pulse("intensity", shape, Span(1, "bars"), 0.5))
    state = BeatState(120.0, 8.0, 4, True, "link", at=0.0, peers=1)  # bar 3's downbeat at t=0; a bar is 2 s
    for step in range(16):
        now = step * 2.0 / 16
        expected = base.lr * (1 - 0.5 * (1 - shape_value(shape, step / 16)))
        assert settings_at(preset, state, now).step.lr == pytest.approx(expected, rel=1e-6), (shape, step)


def test_feedback_and_mix_pulse_on_every_beat_and_the_knobs_stay_under_it():
    base = load_preset(PRESETS_DIR / "default.yaml")
    state = BeatState(100.0, 0.0, 4, True, "midi", at=0.0)
    half_beat = 0.3  # at 100 BPM
    feedback = dataclasses.replace(base, pulse=Pulse("feedback", "sine", Span(1, "beats"), 0.4))
    assert settings_at(feedback, state, 0.0).feedback.feedback == pytest.approx(base.feedback)
    assert settings_at(feedback, state, half_beat).feedback.feedback == pytest.approx(base.feedback * 0.6)
    knob = settings_at(feedback, state, half_beat, Overrides(feedback=0.5)).feedback.feedback
    assert knob == pytest.approx(0.3)  # the pulse swells the knob's value, not the preset's
    mix = dataclasses.replace(base, pulse=Pulse("mix", "square", Span(1, "beats"), 1.0))
    assert settings_at(mix, state, 0.1).post.mix == pytest.approx(base.post.mix)
    assert settings_at(mix, state, 0.4).post.mix == 0.0


def test_no_pulse_without_a_running_clock():
    pulse = Pulse("intensity", "sine", Span(1, "beats"), 0.5)
    assert pulse_now(pulse, None, 1.0) == NO_PULSE  # no tempo source: seconds, as before
    stopped = BeatState(120.0, 2.5, 4, False, "midi", at=0.0)
    assert pulse_now(pulse, stopped, 1.0) == NO_PULSE  # the band stopped: the dream holds still
    assert pulse_now(Pulse("off", "sine", Span(1, "beats"), 0.5), stopped, 0.0) == NO_PULSE
