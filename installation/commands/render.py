"""`python run.py render IN -o OUT.mp4`: dream a video, animated GIF or image folder offline.

The same temporal feedback as live (the previous dream detail, warped along the
optical flow, seeds the next frame) but at full quality: several octaves and more
steps per frame. Finished frames are kept as PNGs in a work folder beside the output
(`OUT.mp4.render/`), so an interrupted render continues with `--resume` exactly where
it stopped: each frame's jitter generator is seeded from its index, and the fed-back
dream is the saved 8-bit frame in both an uninterrupted and a resumed run. At the end
the frames are encoded with the source's audio track and the work folder is removed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor

from engine.errors import DreamwallError
from engine.imageops import to_tensor, to_uint8
from engine.networks import DreamNet, check_network_name, load_network
from engine.objectives import Objective, parse_objective
from engine.post import PostParams, apply_post
from engine.step import JitterWalk, OctaveParams, StepParams, dream_octaves
from engine.temporal import FeedbackParams, FlowFn, TemporalFeedback
from installation.commands.dream import layers_spec
from installation.common.atomic import atomic_write_text
from installation.common.cli import number_arg, size_arg, start_done, whole_arg
from installation.ops.progress import ProgressBar
from installation.outputs.images import dreamable_size, read_image, write_image
from installation.outputs.video_io import (
    DEFAULT_FOLDER_FPS,
    FRAME_PATTERN,
    FrameSource,
    check_video_output,
    encode_frames,
    open_source,
)
from installation.presets.loader import DEFAULT_NAME, Preset, PresetLibrary, environment_presets_dir

log = logging.getLogger(__name__)

HELP = "dream a video, animated GIF or image folder offline at full quality (resumable, keeps audio)"
QUIET_START = True  # start logs are held until the checks pass (installation.common.cli.StartLog)
STATE_FILE = "state.json"
LAST_DREAM = "last_dream.png"  # ungraded dream of the last finished frame: the feedback to resume from

StopFn = Callable[[int], bool]
"""Asked before each frame with its index; True interrupts the render (tests, signals)."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="video file, animated GIF or folder of images")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the dreamed video (.mp4)")
    parser.add_argument("--preset", default=DEFAULT_NAME, help="preset whose look and render quality to use")
    parser.add_argument("--network", help="override the preset's network")
    parser.add_argument("--layers", help="override the objective: 'fire7', 'fire7:42', 'fire6=0.5,fire8:12=1'")
    parser.add_argument("--octaves", type=whole_arg("octaves"), help="scales per frame (preset: render.octaves)")
    parser.add_argument("--steps", type=whole_arg("render_steps"), help="steps per octave (preset: render.steps)")
    parser.add_argument("--lr", type=number_arg("lr"), help="step size (preset: lr)")
    parser.add_argument("--feedback", type=number_arg("feedback"), help="dream carried between frames")
    parser.add_argument("--no-flow", action="store_true", help="carry the dream in place, not along optical flow")
    parser.add_argument("--size", type=size_arg, help="output WxH (default: the input's size)")
    parser.add_argument("--fps", type=number_arg("fps"), help=f"frame rate of an image folder "
                        f"(default {DEFAULT_FOLDER_FPS:g}); videos and GIFs keep theirs")  # fmt: skip
    parser.add_argument("--seed", type=whole_arg("seed"), help="jitter seed (preset: seed)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted render from its last frame")
    parser.add_argument("--keep-frames", action="store_true", help="keep the PNG work folder after encoding")
    parser.add_argument("--overwrite", action="store_true", help="allow -o to be the input file")


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

    def manifest(self) -> dict[str, object]:
        return json.loads(json.dumps(asdict(self)))  # tuples become lists, as when read back


@dataclass(frozen=True)
class RenderResult:
    done: int
    total: int
    output: Path | None  # None while unfinished

    @property
    def finished(self) -> bool:
        return self.output is not None


def work_folder(output: Path) -> Path:
    return output.with_name(output.name + ".render")


def frame_generator(seed: int, index: int) -> torch.Generator:
    """Each frame's jitter from (seed, index) alone, so a resumed frame equals the uninterrupted one."""
    return torch.Generator().manual_seed(seed * 1_000_003 + index)


def _fit(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (rgb.shape[1], rgb.shape[0]) == size:
        return rgb
    growing = size[0] > rgb.shape[1] or size[1] > rgb.shape[0]
    return cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR if growing else cv2.INTER_AREA)


def _flatten(tree: dict[str, object], prefix: str = "") -> dict[str, object]:
    """{'octaves': {'steps': 2}} -> {'octaves.steps': 2}, so a mismatch names the exact setting."""
    flat: dict[str, object] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


class WorkFolder:
    """The render's kept state: manifest, finished frames and the dream to continue from."""

    def __init__(self, output: Path) -> None:
        self.path = work_folder(output)
        self.frames = self.path / "frames"

    def frame_path(self, index: int) -> Path:
        return self.frames / (FRAME_PATTERN % index)

    def done(self, total: int) -> int:
        """Finished frames by the state file: a whole number from 0 to `total`, else the folder is damaged."""
        state = self.path / STATE_FILE
        if not state.is_file():
            return 0
        try:
            done = json.loads(state.read_text())["done"]
        except (OSError, ValueError, KeyError, TypeError):
            done = "unreadable"
        if type(done) is not int or not 0 <= done <= total:
            raise DreamwallError(f"{state} says {done!r} frames are done, expected a whole number from 0 to "
                                 f"{total}; delete {self.path} and render again")  # fmt: skip
        return done

    def check_frames(self, done: int, size: tuple[int, int], dream_size: tuple[int, int]) -> None:
        """Decode every kept frame and the feedback image before trusting them.

        A damaged one refuses the resume (one line) instead of being recomputed: its
        feedback (the previous frame's ungraded dream) is not kept, so a recomputed frame
        would differ from the uninterrupted render that --resume promises.
        """
        kept = [(self.frame_path(index), size) for index in range(done)] + [(self.path / LAST_DREAM, dream_size)]
        for path, (width, height) in kept:
            try:
                image = read_image(path)
            except DreamwallError as error:
                raise DreamwallError(f"cannot resume: {error}; delete {self.path} and render again") from None
            if image.shape[:2] != (height, width):
                raise DreamwallError(f"cannot resume: {path} is {image.shape[1]}x{image.shape[0]}, expected "
                                     f"{width}x{height}; delete {self.path} and render again")  # fmt: skip

    def check_manifest(self, manifest: dict[str, object]) -> None:
        path = self.path / "manifest.json"
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            raise DreamwallError(f"{path} is missing or damaged; delete {self.path} and render again") from None
        before, now = _flatten(saved), _flatten(manifest)
        for key, value in now.items():
            if before.get(key) != value:
                raise DreamwallError(
                    f"cannot resume: {key} was {before.get(key)}, now {value}; use the same settings as the "
                    f"interrupted render, or delete {self.path} to start over"
                )

    def start(self, manifest: dict[str, object]) -> None:
        self.frames.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path / "manifest.json", json.dumps(manifest, indent=1))
        self.mark_done(0)

    def save(self, index: int, shown: np.ndarray, dreamed: np.ndarray) -> None:
        """Frame first, then the feedback image, then the count: a crash leaves a consistent state."""
        write_image(self.frame_path(index), shown)
        write_image(self.path / LAST_DREAM, dreamed)
        self.mark_done(index + 1)

    def mark_done(self, done: int) -> None:
        atomic_write_text(self.path / STATE_FILE, json.dumps({"done": done}))

    def last_dream(self) -> np.ndarray:
        return read_image(self.path / LAST_DREAM)


class FrameDreamer:
    """One frame of the offline render: feedback start image -> octaves -> 8-bit frame."""

    def __init__(self, net: DreamNet, objective: Objective, settings: RenderSettings,
                 flow_fn: FlowFn | None = None) -> None:  # fmt: skip
        self.net = net
        self.objective = objective
        self.settings = settings
        self.temporal = TemporalFeedback(flow_fn)
        self.walk = JitterWalk(settings.seed)
        self.dream_size = dreamable_size(settings.size, net.name)  # upscaled when the output is too small
        parameter = next(net.parameters())
        self.device, self.dtype = parameter.device, parameter.dtype

    def tensor(self, rgb: np.ndarray) -> Tensor:
        return to_tensor(rgb, device=self.device, dtype=self.dtype)

    def continue_from(self, source: np.ndarray, dreamed: np.ndarray) -> None:
        self.temporal.remember(self.tensor(_fit(source, self.dream_size)), self.tensor(dreamed))

    def __call__(self, index: int, source_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(graded frame to show at the output size, ungraded dream to feed back at the dream size), both uint8."""
        s = self.settings
        source = self.tensor(_fit(source_rgb, self.dream_size))
        start = self.temporal.start(source, s.feedback)
        steps = s.octaves.octaves * s.octaves.steps  # the walk's step numbers from the frame index: resumable
        dreamed = dream_octaves(self.net, start, self.objective, s.step, s.octaves, frame_generator(s.seed, index),
                                walk=self.walk, first_step=index * steps)  # fmt: skip
        dreamed_u8 = to_uint8(dreamed)
        # feed back the 8-bit frame, as a resumed render must (it reads it from a PNG)
        self.temporal.remember(source, self.tensor(dreamed_u8))
        shown = dreamed_u8 if s.post.identity else to_uint8(apply_post(dreamed, s.post, raw=source))
        return _fit(shown, s.size), dreamed_u8


def render(
    source: FrameSource,
    output: Path,
    dreamer: FrameDreamer,
    *,
    resume: bool = False,
    stop: StopFn | None = None,
    progress: Callable[[int, int], None] | None = None,
    keep_frames: bool = False,
) -> RenderResult:
    """Dream every frame not yet finished, then encode; returns early (unfinished) when `stop` says so."""
    settings = dreamer.settings
    total = source.info.frame_count
    manifest = {"input": str(Path(source.info.path).resolve()), "frames": total, **settings.manifest()}
    work = WorkFolder(output)
    done = work.done(total) if work.path.exists() else 0
    if done and not resume:
        raise DreamwallError(
            f"{work.path} holds {done} finished frames of an earlier render; add --resume to continue it, "
            "or delete the folder to start over"
        )
    if done:
        work.check_manifest(manifest)
        work.check_frames(done, settings.size, dreamer.dream_size)
        log.info("resuming at frame %d of %d", done + 1, total)
    else:
        if resume:
            log.info("nothing to resume in %s; starting from the first frame", work.path)
        work.start(manifest)
    start_done()
    frames = source.frames(max(0, done - 1))
    try:
        if done:
            previous = next(frames, None)
            if previous is None:
                raise DreamwallError(f"cannot resume: the input has no frame {done} any more; delete {work.path} "
                                     "and render again")  # fmt: skip
            dreamer.continue_from(_fit(previous, settings.size), work.last_dream())
        for index, rgb in enumerate(frames, start=done):
            if index >= total:
                break
            if stop is not None and stop(index):
                return RenderResult(index, total, None)
            shown, dreamed = dreamer(index, _fit(rgb, settings.size))
            try:
                work.save(index, shown, dreamed)
            except DreamwallError as error:  # a full disk: what is kept can be continued
                if index == 0:
                    raise
                raise DreamwallError(f"{error}; {index} finished frames are kept in {work.path}: make room and "
                                     "run the same command with --resume") from None  # fmt: skip
            if progress is not None:
                progress(index + 1, total)
    except BaseException:
        if work.done(total) == 0:  # nothing finished: leave nothing behind
            shutil.rmtree(work.path, ignore_errors=True)
        raise
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
    finished = work.done(total)
    if finished < total:  # the source held fewer frames than counted (a truncated file)
        log.warning("the input ended after %d of %d counted frames", finished, total)
    audio = source.info.path if source.info.has_audio else None
    encode_frames(work.frames, source.info.fps, output, audio_from=audio)
    if not keep_frames:
        shutil.rmtree(work.path)
    return RenderResult(finished, total, output)


def render_settings(preset: Preset, args: argparse.Namespace, net: DreamNet, objective: Objective,
                    size: tuple[int, int]) -> RenderSettings:  # fmt: skip
    """The preset's values with the command line's overrides."""

    def pick(name: str, preset_value: object) -> object:
        value = getattr(args, name, None)
        return preset_value if value is None else value

    return RenderSettings(
        network=net.name,
        objective=objective.description,
        size=size,
        step=dataclasses.replace(preset.step_params(), lr=float(pick("lr", preset.lr))),
        octaves=OctaveParams(
            octaves=int(pick("octaves", preset.render.octaves)),
            scale=preset.render.octave_scale,
            steps=int(pick("steps", preset.render.steps)),
        ),
        feedback=FeedbackParams(feedback=float(pick("feedback", preset.feedback)),
                                flow=preset.flow and not getattr(args, "no_flow", False)),
        post=preset.post_params(),
        seed=int(pick("seed", preset.seed)),
    )


def build_objective(preset: Preset, net: DreamNet, layers: str | None) -> Objective:
    def load_guide(path: str) -> Tensor:
        return to_tensor(read_image(Path(path)))

    if layers:
        return parse_objective(layers_spec(layers), net, load_guide=load_guide)
    if net.name != preset.network:  # another network than the preset's: its own classic layer
        return parse_objective(net.default_layer, net)
    return preset.build_objective(net, load_guide)


def run(args: argparse.Namespace) -> int:
    output = check_video_output(args.output, inputs=(args.input,), overwrite=args.overwrite)
    preset = PresetLibrary(environment_presets_dir()).load(args.preset)
    network = check_network_name(args.network or preset.network)
    source = open_source(args.input, folder_fps=args.fps or DEFAULT_FOLDER_FPS)
    info = source.info
    size = args.size or info.size
    log.info("%s: %d frames, %dx%d at %g fps%s", info.path, info.frame_count, *info.size, info.fps,
             ", with audio" if info.has_audio else "")  # fmt: skip
    net = load_network(network)
    if torch.cuda.is_available():
        net = net.cuda()
    objective = build_objective(preset, net, args.layers)
    settings = render_settings(preset, args, net, objective, size)
    dreamer = FrameDreamer(net, objective, settings)
    done = WorkFolder(output).done(info.frame_count) if args.resume and work_folder(output).exists() else 0
    bar = ProgressBar(f"render {objective.description}", unit="frames", start=done)
    try:
        result = render(source, output, dreamer, resume=args.resume, progress=bar, keep_frames=args.keep_frames)
    except KeyboardInterrupt:
        finished = WorkFolder(output).done(info.frame_count) if work_folder(output).exists() else 0
        sys.stderr.write(f"\ninterrupted after {finished} of {info.frame_count} frames; "
                         "run the same command with --resume to continue\n")  # fmt: skip
        return 130
    print(result.output)
    return 0
