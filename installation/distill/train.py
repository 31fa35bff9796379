"""Training a student from a look's gradient dream: teacher dreams, the loop, evaluation, checkpoints.

Everything that decides the result comes from the config and the seed: the crops (from (seed)),
each teacher dream (from (seed, crop index)), the batches and the equivariance draws (one
generator whose state the checkpoint keeps). Teacher dreams are kept as 8-bit pictures, as a
checkpoint stores them, so a resumed run trains on exactly what an uninterrupted one does: on the
same thread count, the same weights (torch's float sums depend on the thread count).
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from engine.errors import DreamwallError
from engine.networks import DreamNet
from engine.objectives import Objective
from engine.step import OctaveParams, StepParams, dream_octaves
from engine.student import LossWeights, StudentNet, StudentShape, objective_gain, student_losses
from engine.student.losses import objective_value
from installation.common.atomic import atomic_write_bytes
from installation.distill.data import Pictures, crops
from installation.distill.student_file import LOAD_ERRORS

CHECKPOINT_FORMAT = "dreamwall-distill-checkpoint"


@dataclass(frozen=True)
class DistillConfig:
    """What decides the student's weights (a resume must match it): not the time limit or the output name."""

    preset: str
    look: dict[str, Any]
    look_hash: str
    teacher_lr: float
    source: str  # "builtin", "images:DIR" or "video:FILE"
    size: int = 128
    crops: int = 192
    eval_crops: int = 12
    batch: int = 4
    steps: int = 100_000
    learning_rate: float = 5e-3
    seed: int = 0
    shape: StudentShape = field(default_factory=StudentShape)
    weights: LossWeights = field(default_factory=LossWeights)

    def as_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))


@dataclass(frozen=True)
class Teacher:
    """The look's gradient dream of a still (octaves, as `run.py dream` with the preset)."""

    net: DreamNet
    objective: Objective
    step: StepParams
    octaves: OctaveParams

    def dream(self, frame: Tensor, seed: int, index: int) -> Tensor:
        """The still dream of `frame` on the network's device, back on the CPU."""
        generator = torch.Generator().manual_seed(seed * 1_000_003 + index)
        device = next(self.net.parameters()).device
        return dream_octaves(self.net, frame.to(device), self.objective, self.step, self.octaves, generator).cpu()


def _u8(x: Tensor) -> Tensor:
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


def _stack(pictures: list[Tensor]) -> Tensor:
    return torch.stack(pictures) if pictures else torch.empty(0, dtype=torch.uint8)


def _f(x: Tensor) -> Tensor:
    return x.float() / 255


Progress = Callable[[str, int, int, str], None]
"""(phase "teacher" | "train", done, total, detail) -> None."""


class Distiller:
    """The state of one distillation: data, teacher dreams made so far, student, optimiser, step."""

    def __init__(self, config: DistillConfig, teacher: Teacher, pictures: Pictures | None,
                 device: torch.device | None = None) -> None:  # fmt: skip
        """`device`: where the student trains and the teacher dreams (the teacher's network must be there; default
        the CPU). Crops, teacher dreams and checkpoints stay on the CPU."""
        self.config = config
        self.teacher = teacher
        self.device = device or torch.device("cpu")
        for p in teacher.net.parameters():
            p.requires_grad_(False)
        torch.manual_seed(config.seed)
        self.student = StudentNet(config.shape).to(self.device)
        self.optimizer = torch.optim.AdamW(self.student.parameters(), lr=config.learning_rate, weight_decay=1e-4)
        self.generator = torch.Generator().manual_seed(config.seed + 7)
        self.step = 0
        self.seconds = 0.0  # training time over every run of this distillation
        if pictures is not None:
            train, evaluation = pictures
            self.frames = crops(train, config.crops, config.size, config.seed)
            self.eval_frames = crops(evaluation, config.eval_crops, config.size, config.seed + 1, jitter=False)
        self.teachers: list[Tensor] = []
        self.eval_teachers: list[Tensor] = []
        self.history: list[tuple[int, float]] = []

    # ------------------------------------------------------------------ teacher dreams

    def make_teachers(self, progress: Progress | None = None) -> None:
        """Dream every crop not dreamt yet (evaluation crops first: they are few); resumable crop by crop."""
        total = len(self.frames) + len(self.eval_frames)
        while len(self.eval_teachers) < len(self.eval_frames):
            i = len(self.eval_teachers)
            self.eval_teachers.append(_u8(self.teacher.dream(_f(self.eval_frames[i : i + 1]), self.config.seed,
                                                             1_000_000 + i))[0])  # fmt: skip
            if progress:
                progress("teacher", len(self.eval_teachers) + len(self.teachers), total, "")
        while len(self.teachers) < len(self.frames):
            i = len(self.teachers)
            self.teachers.append(_u8(self.teacher.dream(_f(self.frames[i : i + 1]), self.config.seed, i))[0])
            if progress:
                progress("teacher", len(self.eval_teachers) + len(self.teachers), total, "")

    # ------------------------------------------------------------------ training

    def learning_rate(self, step: int) -> float:
        """Linear warm-up over 50 steps, then a cosine to a tenth over the planned steps."""
        c = self.config
        warm = min(1.0, (step + 1) / 50)
        t = min(1.0, step / max(1, c.steps))
        return c.learning_rate * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))

    def train_step(self) -> dict[str, float]:
        c = self.config
        index = torch.randint(0, len(self.frames), (c.batch,), generator=self.generator)
        frames = _f(self.frames[index]).to(self.device)
        teacher = _f(torch.stack([self.teachers[int(i)] for i in index])).to(self.device)
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate(self.step)
        self.student.train()
        terms = student_losses(self.student, self.teacher.net, self.teacher.objective, frames, teacher, c.weights,
                               self.generator)  # fmt: skip
        self.optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        torch.nn.utils.clip_grad_norm_(self.student.parameters(), 1.0)
        self.optimizer.step()
        self.step += 1
        values = {k: float(v.detach()) for k, v in terms.items()}
        self.history.append((self.step, values["total"]))
        del self.history[:-1000]
        return values

    def train(self, until_step: int, deadline: float | None = None, progress: Progress | None = None,
              clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        """Train to `until_step` (or until `deadline` on `clock`); KeyboardInterrupt leaves a consistent state."""
        ema: float | None = None
        while self.step < until_step:
            if deadline is not None and clock() >= deadline:
                break
            began = clock()
            values = self.train_step()
            self.seconds += clock() - began
            ema = values["total"] if ema is None else 0.95 * ema + 0.05 * values["total"]
            if progress:
                progress("train", self.step, until_step, f"loss {ema:+.3f}")

    # ------------------------------------------------------------------ evaluation

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """On the held-out crops: the teacher's and the student's objective gain, their ratio (the fidelity),
        and the student's distance to the teacher in detail and in the objective's features (relative)."""
        net, objective = self.teacher.net, self.teacher.objective
        frames = _f(self.eval_frames).to(self.device)
        teacher = _f(torch.stack(self.eval_teachers)).to(self.device)
        self.student.eval()
        detail = torch.cat([self.student(frames[i : i + 4]) for i in range(0, len(frames), 4)])
        student = (frames + detail).clamp(0, 1)
        teacher_gain = float(objective_gain(net, objective, frames, teacher))
        student_gain = float(objective_gain(net, objective, frames, student))
        target = teacher - frames
        layers = objective.layers
        feats_t = net.forward_to(teacher, layers)
        feats_s = net.forward_to(student, layers)
        feats_x = net.forward_to(frames, layers)
        feature = sum(float((feats_s[k] - feats_t[k]).abs().mean()) for k in layers)
        feature_ref = sum(float((feats_x[k] - feats_t[k]).abs().mean()) for k in layers)
        return {
            "teacher_gain": round(teacher_gain, 4),
            "student_gain": round(student_gain, 4),
            "fidelity": round(student_gain / teacher_gain, 4) if teacher_gain > 0 else 0.0,
            "detail_distance": round(float((detail - target).abs().mean() / target.abs().mean().clamp_min(1e-8)), 4),
            "feature_distance": round(feature / max(feature_ref, 1e-8), 4),
            "objective_frame": round(float(objective_value(net, objective, frames)), 4),
            "crops": len(frames),
        }

    # ------------------------------------------------------------------ checkpoints

    def checkpoint_bytes(self) -> bytes:
        buffer = io.BytesIO()
        torch.save({
            "format": CHECKPOINT_FORMAT,
            "config": json.dumps(self.config.as_dict(), sort_keys=True),
            "frames": self.frames, "eval_frames": self.eval_frames,
            "teachers": _stack(self.teachers), "eval_teachers": _stack(self.eval_teachers),
            "student": self.student.state_dict(), "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(), "step": self.step, "seconds": self.seconds,
            "threads": torch.get_num_threads(),
        }, buffer)  # fmt: skip
        return buffer.getvalue()

    def save_checkpoint(self, path: Path) -> None:
        atomic_write_bytes(path, self.checkpoint_bytes())

    @classmethod
    def resume(cls, path: Path, config: DistillConfig, teacher: Teacher,
               device: torch.device | None = None) -> tuple[Distiller, int]:  # fmt: skip
        """The distillation saved in `path` (its config must equal `config`) and the thread count it ran on."""
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except LOAD_ERRORS as error:
            raise DreamwallError(f"{path} is not a distill checkpoint ({type(error).__name__})") from None
        if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
            raise DreamwallError(f"{path} is not a distill checkpoint")
        saved = json.loads(data["config"])
        now = config.as_dict()
        if saved != now:
            changed = sorted(k for k in now if saved.get(k) != now[k])
            raise DreamwallError(f"{path} was made with other settings ({', '.join(changed)} differ); "
                                 "run without --resume to start again")  # fmt: skip
        self = cls(config, teacher, None, device)
        self.frames, self.eval_frames = data["frames"], data["eval_frames"]
        self.teachers, self.eval_teachers = list(data["teachers"]), list(data["eval_teachers"])
        self.student.load_state_dict(data["student"])
        self.optimizer.load_state_dict(data["optimizer"])
        self.generator.set_state(data["generator"])
        self.step, self.seconds = int(data["step"]), float(data["seconds"])
        return self, int(data["threads"])
