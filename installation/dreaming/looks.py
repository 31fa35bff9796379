"""Presets become dream settings: networks loaded once, objectives built, control overrides applied."""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass

import torch

from engine.networks import DreamNet, load_network
from engine.objectives import Objective
from engine.panorama import panorama_settings
from installation.dreaming.placement import Placement
from installation.dreaming.settings import DreamSettings
from installation.dreaming.students import STUDENTS, StudentCache
from installation.presets.loader import Preset

log = logging.getLogger(__name__)


class NetworkCache:
    """Each network is loaded once per (network, device, dtype), however many presets use it."""

    def __init__(self) -> None:
        self._nets: dict[tuple[str, torch.device, torch.dtype], DreamNet] = {}
        self._lock = threading.Lock()

    def get(self, name: str, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> DreamNet:
        key = (name, torch.device(device), dtype)
        with self._lock:
            if key not in self._nets:
                log.info("loading network %s on %s (%s)", name, key[1], str(dtype).removeprefix("torch."))
                self._nets[key] = load_network(name).to(device=key[1], dtype=dtype)
            return self._nets[key]


@dataclass(frozen=True)
class Overrides:
    """What live controls changed on top of the preset (cleared when the preset changes)."""

    intensity: float | None = None  # 0-1 share of the preset's lr_max
    feedback: float | None = None   # 0-1


def dream_settings(
    preset: Preset,
    net: DreamNet,
    overrides: Overrides = Overrides(),
    process_size: tuple[int, int] | None = None,
    lr_gain: float = 1.0,
    objective: Objective | None = None,
    placement: Placement | None = None,
    mask: str | None = None,
    panorama: bool = False,
    fit: str | None = None,
    dreamer: str | None = None,
    backend: str | None = None,
    students: StudentCache = STUDENTS,
) -> DreamSettings:
    """The worker's settings for `preset` (objective built against the real network).

    `lr_gain` multiplies the step size (audio-reactive), never beyond the preset's lr_max.
    `objective`: the preset's objective already built (knobs change settings many times a
    second; a guide objective costs a forward pass to build).
    `placement`: the device and dtype `net` lives on (default: the CPU in fp32).
    `mask`: who dreams, instead of the preset's mask (the --mask flag); None = the preset's.
    `panorama`: dream the input as a 360-degree panorama whatever the preset says (the --panorama flag).
    `fit`: how the frame meets the screen, instead of the preset's (the --fit flag); None = the preset's.
    `dreamer`: gradient or student, instead of the preset's (the --dreamer flag); None = the preset's.
    `backend`: where the student runs, instead of the preset's (the --backend flag; the gradient's backend is the
    worker's gradient factory's); None = the preset's.
    `students`: where a preset with `dreamer: student` finds its look's student (loaded once per file).
    """
    if dreamer is not None:
        preset = dataclasses.replace(preset, dreamer=dreamer)
    if backend is not None:
        preset = dataclasses.replace(preset, backend=backend)
    if overrides.intensity is not None:
        preset = preset.with_intensity(overrides.intensity)
    if lr_gain != 1.0:
        preset = preset.with_intensity(min(1.0, preset.intensity * lr_gain))
    feedback = overrides.feedback if overrides.feedback is not None else preset.feedback
    objective = objective if objective is not None else preset.build_objective(net)
    step, feedback_params = preset.step_params(), dataclasses.replace(preset.feedback_params(), feedback=feedback)
    device = placement.device if placement is not None else torch.device("cpu")
    dtype = placement.dtype if placement is not None else torch.float32
    compute = placement.compute if placement is not None else None
    student, notice = students.get(preset, device, dtype, compute) if preset.dreamer == "student" else (None, None)
    if preset.panorama or panorama:
        step, feedback_params = panorama_settings(step, feedback_params, net, objective.layers)
    return DreamSettings(
        net=net,
        objective=objective,
        step=step,
        steps=preset.steps,
        feedback=feedback_params,
        post=preset.post_params(),
        process_size=process_size or preset.process_size,
        label=preset.name,
        motion=preset.motion_params(),
        attract=preset.attract_params(),
        device=device,
        dtype=dtype,
        compose=preset.compose,
        seed=preset.seed,
        mask=preset.mask_params() if mask is None else dataclasses.replace(preset.mask_params(), mode=mask),
        fit=preset.fit if fit is None else fit,
        dreamer=preset.dreamer,
        student=student,
        dreamer_notice=notice,
    )
