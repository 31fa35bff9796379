"""One frame of the offline render, and the settings that decide its pixels.

The same temporal feedback as live (the previous dream detail, warped along the optical
flow, seeds the next frame) at full quality: several octaves per frame. Each frame's
jitter comes from (seed, index) alone and the fed-back dream is the 8-bit frame, so a
resumed render equals an uninterrupted one, on the same machine: torch's thread count changes
the float arithmetic, and a feedback dream amplifies a sub-level difference about five times
a frame, so a render resumed on a machine with other cores continues the dream, not its exact
pixels (README, "What a split render equals").

An input of another aspect than the output (`render --size`) meets it by the fit rule
(engine.framing): fill crops it, fit dreams the whole picture and puts it between black
bars (the bars are not dreamt), stretch changes its aspect.

A mask (engine.masks) is made from each frame as live, at the frame interval `fps` gives;
a resumed render relearns the room from the frame before the resume point, so its mask
(not its look) can differ from an uninterrupted render's for the first seconds.

With `dreamer: student` and a student for the look, one pass of the student (engine.student.dream)
replaces each frame's octaves, inside the same feedback, mask and grading.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import Tensor

from engine.compose import host_resize
from engine.errors import DreamwallError
from engine.framing import check_fit, crop_scale, framing, place
from engine.imageops import resize, to_tensor, to_uint8
from engine.masks import BackgroundMask, MaskParams, masked
from engine.networks import DreamNet
from engine.objectives import Objective
from engine.panorama import panorama_settings
from engine.post import PostParams, apply_post
from engine.step import JitterWalk, OctaveParams, StepParams, dream_octaves
from engine.student.dream import student_frame
from engine.temporal import FeedbackParams, FlowFn, TemporalFeedback, flow_size, host_grey
from installation.dreaming.students import STUDENTS, LookStudent, StudentCache
from installation.outputs.images import dreamable_size
from installation.presets.schema import Preset


@dataclass(frozen=True)
class RenderSettings:
    """Everything that decides the pixels; a resumed render must match it exactly."""

    network: str
    objective: str  # the objective's description (one readable identity for any objective)
    size: tuple[int, int]
    step: StepParams
    octaves: OctaveParams
    feedback: FeedbackParams
    post: PostParams
    seed: int
    mask: MaskParams = field(default_factory=MaskParams)
    fit: str = "fill"  # how an input of another aspect meets `size` (engine.framing)
    picture: tuple[int, int] | None = None  # the dreamt picture inside `size` (fit: between bars); None: all of it
    dreamer: str = "gradient"  # student: the look's student dreams each frame (render_settings found one)

    def __post_init__(self) -> None:
        check_fit(self.fit)

    @property
    def picture_size(self) -> tuple[int, int]:
        return self.picture or self.size

    def manifest(self) -> dict[str, object]:
        values = json.loads(json.dumps(asdict(self)))  # tuples become lists, as when read back
        if values["dreamer"] == "gradient":
            del values["dreamer"]  # a work folder from before the key resumes
        return values


def frame_generator(seed: int, index: int) -> torch.Generator:
    """Each frame's jitter from (seed, index) alone, so a resumed frame equals the uninterrupted one."""
    return torch.Generator().manual_seed(seed * 1_000_003 + index)


class FrameDreamer:
    """One frame of the offline render: feedback start image -> octaves -> 8-bit frame."""

    def __init__(self, net: DreamNet, objective: Objective, settings: RenderSettings,
                 flow_fn: FlowFn | None = None, fps: float = 25.0,
                 student: LookStudent | None = None) -> None:  # fmt: skip
        if (settings.dreamer == "student") != (student is not None):
            raise DreamwallError(f"the render's dreamer is {settings.dreamer} but "
                                 f"{'no' if student is None else 'a'} student was given")  # fmt: skip
        self.student = student
        self.net = net
        self.objective = objective
        self.settings = settings
        self.temporal = TemporalFeedback(flow_fn)
        self.walk = JitterWalk(settings.seed)
        self.dream_size = dreamable_size(settings.picture_size, net.name)  # upscaled when the output is too small
        parameter = next(net.parameters())
        self.device, self.dtype = parameter.device, parameter.dtype
        self.frame_interval = 1.0 / fps
        self._background = BackgroundMask()

    def take(self, rgb: np.ndarray) -> np.ndarray:
        """An input frame as the dream takes it: the part the fit rule shows, at the picture's size."""
        return crop_scale(rgb, self.settings.size, self.settings.fit)

    def _framed(self, picture: np.ndarray) -> np.ndarray:
        """The picture at the output size: between bars under fit, else scaled to it."""
        return place(host_resize(picture, self.settings.picture_size), self.settings.size)

    def tensor(self, rgb: np.ndarray) -> Tensor:
        return to_tensor(rgb, device=self.device, dtype=self.dtype)

    def continue_from(self, source: np.ndarray, dreamed: np.ndarray) -> None:
        rgb = host_resize(source, self.dream_size)
        self.temporal.remember(self.tensor(rgb), self.tensor(dreamed))
        self.mask(rgb)  # the room the mask compares the next frame with

    def mask(self, rgb: np.ndarray) -> Tensor | None:
        """This frame's mask at the dream size (None when the settings have none); the model learns the frame."""
        params = self.settings.mask
        if not params.active:
            return None
        width, height = self.dream_size
        grey = host_grey(rgb, flow_size(self.dream_size))
        small = self._background(grey, self.frame_interval, params, width)
        return resize(torch.from_numpy(small).to(self.device, self.dtype)[None, None], height, width)

    def __call__(self, index: int, source_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(graded frame to show at the output size, ungraded dream to feed back at the dream size), both uint8."""
        s = self.settings
        rgb = host_resize(source_rgb, self.dream_size)
        source, mask = self.tensor(rgb), self.mask(rgb)
        start = masked(self.temporal.start(source, s.feedback), source, mask)
        if self.student is not None:
            dreamed = student_frame(self.student.net, start, source, self.student.strength(s.step.lr),
                                    s.feedback.feedback, mask, s.step.panorama_pad)  # fmt: skip
        else:
            steps = s.octaves.octaves * s.octaves.steps  # the walk's step numbers from the frame index: resumable
            dreamed = dream_octaves(self.net, start, self.objective, s.step, s.octaves,
                                    frame_generator(s.seed, index), walk=self.walk, first_step=index * steps,
                                    mask=mask)  # fmt: skip
        dreamed_u8 = to_uint8(dreamed)
        # feed back the 8-bit frame, as a resumed render must (it reads it from a PNG)
        self.temporal.remember(source, self.tensor(dreamed_u8))
        shown = dreamed_u8 if s.post.identity else to_uint8(masked(apply_post(dreamed, s.post, raw=source),
                                                                   source, mask))  # fmt: skip
        return self._framed(shown), dreamed_u8

    def undreamt(self, source_rgb: np.ndarray) -> np.ndarray:
        """The frame as it would be shown with no dream in it (graded, at the output size): what the dream detail
        of a shown frame is measured against (a split render's crossfade keeps that detail's strength)."""
        s = self.settings
        if s.post.identity:
            return self._framed(source_rgb)
        source = self.tensor(host_resize(source_rgb, self.dream_size))
        return self._framed(to_uint8(apply_post(source, s.post, raw=source)))


def render_student(preset: Preset, settings: RenderSettings, net: DreamNet,
                   students: StudentCache = STUDENTS) -> LookStudent | None:  # fmt: skip
    """The look's student on `net`'s device and dtype when the settings' dreamer is the student, else None."""
    if settings.dreamer != "student":
        return None
    parameter = next(net.parameters())
    student, notice = students.get(preset, parameter.device, parameter.dtype)
    if student is None:
        raise DreamwallError(notice or f"preset {preset.name}: no student")
    return student


def render_settings(preset: Preset, args: object, net: DreamNet, objective: Objective,
                    size: tuple[int, int], input_size: tuple[int, int] | None = None,
                    students: StudentCache = STUDENTS) -> RenderSettings:  # fmt: skip
    """The preset's own step, octave and feedback values with the overrides `args` carries.

    `args`: the command line (or any object) with attributes lr, octaves, steps, feedback, no_flow,
    seed, mask, panorama, fit; a missing or None attribute keeps the preset's value.
    `input_size`: the input's (width, height), for where its picture sits in `size` (None: it fills it).
    `students`: where `dreamer: student` finds the look's student; none: the gradient dream (the notice is logged).
    """

    def pick(name: str, preset_value: object) -> object:
        value = getattr(args, name, None)
        return preset_value if value is None else value

    octaves, feedback = preset.octave_params(), preset.feedback_params()
    step = dataclasses.replace(preset.step_params(), lr=float(pick("lr", preset.lr)))
    if preset.panorama or getattr(args, "panorama", False):
        step, feedback = panorama_settings(step, feedback, net, objective.layers)
    return RenderSettings(
        network=net.name,
        objective=objective.description,
        size=size,
        step=step,
        octaves=dataclasses.replace(
            octaves, octaves=int(pick("octaves", octaves.octaves)), steps=int(pick("steps", octaves.steps))
        ),
        feedback=dataclasses.replace(
            feedback,
            feedback=float(pick("feedback", feedback.feedback)),
            flow=feedback.flow and not getattr(args, "no_flow", False),
        ),
        post=preset.post_params(),
        seed=int(pick("seed", preset.seed)),
        mask=dataclasses.replace(preset.mask_params(), mode=str(pick("mask", preset.mask))),
        fit=str(pick("fit", preset.fit)),
        picture=_picture(input_size, size, str(pick("fit", preset.fit))),
        dreamer="student" if preset.dreamer == "student" and students.get(preset)[0] is not None else "gradient",
    )


def _picture(input_size: tuple[int, int] | None, size: tuple[int, int], fit: str) -> tuple[int, int] | None:
    """The dreamt picture's size when it does not fill `size` (fit: between bars), else None."""
    picture = framing(input_size, size, fit).size if input_size is not None else size
    return None if picture == size else picture
