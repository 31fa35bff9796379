"""`python run.py render IN -o OUT.mp4`: dream a video, animated GIF or image folder offline.

Argument parsing and a call: the work lives in installation.rendering (the frame
dreamer, the work folder an interrupted render resumes from with `--resume`, and the
loop that encodes the frames with the source's audio track).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import torch

from engine.masks import MASK_MODES
from engine.networks import check_network_name, load_network
from installation.commands.dream import layers_spec
from installation.common.cli import choice_arg, number_arg, size_arg, whole_arg
from installation.ops.progress import ProgressBar
from installation.outputs.video_io import DEFAULT_FOLDER_FPS, check_video_output, open_source
from installation.presets.loader import DEFAULT_NAME, PresetLibrary, environment_presets_dir
from installation.rendering.frame_dreamer import FrameDreamer, render_settings
from installation.rendering.offline import render
from installation.rendering.work_folder import WorkFolder

log = logging.getLogger(__name__)

HELP = "dream a video, animated GIF or image folder offline at full quality (resumable, keeps audio)"
QUIET_START = True  # start logs are held until the checks pass (installation.common.cli.StartLog)


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
    parser.add_argument("--mask", type=choice_arg("mask", MASK_MODES),
                        help="who dreams: visitors (what moves), room (all but that), none (preset: mask)")  # fmt: skip
    parser.add_argument("--panorama", action="store_true", help="the input is 360-degree equirectangular (2:1): "
                        "dream it without a seam (spherical metadata is not kept; see the README)")  # fmt: skip
    parser.add_argument("--resume", action="store_true", help="continue an interrupted render from its last frame")
    parser.add_argument("--keep-frames", action="store_true", help="keep the PNG work folder after encoding")
    parser.add_argument("--overwrite", action="store_true", help="allow -o to be the input file")


def run(args: argparse.Namespace) -> int:
    output = check_video_output(args.output, inputs=(args.input,), overwrite=args.overwrite)
    preset = PresetLibrary(environment_presets_dir()).load(args.preset)
    network = check_network_name(args.network or preset.network)
    source = open_source(args.input, folder_fps=args.fps or DEFAULT_FOLDER_FPS)
    info = source.info
    log.info("%s: %d frames, %dx%d at %g fps%s", info.path, info.frame_count, *info.size, info.fps,
             ", with audio" if info.has_audio else "")  # fmt: skip
    net = load_network(network)
    if torch.cuda.is_available():
        net = net.cuda()
    objective = preset.objective_on(net, layers_spec(args.layers) if args.layers else None)
    settings = render_settings(preset, args, net, objective, args.size or info.size)
    if settings.step.panorama_pad:
        log.warning("panorama: the output does not keep the input's spherical (360) metadata; re-inject it")
    dreamer = FrameDreamer(net, objective, settings, fps=info.fps)
    work = WorkFolder(output)
    done = work.done(info.frame_count) if args.resume else 0
    bar = ProgressBar(f"render {objective.description}", unit="frames", start=done)
    try:
        result = render(source, output, dreamer, resume=args.resume, progress=bar, keep_frames=args.keep_frames)
    except KeyboardInterrupt:
        sys.stderr.write(f"\ninterrupted after {work.done(info.frame_count)} of {info.frame_count} frames; "
                         "run the same command with --resume to continue\n")  # fmt: skip
        return 130
    print(result.output)
    return 0
