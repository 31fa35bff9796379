"""A tiny distillation: small crops, a one-octave two-step teacher and a narrow student, for CPU tests."""

from __future__ import annotations

import dataclasses

from engine.networks import DreamNet
from engine.step import OctaveParams
from engine.student import LossWeights, StudentShape
from installation.distill.data import builtin_pictures
from installation.distill.student_file import look_hash, look_settings
from installation.distill.train import DistillConfig, Distiller, Teacher
from installation.presets.loader import PresetLibrary

TINY = StudentShape(quarter=4, eighth=8, blocks=1)


def tiny_distiller(net: DreamNet, preset: str = "default", **changes: object) -> Distiller:
    look_preset = PresetLibrary().load(preset)
    teacher = Teacher(net, look_preset.build_objective(net), dataclasses.replace(look_preset.step_params(),
                      jitter_walk=0, lr=0.05), OctaveParams(octaves=1, steps=2))  # fmt: skip
    look = look_settings(look_preset)
    values: dict[str, object] = dict(preset=preset, look=look, look_hash=look_hash(look), teacher_lr=0.05,
                                     source="builtin", size=48, crops=4, eval_crops=2, batch=2, steps=40,
                                     learning_rate=3e-3, shape=TINY, weights=LossWeights())  # fmt: skip
    values.update(changes)
    return Distiller(DistillConfig(**values), teacher, builtin_pictures())  # type: ignore[arg-type]
