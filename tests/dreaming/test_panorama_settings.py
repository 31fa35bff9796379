"""`panorama: true` and `render --panorama` reach the step, the feedback warp and the per-size gradient backends."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from engine.networks import DreamNet
from engine.objectives import Objective
from engine.panorama import panorama_pad
from engine.step import GradientFn, autograd_gradient, dream_step
from installation.commands import live as live_command
from installation.commands import render as render_command
from installation.dreaming.dreamer import FrameDreamer
from installation.dreaming.looks import dream_settings
from installation.presets.loader import DEFAULT_NAME, PresetLibrary
from installation.rendering.frame_dreamer import render_settings
from installation.sources.capture import Frame

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_a_panorama_preset_pads_the_step_and_wraps_the_warp(squeezenet: DreamNet) -> None:
    preset = PresetLibrary(Path("presets")).load(DEFAULT_NAME)
    flat = dream_settings(preset, squeezenet)
    assert flat.step.panorama_pad == 0 and not flat.feedback.wrap
    wide = dream_settings(dataclasses.replace(preset, panorama=True), squeezenet)
    assert wide.step.panorama_pad == panorama_pad(squeezenet, wide.objective.layers) > 0 and wide.feedback.wrap


def test_render_takes_the_panorama_flag(squeezenet: DreamNet) -> None:
    parser = argparse.ArgumentParser()
    render_command.configure(parser)
    preset = PresetLibrary(Path("presets")).load(DEFAULT_NAME)
    objective = preset.objective_on(squeezenet)
    for flags, padded in (([], False), (["--panorama"], True)):
        args = parser.parse_args(["in.mp4", "-o", "out.mp4", *flags])
        settings = render_settings(preset, args, squeezenet, objective, (128, 64))
        assert (settings.step.panorama_pad > 0, settings.feedback.wrap) == (padded, padded)


def test_live_takes_the_panorama_flag_for_every_preset(squeezenet: DreamNet) -> None:
    parser = argparse.ArgumentParser()
    live_command.configure(parser)
    preset = PresetLibrary(Path("presets")).load(DEFAULT_NAME)
    assert not preset.panorama
    for flags, padded in (([], False), (["--panorama"], True)):
        config = live_command.config_from_args(parser.parse_args(flags))
        settings = dream_settings(preset, squeezenet, panorama=config.panorama)
        assert (settings.step.panorama_pad > 0, settings.feedback.wrap) == (padded, padded)


def test_backends_built_per_size_are_built_for_the_padded_size(squeezenet: DreamNet) -> None:
    preset = dataclasses.replace(PresetLibrary(Path("presets")).load(DEFAULT_NAME), panorama=True)
    settings = dream_settings(preset, squeezenet, process_size=(128, 64))
    sizes: list[tuple[int, int]] = []

    def factory(net: DreamNet, objective: Objective, size: tuple[int, int]) -> GradientFn:
        sizes.append(size)
        return autograd_gradient(net, objective)

    dreamer = FrameDreamer(factory, dream_step, None, 0, lambda: 0.0, lambda *_: None, None)
    dreamer.camera(Frame(np.full((64, 128, 3), 90, np.uint8), 1, 0.0), settings, 1, None)
    pad = min(settings.step.panorama_pad, 128)
    assert sizes == [(128 + 2 * pad, 64)]
