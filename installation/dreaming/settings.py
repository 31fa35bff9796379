"""The values the dream worker takes and gives: its settings, a dreamt frame, its health.

Kept apart from the worker so presets, the app and the benchmarks can build and read
them without the thread that uses them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from engine.attract import AttractParams
from engine.bounds import check_bound
from engine.compose import COMPOSE_MODES
from engine.errors import check_range, unknown_name
from engine.framing import check_fit
from engine.masks import MaskParams
from engine.networks import DreamNet
from engine.objectives import Objective
from engine.post import PostParams
from engine.reactive import MotionParams
from engine.step import StepParams
from engine.temporal import FeedbackParams

if TYPE_CHECKING:
    from installation.dreaming.students import LookStudent

WorkerState = Literal["starting", "running", "frozen", "fatal", "stopped"]
DreamMode = Literal["camera", "attract", "source-lost"]
"""What the newest dream shows: the camera dreamt, the last dream evolving (still room), or the same with no camera."""


@dataclass(frozen=True)
class DreamSettings:
    """Everything that decides how a frame is dreamt; replaced as a whole by `DreamWorker.set_settings`.

    process_size: (width, height), or None for `auto_process_size` of the device.
    motion: how visitors' movement scales lr and feedback; None = not at all.
    attract: attract mode and the camera-lost loop; None = neither (the last dream just stays).
    device, dtype: where and in what precision every per-frame operation runs; the
        network must already live there (installation.dreaming.looks.NetworkCache).
    compose: "detail" (camera at output size + the dream's detail) or "upscale".
    fit: how the shown frame meets the output size (engine.framing): fill, fit or stretch.
    seed: the jitter generator's and jitter walk's seed (the preset's); a new seed re-seeds both.
    mask: who dreams (engine.masks): none, only the visitors, or only the room.
    dreamer, student: the one-pass student dreams instead of the gradient steps, with the same feedback,
        masks, panorama padding, composition and grading around it (engine.student.dream).
    """

    net: DreamNet
    objective: Objective
    step: StepParams = field(default_factory=lambda: StepParams(lr=0.02, jitter=8))
    steps: int = 2
    feedback: FeedbackParams = field(default_factory=FeedbackParams)
    post: PostParams = field(default_factory=PostParams)
    process_size: tuple[int, int] | None = None
    label: str = ""
    motion: MotionParams | None = None
    attract: AttractParams | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    dtype: torch.dtype = torch.float32
    compose: str = "detail"
    seed: int = 0
    mask: MaskParams = field(default_factory=MaskParams)
    fit: str = "fill"
    dreamer: str = "gradient"  # what the preset asked: gradient, or student (runs when `student` is set)
    student: LookStudent | None = None  # the look's student on `device` in `dtype` (installation.dreaming.students)
    dreamer_notice: str | None = None  # why a preset asking for a student dreams with the gradient

    @property
    def runs_student(self) -> bool:
        return self.dreamer == "student" and self.student is not None

    def __post_init__(self) -> None:
        check_bound("steps", self.steps)
        check_bound("seed", self.seed)
        check_fit(self.fit)
        if self.compose not in COMPOSE_MODES:
            raise unknown_name("compose mode", self.compose, COMPOSE_MODES)
        parameter = next(self.net.parameters())
        if (parameter.device, parameter.dtype) != (self.device, self.dtype):
            raise ValueError(f"the network lives on {parameter.device} {parameter.dtype}, "
                             f"the settings say {self.device} {self.dtype}")  # fmt: skip
        if self.process_size is not None:
            check_range("process width", self.process_size[0], 16, 4096)
            check_range("process height", self.process_size[1], 16, 4096)

    def replace(self, **changes: object) -> DreamSettings:
        """A copy with some fields changed (e.g. intensity from a MIDI knob)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Dream:
    """One dreamt frame: graded, composed RGB uint8 HWC at the output size, plus timing for latency.

    fit: the rule it was composed under; the screen or video frames it with the same rule
    (engine.framing.frame_into), so the image's aspect is the camera's except under stretch.
    """

    image: np.ndarray
    seq: int
    timestamp: float
    source_seq: int
    source_timestamp: float
    label: str
    mode: DreamMode = "camera"
    fit: str = "fill"


@dataclass(frozen=True)
class WorkerHealth:
    """For the status file and the HUD.

    motion_level: smoothed motion, 0 (still) to 1; reactive_scale: the multiplier it put
    on lr and feedback; process_size: (width, height) dreamt at now (smaller than asked
    after running out of memory); notice: the last out-of-memory step-down message;
    size_steps: how many step-downs so far; threads: torch's CPU threads as tuned in the show.
    """

    state: WorkerState
    fps: float
    frames: int
    dropped: int
    errors: int
    consecutive_errors: int
    last_error: str | None
    step_ms: float | None
    latency_ms: float | None
    mode: DreamMode = "camera"
    motion_level: float = 0.0
    reactive_scale: float = 1.0
    process_size: tuple[int, int] | None = None
    notice: str | None = None
    size_steps: int = 0
    threads: str = ""  # the CPU thread tuner's choice and what it measured ("" until tuned, and on a GPU)
    dreamer: str = "gradient"  # what dreamt the last frame: gradient or student
    dreamer_notice: str | None = None  # a preset asked for a student it has not: the gradient dreams instead
    student_runs: str = ""  # what runs the student's pass (e.g. "compile (torch bf16)"); "" for the gradient
