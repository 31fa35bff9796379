"""`python run.py dream IN -o OUT`: multi-octave DeepDream of a still image.

With a --preset that says `dreamer: student`, the look's student dreams the still in one pass
(at the preset's lr: the strength of its still dream, which the student was trained on); a flag
that changes the look (network, layers, jitter, smoothing, octaves) or no student: the gradient.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from engine.backends import select_backend
from engine.errors import DreamwallError
from engine.imageops import resize, to_tensor, to_uint8
from engine.networks import DEFAULT_NETWORK, load_network
from engine.objectives import parse_objective
from engine.panorama import panorama_settings, seen_size
from engine.step import dream_octaves
from engine.student.dream import student_frame
from engine.temporal import FeedbackParams
from installation.common.cli import number_arg, size_arg, start_done, whole_arg
from installation.dreaming.backend_choice import check_backend_here
from installation.dreaming.cpu_precision import native_bf16
from installation.dreaming.memory import check_dream_memory
from installation.dreaming.placement import resolve_precision
from installation.dreaming.students import STUDENTS, LookStudent
from installation.ops.progress import ProgressBar
from installation.outputs.images import check_writable_image_path, dreamable_size, read_image, write_image
from installation.rendering.still_look import StillLook, still_look

HELP = "dream a still image (multi-octave)"
QUIET_START = True  # start logs are held until the checks pass (installation.common.cli.StartLog)
log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="image to dream on")
    parser.add_argument("-o", "--output", type=Path, required=True, help="where to write the dream (.png, .jpg)")
    parser.add_argument("--preset", help="start from this preset (a name in presets/ or a .yaml file); flags override")
    parser.add_argument("--network", help=f"default: the preset's, else {DEFAULT_NETWORK}")
    parser.add_argument("--weights", type=Path, help="state dict for the network's architecture")
    parser.add_argument("--layers", help="objective: 'fire7', 'fire7:42', 'fire6=0.5,fire8:12=1', 'class:tabby'")
    parser.add_argument("--steps", type=whole_arg("render_steps"), help="steps per octave (default 10)")
    parser.add_argument("--octaves", type=whole_arg("octaves"), help="default 4")
    parser.add_argument("--octave-scale", type=number_arg("octave_scale"), help="default 1.4")
    parser.add_argument("--lr", type=number_arg("lr"), help="default 0.01")
    parser.add_argument("--jitter", type=whole_arg("jitter"), help="default 16")
    parser.add_argument("--smooth", type=number_arg("smooth"), help="default 0.5")
    parser.add_argument("--tv", type=number_arg("tv"), help="default 0")
    parser.add_argument("--seed", type=whole_arg("seed"), help="default 0")
    parser.add_argument("--size", type=size_arg, help="resize the input to WxH first")
    parser.add_argument("--backend", help="auto | torch | compile | onnx | tensorrt (default: auto)")
    parser.add_argument("--precision", default="fp32",
                        help="fp32 | bf16 (the network's arithmetic on a CPU with native bf16; default fp32)")
    parser.add_argument("--overwrite", action="store_true", help="allow -o to be the input file")
    parser.add_argument("--panorama", action="store_true",
                        help="the image is 360-degree (2:1) equirectangular: dream it without a seam")  # fmt: skip


def layers_spec(text: str | None) -> object:
    """CLI --layers: 'fire7', 'fire7:42' stay strings; 'fire6=0.5,fire8:12=1' is a weighted mapping."""
    if text is None or "=" not in text:
        return text
    spec: dict[str, float] = {}
    for part in text.split(","):
        name, _, weight = part.strip().partition("=")
        try:
            spec[name.strip()] = float(weight)
        except ValueError:
            raise DreamwallError(f"weight of '{name.strip()}' must be a number, got '{weight}'") from None
    return spec


def _compute(precision: str) -> str | None:
    """--precision for a still on the CPU: bf16 only where the processor has it (else exit 2)."""
    if precision == "auto":
        raise DreamwallError("--precision auto is for the live show (it probes); for a still choose fp32 or bf16")
    native = native_bf16() if precision == "bf16" else None
    resolve_precision(precision, torch.device("cpu"), "--precision", strict=True, bf16_native=native)
    return "bf16" if precision == "bf16" else None


LOOK_FLAGS = ("network", "weights", "layers", "jitter", "smooth", "tv", "octaves", "octave_scale", "steps")
"""Flags that make another look than the preset's: its student was not trained for it."""


def still_student(args: argparse.Namespace, look: StillLook) -> LookStudent | None:
    """The preset's student when it asks for one and the flags keep its look; else None (and a logged notice)."""
    if not look.named or look.base.dreamer != "student":
        return None
    changed = [f"--{name.replace('_', '-')}" for name in LOOK_FLAGS if getattr(args, name, None) is not None]
    if changed:
        log.warning("preset %s: %s change the look its student learnt; dreaming with the gradient", look.base.name,
                    ", ".join(changed))  # fmt: skip
        return None
    return STUDENTS.get(look.base)[0]  # no student: the cache logs why, once


def run(args: argparse.Namespace) -> int:
    look = still_look(args, layers_spec(args.layers))
    check_backend_here(look.backend, "cpu")
    compute = _compute(args.precision)
    check_writable_image_path(args.output, inputs=(args.input,), overwrite=args.overwrite)
    image = to_tensor(read_image(args.input))
    if args.size:
        image = resize(image, args.size[1], args.size[0])
    height, width = image.shape[-2:]
    dream_width, dream_height = dreamable_size((width, height), look.network)
    if (dream_width, dream_height) != (width, height):
        log.info("dreaming the %dx%d image at %dx%d, the smallest %s handles", width, height, dream_width,
                 dream_height, look.network)  # fmt: skip
    net = load_network(look.network, args.weights)
    objective = parse_objective(look.objective or net.default_layer, net,
                                load_guide=lambda path: to_tensor(read_image(Path(path))))  # fmt: skip
    generator = torch.Generator().manual_seed(look.seed)
    progress = ProgressBar(f"dream {objective.description}")
    step = look.step_params()
    if look.panorama:  # padded circularly by the objective's receptive field, as the live show and render do
        step, _ = panorama_settings(step, FeedbackParams(), net, objective.layers)
    seen = seen_size((dream_width, dream_height), step.panorama_pad)
    check_dream_memory(look.network, objective.layers, (dream_width, dream_height), "cpu", look.backend,
                       step.panorama_pad)  # fmt: skip
    student = still_student(args, look)
    if student is None:
        backend, reason = select_backend(look.backend, net, objective, seen, compute=compute)
        log.info("backend: %s", reason)
    start_done()
    start = resize(image, dream_height, dream_width)
    if student is None:
        dreamed = dream_octaves(net, start, objective, step, look.octave_params(), generator, backend.gradient,
                                progress)  # fmt: skip
    else:  # one pass: no gradient backend is built, and a build of the student's own would cost more than the pass
        log.info("dreamer: the student %s, in torch (the backend is the gradient dream's)", student.path)
        dreamed = student_frame(student.net, start, start, student.strength(look.lr), 0.0,
                                panorama_pad=step.panorama_pad)  # fmt: skip
    dreamed = resize(dreamed, height, width)
    write_image(args.output, to_uint8(dreamed), look.record(objective_spec=look.objective or net.default_layer))
    print(args.output)
    return 0
