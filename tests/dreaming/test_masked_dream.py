"""Masks in the live per-frame path: a disc moving over a still room dreams, the room shows the camera exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.attract import AttractParams
from engine.masks import MaskParams
from engine.networks import DreamNet
from engine.objectives import parse_objective
from engine.post import PostParams
from engine.step import StepParams, dream_step
from engine.temporal import FeedbackParams
from installation.commands.live import configure
from installation.common.cli import OneLineParser
from installation.dreaming.dreamer import FrameDreamer, autograd_factory
from installation.dreaming.looks import dream_settings
from installation.dreaming.settings import DreamSettings
from installation.presets.loader import DEFAULT_NAME, PresetLibrary
from installation.sources.capture import Frame
from installation.testing.scenes import disc_scene

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SIZE = (128, 72)


def dream(net: DreamNet, mode: str) -> tuple[FrameDreamer, np.ndarray, np.ndarray]:
    """(dreamer after the last frame, last camera frame, last shown frame)."""
    settings = DreamSettings(
        net=net, objective=parse_objective("fire3", net), step=StepParams(lr=0.05, jitter=4), steps=2,
        feedback=FeedbackParams(feedback=0.8, flow=False), process_size=SIZE,
        post=PostParams(saturation=1.4, contrast=1.2), attract=AttractParams(enabled=False, lost_after_s=0),
        mask=MaskParams(mode, 1.0, 3.0),
    )  # fmt: skip
    shown: list[np.ndarray] = []
    clock = iter(range(1000))
    dreamer = FrameDreamer(autograd_factory, dream_step, None, 0, lambda: next(clock) / 10,
                           lambda image, *_: shown.append(image), None)  # fmt: skip
    frames = disc_scene(6, SIZE)
    for seq, image in enumerate(frames, 1):
        dreamer.camera(Frame(image, seq, seq / 10), settings, 1, None)
    return dreamer, frames[-1], shown[-1]


def test_only_the_visitor_dreams_and_the_room_is_the_camera_exactly(squeezenet: DreamNet) -> None:
    dreamer, camera, shown = dream(squeezenet, "visitors")
    difference = np.abs(shown.astype(int) - camera.astype(int)).sum(axis=2)
    assert difference[:, :30].max() == 0 and difference[:12].max() == 0  # far from the disc: the camera itself
    assert difference[30:42, 58:70].mean() > 5  # the disc (centred at x=64) dreams
    assert dreamer.mask is not None and dreamer.last_output is not None
    source = torch.from_numpy(camera).permute(2, 0, 1).float().div_(255.0)
    dreamt = dreamer.last_output[0]  # what the next frame builds on: no detail carried or grown in the room
    assert torch.equal(dreamt[..., :30], source[..., :30]) and not torch.equal(dreamt[..., 58:70], source[..., 58:70])
    mask = dreamer.mask[0, 0].numpy()
    assert np.abs(np.diff(mask, axis=1)).max() < 0.25 and np.abs(np.diff(mask, axis=0)).max() < 0.25  # no hard edge


def test_room_mode_is_the_opposite(squeezenet: DreamNet) -> None:
    _, camera, shown = dream(squeezenet, "room")
    difference = np.abs(shown.astype(int) - camera.astype(int)).sum(axis=2)
    assert difference[32:40, 60:68].max() == 0 and difference[:, :30].mean() > 5


def test_without_a_mask_everything_dreams(squeezenet: DreamNet) -> None:
    dreamer, camera, shown = dream(squeezenet, "none")
    assert dreamer.mask is None
    assert np.abs(shown.astype(int) - camera.astype(int)).sum(axis=2)[:, :30].mean() > 5


def test_the_preset_keys_and_the_live_flag_reach_the_settings(squeezenet: DreamNet) -> None:
    preset = PresetLibrary(Path("presets")).load(DEFAULT_NAME)
    assert dream_settings(preset, squeezenet).mask == MaskParams(preset.mask, preset.mask_strength,
                                                                 preset.mask_feather)  # fmt: skip
    assert dream_settings(preset, squeezenet, mask="room").mask.mode == "room"
    parser = OneLineParser()
    configure(parser)
    assert parser.parse_args(["--mask", "visitors"]).mask == "visitors"
