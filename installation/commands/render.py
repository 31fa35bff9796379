"""`python run.py render IN -o OUT.mp4`: dream a video, animated GIF or image folder offline.

Argument parsing and a call: the work lives in installation.rendering (the frame
dreamer, the work folder an interrupted render resumes from with `--resume`, and the
loop that encodes the frames with the source's audio track).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import shlex
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from engine.errors import DreamwallError
from engine.framing import FIT_MODES
from engine.masks import MASK_MODES
from engine.networks import DreamNet, check_network_name, load_network
from engine.objectives import Objective
from installation.commands.dream import layers_spec
from installation.common.cli import choice_arg, int_in, number_arg, size_arg, whole_arg
from installation.dreaming.memory import check_dream_memory
from installation.ops.progress import ProgressBar
from installation.outputs.video_io import DEFAULT_FOLDER_FPS, FrameSource, open_source
from installation.outputs.video_writer import check_video_output
from installation.presets.loader import DEFAULT_NAME, PresetLibrary, environment_presets_dir
from installation.presets.schema import Preset
from installation.rendering.frame_dreamer import FrameDreamer, RenderSettings, render_settings, render_student
from installation.rendering.offline import render
from installation.rendering.render_device import cluster_placement, local_placement
from installation.rendering.split.cluster import connect
from installation.rendering.split.driver import farm_render
from installation.rendering.split.folder import ChunkFolder
from installation.rendering.split.plan import ChunkPlan, default_chunk_frames, warmup_frames
from installation.rendering.split.task import ChunkJob
from installation.rendering.work_folder import WorkFolder

log = logging.getLogger(__name__)

HELP = "dream a video, animated GIF or image folder offline at full quality (resumable, keeps audio)"
QUIET_START = True  # start logs are held until the checks pass (installation.common.cli.StartLog)
LOCAL_RAY = "local"  # --ray with no address: a Ray started on this machine for this render


class Interrupted(KeyboardInterrupt):
    """A stop signal during a render: it unwinds as Ctrl-C does (finished frames are kept, nothing else)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM (a `kill`, a stopped service or batch job) ends a render as Ctrl-C does, and replaces Ray's own
    handler (`ray.init` sets one that exits mid-task with Ray's crash output); SIGINT too, even where it came in
    ignored (a render started in the background of a script ignores SIGINT from birth, and `kill -INT` then did
    nothing until the last frame); the handlers before are put back."""
    previous = {signum: signal.signal(signum, _raise_interrupted) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def resume_command(argv: list[str]) -> str:
    """The command line that continues this render: the one given, with --resume (once)."""
    words = [Path(sys.executable).name if sys.executable else "python", *argv]
    return shlex.join(words if "--resume" in argv else [*words, "--resume"])


def interrupted(stop: KeyboardInterrupt, kept: str) -> int:
    """The one line after a stopped render: what is kept and the command that continues it; 128 + the signal."""
    sys.stderr.write(f"\ninterrupted {kept}; continue with: {resume_command(sys.argv)}\n")
    return 128 + (stop.signum if isinstance(stop, Interrupted) else signal.SIGINT)


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
    parser.add_argument("--fit", type=choice_arg("fit", FIT_MODES), help="how an input of another aspect meets "
                        "--size: fill (crop), fit (black bars), stretch (aspect changes) (preset: fit)")  # fmt: skip
    parser.add_argument("--fps", type=number_arg("fps"), help=f"frame rate of an image folder "
                        f"(default {DEFAULT_FOLDER_FPS:g}); videos and GIFs keep theirs")  # fmt: skip
    parser.add_argument("--seed", type=whole_arg("seed"), help="jitter seed (preset: seed)")
    parser.add_argument("--mask", type=choice_arg("mask", MASK_MODES),
                        help="who dreams: visitors (what moves), room (all but that), none (preset: mask)")  # fmt: skip
    parser.add_argument("--panorama", action="store_true", help="the input is 360-degree equirectangular (2:1): "
                        "dream it without a seam (spherical metadata is not kept; see the README)")  # fmt: skip
    parser.add_argument("--resume", action="store_true", help="continue an interrupted render from its last frame")
    parser.add_argument("--keep-frames", action="store_true", help="keep the PNG work folder after encoding")
    parser.add_argument("--overwrite", action="store_true", help="allow -o to be the input file")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (with --ray: auto, cpu, cuda)")
    farm = parser.add_argument_group("split across a Ray cluster (see the README)")
    farm.add_argument("--ray", nargs="?", const=LOCAL_RAY, metavar="ADDRESS",
                      help="dream in chunks on Ray: no address starts a local Ray for this render; auto or "
                      "HOST:PORT joins the running cluster this machine is a node of")  # fmt: skip
    farm.add_argument("--chunk-frames", type=int_in(1, 100_000, "chunk_frames"),
                      help="frames per chunk (default: from the clip length and the workers)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    if args.chunk_frames is not None and args.ray is None:
        raise DreamwallError("--chunk-frames splits a render across Ray: use it with --ray")
    output = check_video_output(args.output, inputs=(args.input,), overwrite=args.overwrite)
    preset = PresetLibrary(environment_presets_dir()).load(args.preset)
    network = check_network_name(args.network or preset.network)
    source = open_source(args.input, folder_fps=args.fps or DEFAULT_FOLDER_FPS)
    info = source.info
    log.info("%s: %d frames, %dx%d at %g fps%s", info.path, info.frame_count, *info.size, info.fps,
             ", with audio" if info.has_audio else "")  # fmt: skip
    layers = layers_spec(args.layers) if args.layers else None
    if args.ray is not None:
        return _run_on_ray(args, output, preset, source, load_network(network), layers)
    device, dtype = local_placement(args.device, preset.precision, f"preset '{preset.name}'")
    net = load_network(network).to(device, dtype)
    objective = preset.objective_on(net, layers)
    settings = _settings(preset, args, net, objective, info.size)
    dreamer = FrameDreamer(net, objective, settings, fps=info.fps, student=render_student(preset, settings, net))
    check_dream_memory(network, objective.layers, dreamer.dream_size, device, "torch", settings.step.panorama_pad)
    work = WorkFolder(output)
    done = work.done(info.frame_count) if args.resume else 0
    bar = ProgressBar(f"render {objective.description}", unit="frames", start=done)
    try:
        with interruptible():
            result = render(source, output, dreamer, resume=args.resume, progress=bar, keep_frames=args.keep_frames)
    except KeyboardInterrupt as stop:
        return interrupted(stop, f"after {work.done(info.frame_count)} of {info.frame_count} frames")
    print(result.output)
    return 0


def _settings(preset: Preset, args: argparse.Namespace, net: DreamNet, objective: Objective,
              input_size: tuple[int, int]) -> RenderSettings:  # fmt: skip
    settings = render_settings(preset, args, net, objective, args.size or input_size, input_size)
    if settings.step.panorama_pad:
        log.warning("panorama: the output does not keep the input's spherical (360) metadata; re-inject it")
    return settings


def _run_on_ray(args: argparse.Namespace, output: Path, preset: Preset, source: FrameSource, net: DreamNet,
                layers: object) -> int:  # fmt: skip
    """The render split into chunks on a Ray cluster; the network here only builds and checks the settings."""
    info = source.info
    objective = preset.objective_on(net, layers)
    settings = _settings(preset, args, net, objective, info.size)
    cluster = connect(None if args.ray == LOCAL_RAY else args.ray, verbose=log.isEnabledFor(logging.DEBUG))
    try:
        device, dtype = cluster_placement(args.device, preset.precision, cluster.gpus, cluster.description,
                                          f"preset '{preset.name}'")  # fmt: skip
        warmup = warmup_frames(settings.feedback)
        saved = ChunkFolder(output).saved_cut() if args.resume else None
        chunk_frames = (args.chunk_frames or (saved or {}).get("chunk_frames")
                        or default_chunk_frames(info.frame_count, cluster.slots(device), warmup))  # fmt: skip
        plan = ChunkPlan(info.frame_count, chunk_frames, warmup)
        job = ChunkJob(Path(info.path).resolve(), args.fps or DEFAULT_FOLDER_FPS, preset, layers, settings,
                       info.fps, device, dtype, info.frame_count)  # fmt: skip
        bar = ProgressBar(f"render {objective.description}", unit="frames", start=None)
        try:
            with interruptible():  # after connect: Ray's own SIGTERM handler is replaced
                result = farm_render(source, output, job, plan, cluster, resume=args.resume, progress=bar,
                                     keep_frames=args.keep_frames)  # fmt: skip
        except KeyboardInterrupt as stop:
            kept = ChunkFolder(output)
            finished = len(kept.recorded(plan)) if kept.path.exists() else 0
            return interrupted(stop, f"with {finished} of {len(plan.chunks)} chunks finished")
    finally:
        cluster.close()
    print(result.output)
    return 0
