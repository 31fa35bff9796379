"""`render --mask`: the offline frame dreamer masks like the live one, and the flag reaches its settings."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from engine.masks import MaskParams
from engine.networks import DreamNet
from engine.objectives import parse_objective
from engine.post import PostParams
from engine.step import OctaveParams, StepParams
from engine.temporal import FeedbackParams
from installation.commands import render as render_command
from installation.presets.loader import DEFAULT_NAME, PresetLibrary
from installation.rendering.frame_dreamer import FrameDreamer, RenderSettings, render_settings
from installation.testing.scenes import disc_scene

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SIZE = (128, 72)


def test_a_masked_render_dreams_the_visitor_and_keeps_the_room(squeezenet: DreamNet) -> None:
    objective = parse_objective("fire3", squeezenet)
    settings = RenderSettings(
        network=squeezenet.name, objective=objective.description, size=SIZE, step=StepParams(lr=0.05, jitter=4),
        octaves=OctaveParams(octaves=2, steps=2), feedback=FeedbackParams(feedback=0.8, flow=False),
        post=PostParams(contrast=1.3), seed=1, mask=MaskParams("visitors", 1.0, 3.0),
    )  # fmt: skip
    dreamer = FrameDreamer(squeezenet, objective, settings, fps=10)
    frames = disc_scene(6, SIZE)
    for index, rgb in enumerate(frames):
        shown, _ = dreamer(index, rgb)
    difference = np.abs(shown.astype(int) - frames[-1].astype(int)).sum(axis=2)
    assert difference[:, :30].max() == 0 and difference[30:42, 58:70].mean() > 5


def test_the_mask_flag_overrides_the_preset(squeezenet: DreamNet) -> None:
    parser = argparse.ArgumentParser()
    render_command.configure(parser)
    preset = PresetLibrary(Path("presets")).load(DEFAULT_NAME)
    objective = preset.objective_on(squeezenet)

    def mask_of(*flags: str) -> str:
        args = parser.parse_args(["in.mp4", "-o", "out.mp4", *flags])
        return render_settings(preset, args, squeezenet, objective, SIZE).mask.mode

    assert (mask_of(), mask_of("--mask", "room")) == (preset.mask, "room")
