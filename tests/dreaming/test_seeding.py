"""A preset's `seed` decides its dreams in the live show; `--seed` overrides every preset's.

Same frames, same seed: the same dreams; another seed: other dreams. A preset change
to another seed re-seeds the jitter generator and the jitter walk from their start;
a change that keeps the seed (a knob) carries both on.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import Tensor

from engine.networks import DreamNet
from engine.objectives import Objective
from engine.step import GradientFn, JitterWalk, StepParams, dream_step
from installation.commands import live
from installation.dreaming.dreamer import FrameDreamer, autograd_factory
from installation.dreaming.looks import dream_settings
from installation.dreaming.settings import DreamMode, DreamSettings
from installation.dreaming.worker import DreamWorker
from installation.presets.loader import load_preset
from installation.sources.capture import Frame

SIZE = (64, 48)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def frames(chelsea: np.ndarray) -> list[Frame]:
    photo = cv2.resize(chelsea, SIZE, interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(5)
    images = [np.clip(photo.astype(int) + rng.integers(-5, 6, photo.shape), 0, 255).astype(np.uint8)
              for _ in range(3)]  # fmt: skip
    return [Frame(image, seq, float(seq)) for seq, image in enumerate(images, start=1)]


def preset_settings(folder: Path, name: str, seed: int, net: DreamNet) -> DreamSettings:
    """The shipped defaults with only `seed` changed, at a small size and one step so the test is quick."""
    path = folder / f"{name}.yaml"
    path.write_text(f"seed: {seed}\n")
    return dream_settings(load_preset(path), net).replace(process_size=SIZE, steps=1)


class ListFeed:
    """Hands out fixed frames strictly in order, then nothing (the worker's own timeout paces it)."""

    def __init__(self, frames: list[Frame]) -> None:
        self.frames = frames

    def wait_newer(self, after_seq: int, timeout: float | None = None) -> Frame | None:
        return self.frames[after_seq] if after_seq < len(self.frames) else None


def last_dream(frames: list[Frame], settings: DreamSettings, seed: int | None = None) -> np.ndarray:
    """The dream of the last frame after dreaming them all in order."""
    with DreamWorker(ListFeed(frames), settings, seed=seed, wait_timeout=0.01) as worker:
        seq = 0
        while (dream := worker.wait_newer(seq, timeout=20.0)) is not None and dream.source_seq < len(frames):
            seq = dream.seq
    assert dream is not None and dream.source_seq == len(frames), worker.health()
    return dream.image


def test_presets_differing_only_in_seed_dream_differently_and_the_same_seed_alike(
    frames: list[Frame], squeezenet: DreamNet, tmp_path: Path
) -> None:
    three, again, four = (preset_settings(tmp_path, name, seed, squeezenet)
                          for name, seed in (("a", 3), ("b", 3), ("c", 4)))  # fmt: skip
    assert (three.seed, four.seed) == (3, 4)
    first = last_dream(frames, three)
    assert np.array_equal(first, last_dream(frames, again))
    assert not np.array_equal(first, last_dream(frames, four))


def test_the_seed_option_overrides_every_presets_seed(frames: list[Frame], squeezenet: DreamNet,
                                                      tmp_path: Path) -> None:  # fmt: skip
    three, four = preset_settings(tmp_path, "a", 3, squeezenet), preset_settings(tmp_path, "c", 4, squeezenet)
    assert np.array_equal(last_dream(frames, three, seed=9), last_dream(frames, four, seed=9))
    assert not np.array_equal(last_dream(frames, three, seed=9), last_dream(frames, three))


def test_live_seed_defaults_to_the_presets_and_overrides_when_given() -> None:
    parser = argparse.ArgumentParser()
    live.configure(parser)
    assert live.config_from_args(parser.parse_args([])).seed is None
    assert live.config_from_args(parser.parse_args(["--seed", "9"])).seed == 9


class StepLog:
    """Dreams as engine.step does and notes each step's generator seed and jitter-walk roll."""

    def __init__(self) -> None:
        self.steps: list[tuple[int, tuple[int, int] | None]] = []

    def __call__(self, net: DreamNet, image: Tensor, objective: Objective, params: StepParams,
                 generator: torch.Generator, gradient: GradientFn | None) -> Tensor:  # fmt: skip
        self.steps.append((generator.initial_seed(), params.shift))
        return dream_step(net, image, objective, params, generator, gradient)


def dreamer_steps(frames: list[Frame], settings: list[tuple[DreamSettings, int]]) -> StepLog:
    """Each frame dreamt on this thread with the matching (settings, version); the steps it took."""
    log = StepLog()

    def publish(image: np.ndarray, frame: Frame | None, label: str, mode: DreamMode, started: float) -> None:
        pass

    dreamer = FrameDreamer(autograd_factory, log, None, None, lambda: 0.0, publish, None)
    for frame, (chosen, version) in zip(frames, settings, strict=True):
        dreamer.camera(frame, chosen, version, None)
    return log


def test_a_preset_with_another_seed_restarts_the_generator_and_the_walk(
    frames: list[Frame], squeezenet: DreamNet, tmp_path: Path
) -> None:
    def walking(settings: DreamSettings) -> DreamSettings:
        return settings.replace(step=dataclasses.replace(settings.step, jitter_walk=1))  # a new roll every step

    three = walking(preset_settings(tmp_path, "a", 3, squeezenet))
    five = walking(preset_settings(tmp_path, "e", 5, squeezenet))
    jitter = three.step.jitter

    def rolls(seed: int, steps: range) -> list[tuple[int, tuple[int, int]]]:
        return [(seed, JitterWalk(seed).shift(step, jitter, 1)) for step in steps]

    switched = dreamer_steps(frames, [(three, 0), (three, 0), (five, 1)]).steps
    assert switched == rolls(3, range(2)) + rolls(5, range(1))  # generator and walk start again at 5's first roll
    knob = dreamer_steps(frames, [(three, 0), (three, 0), (three.replace(label="knob"), 1)]).steps
    assert knob == rolls(3, range(3))  # same seed: the walk carries on across a settings change
