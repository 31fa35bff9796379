"""A look's one-pass student, found for a preset that asks for it (`dreamer: student`), on the network's device.

The student of preset NAME is students/NAME.student beside the preset's file (presets/students/ for the
shipped presets and `run.py distill`'s default output), accepted only when it was trained for the
preset's look (installation.distill.student_file.look_hash). Loaded once per file version, device and
dtype: knobs rebuild the dream settings many times a second. A preset asking for a student that has
none (no file, a foreign, corrupt or other look's file) gets the gradient dream and one notice.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from engine.errors import DreamwallError
from installation.distill.student_file import load_student, look_hash, look_settings, student_path
from installation.dreaming.student_backends import student_runner
from installation.presets.schema import Preset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LookStudent:
    """A loaded student on the dream's device and dtype; `lr` is its teacher's (strength 1 = that lr's dream)."""

    net: nn.Module  # the StudentNet, or what runs it (installation.dreaming.student_backends)
    lr: float
    path: Path
    fidelity: float | None = None  # its evaluation on held-out frames, from the manifest
    backend: str = "torch"

    def strength(self, lr: float) -> float:
        """The detail's scale at step size `lr` (intensity controls, motion, pulse): lr over the teacher's."""
        return lr / self.lr


def no_student_notice(preset: Preset, reason: str) -> str:
    return f"preset {preset.name}: no student for its look ({reason}); dreaming with the gradient"


class StudentCache:
    """Each look's student loaded once per (file version, look, device, dtype); each notice logged once."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder  # None: the students folder beside each preset's file (presets/students)
        self._loaded: dict[tuple[object, ...], tuple[LookStudent | None, str | None]] = {}
        self._lock = threading.Lock()

    def get(self, preset: Preset, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
            compute: str | None = None) -> tuple[LookStudent | None, str | None]:  # fmt: skip
        """(the student, None) or (None, the notice: why the gradient dreams instead); `compute` "bf16": the
        preset dreams in bf16 arithmetic on this CPU, and so does its student (the live show only: renders
        and stills dream in fp32)."""
        path = student_path(preset.name, self.folder or preset.path.parent / "students")
        look = look_hash(look_settings(preset))
        try:
            stat = path.stat()
            version: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            version = None
        key = (str(path), version, look, torch.device(device), dtype, compute, preset.backend)
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = self._load(preset, path, look, torch.device(device), dtype, compute)
            return self._loaded[key]

    def _load(self, preset: Preset, path: Path, look: str, device: torch.device, dtype: torch.dtype,
              compute: str | None) -> tuple[LookStudent | None, str | None]:  # fmt: skip
        try:
            found = load_student(path, expect_look=look)
        except DreamwallError as error:
            notice = no_student_notice(preset, str(error))
            log.warning("%s", notice)
            return None, notice
        net = found.net.to(device=device, dtype=dtype).eval()
        for parameter in net.parameters():
            parameter.requires_grad_(False)
        fidelity = found.manifest.get("evaluation", {}).get("fidelity")
        runner, backend = student_runner(net, preset.backend, device, compute)
        log.info("preset %s dreams with its student %s (fidelity %s) on %s %s, %s", preset.name, path, fidelity,
                 device, str(dtype).removeprefix("torch."), backend)  # fmt: skip
        return LookStudent(runner, found.lr, path, float(fidelity) if fidelity is not None else None, backend), None


STUDENTS = StudentCache()
"""The show's students (the dream settings of every preset come through dream_settings)."""
