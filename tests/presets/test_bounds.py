"""One table of bounds: the preset schema, the engine's parameter classes and the CLI all use engine.bounds."""

from __future__ import annotations

import argparse

import pytest

from engine.attract import AttractParams
from engine.bounds import BOUNDS, check_bound
from engine.errors import DreamwallError
from engine.post import PostParams
from engine.reactive import MotionLevel, ReactiveMapping
from engine.step import OctaveParams, StepParams
from engine.temporal import FeedbackParams
from installation.common.cli import number_arg, parse_size, whole_arg
from installation.presets.loader import SCHEMA

SCHEMA_BOUNDS = {  # preset key path -> its setting in the table
    "lr": "lr", "lr_max": "lr_max", "steps": "steps", "jitter": "jitter", "jitter_walk": "jitter_walk",
    "smooth": "smooth", "tv": "tv", "feedback": "feedback", "seed": "seed", "post.saturation": "saturation",
    "post.contrast": "contrast", "post.brightness": "brightness", "post.gamma": "gamma", "post.mix": "mix",
    "motion.sensitivity": "motion_sensitivity",
    "motion.smoothing": "motion_smoothing", "motion.floor": "motion_floor", "attract.after": "attract_after",
    "attract.zoom": "attract_zoom", "attract.rotate": "attract_rotate", "attract.fade": "attract_fade",
    "render.octaves": "octaves", "render.octave_scale": "octave_scale", "render.steps": "render_steps",
    "mask_strength": "mask_strength", "mask_feather": "mask_feather", "pulse.depth": "pulse_depth",
}  # fmt: skip
SPAN_BOUNDS = {"duration": "duration", "transition": "transition"}  # seconds, or beats and bars (engine.beats)


def test_every_numeric_preset_key_has_the_tables_range():
    numeric = {key for key, rule in SCHEMA.items() if rule.expected.startswith(("number", "whole number"))}
    assert numeric == set(SCHEMA_BOUNDS)
    for key, name in SCHEMA_BOUNDS.items():
        bound = BOUNDS[name]
        low, high = (int(bound.low), int(bound.high)) if SCHEMA[key].expected.startswith("whole") else (
            f"{bound.low:g}", f"{bound.high:g}")  # fmt: skip
        assert SCHEMA[key].expected.endswith(f" {low} to {high}"), key
    spans = {key for key, rule in SCHEMA.items() if rule.expected.startswith("seconds")}
    assert spans == set(SPAN_BOUNDS)
    for key, name in SPAN_BOUNDS.items():
        seconds, beats = BOUNDS[name], BOUNDS[f"{name}_beats"]
        assert SCHEMA[key].expected.startswith(f"seconds {seconds.low:g}-{seconds.high:g} "), key
        assert f"({beats.low:g}-{beats.high:g} beats)" in SCHEMA[key].expected, key


def test_live_steps_and_render_steps_are_different_settings():
    assert (BOUNDS["steps"].low, BOUNDS["steps"].high) == (1, 50)  # per camera frame
    assert (BOUNDS["render_steps"].low, BOUNDS["render_steps"].high) == (1, 1000)  # per octave of a still
    with pytest.raises(DreamwallError, match=r"^steps must be between 1 and 50, got 51$"):
        check_bound("steps", 51)
    assert OctaveParams(steps=51).steps == 51


@pytest.mark.parametrize(("build", "name", "outside"), [
    (lambda v: StepParams(lr=v), "lr", 5.0),
    (lambda v: StepParams(jitter_walk=v), "jitter_walk", -1),
    (lambda v: OctaveParams(steps=v), "render_steps", 1001),
    (lambda v: OctaveParams(scale=v), "octave_scale", 0.5),
    (lambda v: FeedbackParams(max_detail=v), "max_detail", 2.0),
    (lambda v: PostParams(brightness=v), "brightness", 0.75),
    (lambda v: MotionLevel(smoothing_s=v), "motion_smoothing", 11.0),
    (lambda v: ReactiveMapping(floor=v), "motion_floor", 2.0),
    (lambda v: AttractParams(zoom_per_s=v), "attract_zoom", 1.5),
    (lambda v: AttractParams(fade_s=v), "attract_fade", 20.0),
])  # fmt: skip
def test_the_engines_parameter_classes_refuse_what_the_table_refuses(build, name, outside):
    bound = BOUNDS[name]
    build(bound.low), build(bound.high)  # both ends are allowed
    with pytest.raises(DreamwallError) as error:
        build(outside)
    assert str(error.value) == f"{bound.label} must be between {bound.low:g} and {bound.high:g}, got {outside:g}"


def test_the_command_line_options_take_their_range_and_label_from_the_table():
    assert whole_arg("render_steps")("1000") == 1000
    with pytest.raises(argparse.ArgumentTypeError, match=r"^steps must be between 1 and 1000, got 0$"):
        whole_arg("render_steps")("0")
    with pytest.raises(argparse.ArgumentTypeError, match=r"^octave scale must be a number between 1 and 4, got 'x'$"):
        number_arg("octave_scale")("x")
    assert parse_size("7680x4320") == (7680, 4320)
    with pytest.raises(DreamwallError, match=r"^height must be between 16 and 4320, got 4321$"):
        parse_size("640x4321")
