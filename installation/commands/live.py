"""`python run.py live` (and a bare `python run.py`): the installation."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from engine.framing import FIT_MODES
from engine.masks import MASK_MODES
from installation.app.config import LiveConfig
from installation.common.cli import choice_arg, number_arg, size_arg, start_done, whole_arg
from installation.controls.inputs import ControlsConfig
from installation.presets.schema import DREAMERS
from installation.sources.cameras.settings import CONFIG_ENVIRONMENT as CAMERA_CONFIG_ENV
from installation.sources.cameras.settings import ENVIRONMENT as CAMERA_ENV
from installation.sources.cameras.settings import format_arg, fps_arg, from_options
from installation.sources.orientation import ROTATIONS

HELP = "run the installation (the default command): camera -> dream -> fullscreen, or headless to a video"
QUIET_START = True  # start logs are held until the checks pass (installation.common.cli.StartLog)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", help="camera index, /dev/video2, /dev/v4l/by-id/..., 'name:C920', video "
                        "file, URL, GStreamer pipeline or 'demo' (default: camera 0, else demo)")  # fmt: skip
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--preset", help="show one preset instead of a playlist")
    which.add_argument("--playlist", help="playlist name (default: default)")
    parser.add_argument("--windowed", action="store_true", help="a window instead of fullscreen")
    parser.add_argument("--display", type=whole_arg("display"), default=0, help="monitor index for fullscreen")
    parser.add_argument("--headless", action="store_true", help="no window: dream into a video file")
    parser.add_argument("--frames", type=whole_arg("run_frames"), help="headless: stop after N dreamed frames")
    parser.add_argument("--seconds", type=whole_arg("run_seconds"), help="headless: stop after N seconds")
    parser.add_argument("--out", type=Path, help="headless: output video (default out/dreamwall-<time>.mp4)")
    parser.add_argument("--size", type=size_arg, help="window size (windowed) or headless video size, WxH")
    parser.add_argument("--process-size", type=size_arg, help="dreaming resolution WxH (default: preset / auto)")
    parser.add_argument("--status-file", type=Path, help="JSON status rewritten atomically every second")
    parser.add_argument("--presets-dir", type=Path, help="folder of preset YAML files (default: presets/)")
    framing = parser.add_mutually_exclusive_group()
    framing.add_argument("--fit", type=choice_arg("fit", FIT_MODES), help="how the frame meets the screen or "
                         "--size: fill (crop to cover), fit (black bars), stretch (aspect changes) "
                         "(default: the preset's, fill)")  # fmt: skip
    framing.add_argument("--letterbox", action="store_true", help="the same as --fit fit")
    parser.add_argument("--mirror", action=argparse.BooleanOptionalAction, help="mirror the source left-right "
                        "(default: cameras mirrored, files and streams not)")  # fmt: skip
    parser.add_argument("--rotate", type=int, choices=ROTATIONS, default=0, metavar="DEGREES",
                        help="turn the source clockwise by 0, 90, 180 or 270 degrees (a camera on its side, "
                        "a portrait screen)")  # fmt: skip
    parser.add_argument("--hud", action="store_true", help="start with the HUD shown")
    parser.add_argument("--backend", help="auto | torch | compile | onnx | tensorrt (default: the preset's choice)")
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA when present, else CPU) | cpu | cuda | cuda:N")  # fmt: skip
    parser.add_argument("--seed", type=whole_arg("seed"),
                        help="jitter seed for every preset (default: each preset's own seed)")  # fmt: skip
    parser.add_argument("--mask", type=choice_arg("mask", MASK_MODES), help="who dreams in every preset: visitors "
                        "(only what moves), room (all but what moves) or none (default: the preset's)")  # fmt: skip
    parser.add_argument("--dreamer", type=choice_arg("dreamer", DREAMERS), help="gradient or student (the look's "
                        "one-pass student, where it has one) for every preset (default: the preset's)")  # fmt: skip
    parser.add_argument("--panorama", action="store_true", help="the camera or file is 360-degree (2:1) "
                        "equirectangular: every preset dreams it seamlessly (default: each preset's own)")  # fmt: skip
    camera = parser.add_argument_group("camera (defaults from the kiosk environment file: $DREAMWALL_CAMERA_*)")
    # argparse checks a string default from the environment like the option itself
    camera.add_argument("--camera-size", type=size_arg, default=os.environ.get(CAMERA_ENV["size"]) or None,
                        help="camera mode WxH (default: the largest not larger than the output at >= 30 fps)")
    camera.add_argument("--camera-fps", type=fps_arg, default=os.environ.get(CAMERA_ENV["fps"]) or None,
                        help="camera frame rate (default: as the mode rule chooses)")
    camera.add_argument("--camera-format", type=format_arg, default=os.environ.get(CAMERA_ENV["format"]) or None,
                        help="mjpg | yuyv | auto (default: auto, MJPG where the camera offers it)")
    camera.add_argument("--camera-config", type=Path, default=os.environ.get(CAMERA_CONFIG_ENV) or None,
                        help="the kiosk's camera file: a YAML 'camera:' section with exposure, gain, "
                        "white_balance, focus, lock_after (and size, fps, format)")  # fmt: skip
    controls = parser.add_argument_group("controls")
    controls.add_argument("--bindings", type=Path, help="keyboard/MIDI/OSC bindings (default: bindings/default.yaml)")
    controls.add_argument("--osc-port", type=whole_arg("osc_port"), help="listen for OSC on this UDP port")
    controls.add_argument("--osc-host", default="127.0.0.1",
                          help="address OSC binds to (default 127.0.0.1; 0.0.0.0 opens it to the network)")
    midi = controls.add_mutually_exclusive_group()
    midi.add_argument("--midi", metavar="PATTERN", help="use the MIDI input whose name matches this regex")
    midi.add_argument("--no-midi", action="store_true", help="do not look for MIDI devices")
    controls.add_argument("--schedule", type=Path, help="opening hours YAML: sleep (black, camera off) when closed")
    tempo = parser.add_argument_group("tempo (the show's one clock: Link, else MIDI clock, else OSC / tap tempo)")
    tempo.add_argument("--link", action="store_true", help="join the Ableton Link session on this network: follow "
                       "its tempo and beat, propose a tapped or OSC tempo to it")
    tempo.add_argument("--tempo", type=number_arg("tempo"), metavar="BPM", help="the show's own tempo until a "
                       "tempo source leads (and Link's, if the show starts the session); default: seconds")
    tempo.add_argument("--beats-per-bar", type=whole_arg("beats_per_bar"), default=4, metavar="N",
                       help="beats in a bar for quantize, pulses and 'N bars' (Link's quantum; default 4)")
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("--virtual-camera", action="store_true", help="also send the dream to a virtual camera")
    outputs.add_argument("--audio", action="store_true",
                         help="audio-reactive: input level and onsets push the intensity (needs sounddevice)")
    outputs.add_argument("--audio-device", help="sounddevice input name or index (default: system default)")
    web = parser.add_argument_group("remote control panel")
    # the kiosk environment file may turn it on; argparse checks a string default like the option itself
    web.add_argument("--web-port", type=whole_arg("web_port"), default=os.environ.get("DREAMWALL_WEB_PORT") or None,
                     help="serve the control panel on this TCP port (default: $DREAMWALL_WEB_PORT, else off)")
    web.add_argument("--web-host", default=os.environ.get("DREAMWALL_WEB_HOST", "127.0.0.1"),
                     help="address the panel binds to (default 127.0.0.1; any other needs the token)")
    outputs.add_argument("--virtual-camera-device", help="e.g. /dev/video10 when there are several loopbacks")
    outputs.add_argument("--ndi", nargs="?", const="Dreamwall", default=os.environ.get("DREAMWALL_NDI") or None,
                         metavar="NAME", help="send the shown frame as an NDI source (default name Dreamwall; "
                         "default: $DREAMWALL_NDI, else off; needs requirements-ndi.txt)")  # fmt: skip


def config_from_args(args: argparse.Namespace) -> LiveConfig:
    return LiveConfig(
        source=args.source,
        preset=args.preset,
        playlist=args.playlist,
        windowed=args.windowed,
        display=args.display,
        headless=True if (args.headless or args.frames or args.seconds or args.out) else None,
        frames=args.frames,
        seconds=args.seconds,
        out=args.out,
        size=args.size,
        process_size=args.process_size,
        status_file=args.status_file,
        presets_dir=args.presets_dir,
        seed=args.seed,
        mask=args.mask,
        dreamer=args.dreamer,
        panorama=args.panorama,
        backend=args.backend,
        device=args.device,
        fit="fit" if args.letterbox else args.fit,
        mirror=args.mirror,
        rotate=args.rotate,
        hud=args.hud,
        controls=ControlsConfig(
            bindings=args.bindings,
            osc_port=args.osc_port,
            osc_host=args.osc_host,
            midi=not args.no_midi,
            midi_pattern=args.midi,
            schedule=args.schedule,
        ),
        virtual_camera=args.virtual_camera,
        virtual_camera_device=args.virtual_camera_device,
        audio=args.audio,
        audio_device=args.audio_device,
        web_port=args.web_port,
        web_host=args.web_host,
        ndi=args.ndi,
        link=args.link,
        tempo=args.tempo,
        beats_per_bar=args.beats_per_bar,
        camera=from_options(args.camera_config, args.camera_size, args.camera_fps, args.camera_format, args.size),
    )


def check_arguments(args: argparse.Namespace) -> None:
    """Fail in one line before any thread starts: the output-path rule for --out, a --source file probed,
    the web panel's port free."""
    from installation.common.ndi import runtime
    from installation.ops.status import check_status_path
    from installation.outputs.ndi_out import ndi_name
    from installation.outputs.video_writer import check_video_output
    from installation.sources.cameras.devices import LinuxpyLayer, check_camera_spec
    from installation.sources.ndi import check_ndi_source, is_ndi_spec
    from installation.sources.openers import is_camera_spec, open_source

    if args.out is not None:
        check_video_output(args.out)
    if args.status_file is not None:
        check_status_path(args.status_file)
    if args.source is not None:
        open_source(args.source)
        if is_camera_spec(args.source):
            check_camera_spec(args.source, LinuxpyLayer())  # a name or path no camera present answers to
    if args.source is not None and is_ndi_spec(args.source):
        check_ndi_source(args.source)  # a name no NDI source answers to (did you mean), an address nobody answers at
    if args.ndi is not None:
        ndi_name(args.ndi)
        runtime()  # the package and its runtime: one line, exit 2, where NDI out was asked for
    if args.web_port:
        from installation.web.service import check_port

        check_port(args.web_host, args.web_port)  # files are read once here; cameras and streams are not opened


def run(args: argparse.Namespace) -> int:
    check_arguments(args)
    from installation.app.app import App

    app = App(config_from_args(args))
    start_done()
    return app.run()
