"""`python run.py distill --preset NAME`: train the one-pass student of a look from its gradient dream.

Teacher dreams are made first (crop by crop), then the student trains until --steps or --minutes.
Ctrl-C (or SIGINT) keeps a checkpoint beside the output (FILE.partial) and says how to continue
with --resume; the student file is written atomically at the end, with its evaluation figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from pathlib import Path

import torch

from engine.errors import DreamwallError
from engine.networks import load_network
from engine.student import StudentShape
from installation.common.atomic import check_output_path
from installation.common.cli import float_in, int_in, start_done
from installation.distill.data import Pictures, builtin_pictures, folder_pictures, video_pictures
from installation.distill.student_file import SUFFIX, look_hash, look_settings, save_student, student_path
from installation.distill.train import DistillConfig, Distiller, Teacher
from installation.dreaming.placement import resolve_device
from installation.ops.progress import ProgressBar
from installation.presets.loader import PresetLibrary, environment_presets_dir

HELP = "train a look's one-pass student from its gradient dream"
QUIET_START = True
log = logging.getLogger(__name__)
EXIT_INTERRUPTED = 130


def _shape(text: str) -> StudentShape:
    parts = text.split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"shape must be QUARTER,EIGHTH,BLOCKS like 24,48,3, got '{text}'")
    try:
        return StudentShape(*(int(p) for p in parts))
    except DreamwallError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", required=True, help="the look to distill (a preset name)")
    parser.add_argument("-o", "--output", type=Path, help=f"student file (default presets/students/NAME{SUFFIX})")
    parser.add_argument("--minutes", type=float_in(0.01, 1440, "minutes"), default=10.0,
                        help="training time limit, teacher dreams not counted (default 10)")  # fmt: skip
    parser.add_argument("--steps", type=int_in(1, 10_000_000, "steps"), default=100_000,
                        help="training steps, the schedule's length (default 100000: --minutes ends it)")  # fmt: skip
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--images", type=Path, help="a folder of pictures of the room (every fifth is evaluation)")
    source.add_argument("--video", type=Path, help="a video of the room (its last fifth is evaluation)")
    parser.add_argument("--resume", action="store_true", help="continue the stopped run from FILE.partial")
    parser.add_argument("--size", type=int_in(32, 512, "size"), default=128, help="crop side in pixels (128)")
    parser.add_argument("--crops", type=int_in(1, 100_000, "crops"), default=192, help="training crops (192)")
    parser.add_argument("--eval-crops", type=int_in(1, 10_000, "eval crops"), default=12, help="evaluation crops")
    parser.add_argument("--batch", type=int_in(1, 256, "batch"), default=4, help="crops per step (4)")
    parser.add_argument("--octaves", type=int_in(1, 8, "octaves"), help="teacher octaves (default the preset's)")
    parser.add_argument("--teacher-steps", type=int_in(1, 200, "teacher steps"),
                        help="teacher steps per octave (default the preset's render steps)")  # fmt: skip
    parser.add_argument(
        "--shape",
        type=_shape,
        default=StudentShape(),
        help="QUARTER,EIGHTH,BLOCKS: widths at 1/4 and 1/8 size, residual blocks (24,48,3)",
    )
    parser.add_argument("--seed", type=int_in(0, 2**31 - 1, "seed"), default=0)
    parser.add_argument("--device", default="cpu", help="cpu (default) | auto | cuda | cuda:N: where the teacher "
                        "dreams and the student trains (a GPU trains many times faster)")  # fmt: skip


def _pictures(args: argparse.Namespace) -> tuple[str, Pictures]:
    if args.images is not None:
        return f"images:{args.images.resolve()}", folder_pictures(args.images)
    if args.video is not None:
        return f"video:{args.video.resolve()}", video_pictures(args.video)
    return "builtin", builtin_pictures()


def run(args: argparse.Namespace) -> int:
    preset = PresetLibrary(environment_presets_dir()).load(args.preset)
    default = student_path(preset.name, preset.path.parent / "students")  # where the show looks (beside the preset)
    output = Path(args.output) if args.output is not None else default
    if args.output is None:
        output.parent.mkdir(parents=True, exist_ok=True)
    check_output_path(output, (SUFFIX,), "the student", "output")
    partial = output.with_name(output.name + ".partial")
    if args.resume and not partial.is_file():
        raise DreamwallError(f"--resume: no stopped run to continue ({partial} not found)")
    device, _ = resolve_device(args.device)  # a GPU that is not here: one line, before any work
    source, pictures = _pictures(args)
    net = load_network(preset.network).eval().to(device)
    objective = preset.build_objective(net)
    octaves = preset.octave_params()
    octaves = dataclasses.replace(octaves, octaves=args.octaves or octaves.octaves,
                                  steps=args.teacher_steps or octaves.steps)  # fmt: skip
    teacher = Teacher(net, objective, dataclasses.replace(preset.step_params(), jitter_walk=0), octaves)
    look = look_settings(preset)
    config = DistillConfig(preset=preset.name, look=look, look_hash=look_hash(look), teacher_lr=preset.lr,
                           source=source, size=args.size, crops=args.crops, eval_crops=args.eval_crops,
                           batch=args.batch, steps=args.steps, seed=args.seed, shape=args.shape)  # fmt: skip
    if args.resume:
        distiller, threads = Distiller.resume(partial, config, teacher, device)
        if threads != torch.get_num_threads():
            log.warning("the stopped run used %d torch threads, this one %d: it continues, but not bit for bit",
                        threads, torch.get_num_threads())  # fmt: skip
    else:
        distiller = Distiller(config, teacher, pictures, device)
    start_done()
    bars: dict[str, ProgressBar] = {}  # each made when its phase begins: its rate counts from there

    def progress(phase: str, done: int, total: int, detail: str) -> None:
        if phase not in bars:
            what, unit = ("teacher dreams", "crops") if phase == "teacher" else ("training", "steps")
            bars[phase] = ProgressBar(f"distill {preset.name}: {what}", unit=unit, start=done)  # rate from here
        bars[phase](done, total, detail)  # the training's loss rides after the ETA

    began = time.monotonic()
    try:
        distiller.make_teachers(progress)
        distiller.train(args.steps, deadline=time.monotonic() + args.minutes * 60, progress=progress)
    except KeyboardInterrupt:
        distiller.save_checkpoint(partial)
        command = " ".join(["python", "run.py", "distill", *_given(sys.argv), "--resume"])
        sys.stderr.write(f"\ndistill stopped at step {distiller.step}; kept {partial}; continue with: {command}\n")
        return EXIT_INTERRUPTED
    figures = distiller.evaluate()
    manifest = {
        "look": {"preset": preset.name, "hash": config.look_hash, "settings": look},
        "teacher": {"lr": preset.lr, "octaves": octaves.octaves, "octave_scale": octaves.scale,
                    "steps": octaves.steps, "jitter": preset.jitter, "smooth": preset.smooth, "tv": preset.tv},
        "network": preset.network,
        "objective": preset.objective_text,
        "training": {"size": args.size, "crops": args.crops, "batch": args.batch, "steps": distiller.step,
                     "seconds": round(distiller.seconds, 1), "wall_seconds": round(time.monotonic() - began, 1),
                     "source": source, "seed": args.seed, "threads": torch.get_num_threads(), "device": str(device)},
        "evaluation": figures,
    }  # fmt: skip
    save_student(output, distiller.student, manifest)
    partial.unlink(missing_ok=True)
    print(f"{output}  fidelity {figures['fidelity']:.3f} of the teacher's {preset.objective_text} gain on "
          f"{figures['crops']} held-out crops ({distiller.step} steps)")  # fmt: skip
    return 0


def _given(argv: list[str]) -> list[str]:
    """The command's own arguments as given (after 'distill'), without a --resume already there."""
    rest = argv[argv.index("distill") + 1 :] if "distill" in argv else []
    return [a for a in rest if a != "--resume"]
