"""`python run.py live` (and a bare `python run.py`): the installation."""

from __future__ import annotations

import argparse
from pathlib import Path

from installation.cli import int_in, size_arg
from installation.live_config import LiveConfig

HELP = "run the installation (the default command): camera -> dream -> fullscreen, or headless to a video"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", help="camera index, video file, URL, GStreamer pipeline or 'demo' "
                        "(default: camera 0, else demo)")  # fmt: skip
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--preset", help="show one preset instead of a playlist")
    which.add_argument("--playlist", help="playlist name (default: default)")
    parser.add_argument("--windowed", action="store_true", help="a window instead of fullscreen")
    parser.add_argument("--display", type=int_in(0, 16, "display"), default=0, help="monitor index for fullscreen")
    parser.add_argument("--headless", action="store_true", help="no window: dream into a video file")
    parser.add_argument("--frames", type=int_in(1, 10_000_000, "frames"), help="headless: stop after N dreamed frames")
    parser.add_argument("--seconds", type=int_in(1, 10_000_000, "seconds"), help="headless: stop after N seconds")
    parser.add_argument("--out", type=Path, help="headless: output video (default out/dreamwall-<time>.mp4)")
    parser.add_argument("--size", type=size_arg, help="window size (windowed) or headless video size, WxH")
    parser.add_argument("--process-size", type=size_arg, help="dreaming resolution WxH (default: preset / auto)")
    parser.add_argument("--status-file", type=Path, help="JSON status rewritten atomically every second")
    parser.add_argument("--presets-dir", type=Path, help="folder of preset YAML files (default: presets/)")
    parser.add_argument("--letterbox", action="store_true", help="fit the whole dream with bars instead of filling")
    parser.add_argument("--hud", action="store_true", help="start with the HUD shown")
    parser.add_argument("--seed", type=int_in(0, 2**31 - 1, "seed"), default=0)


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
        scale_mode="letterbox" if args.letterbox else "fill",
        hud=args.hud,
    )


def run(args: argparse.Namespace) -> int:
    from installation.app import App

    return App(config_from_args(args)).run()
