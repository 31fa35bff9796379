"""`python run.py atlas --layer fire7 -o atlas.jpg`: what every channel grows, as one labelled sheet."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.featurevis import VisParams
from engine.networks import DEFAULT_NETWORK, check_network_name, load_network
from installation.common.cli import start_done, whole_arg
from installation.dreaming.export_cache import DEFAULT_CACHE, DiskStore, check_cache_folder
from installation.ops.progress import ProgressBar
from installation.outputs.images import check_writable_image_path, write_image
from installation.rendering.atlas import atlas_tiles, dream_tiles
from installation.rendering.atlas_sheet import atlas_sheet

HELP = "channel atlas: each channel (or --class) of a layer dreamt from noise, as a labelled grid"
QUIET_START = True

def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", type=Path, required=True, help="the sheet to write (.jpg, .png)")
    parser.add_argument("--network", default=DEFAULT_NETWORK)
    parser.add_argument("--layer", help="layer whose channels to show (default: the network's classic layer)")
    parser.add_argument("--channels", help="which channels: 0-63 (default), 5, 0,7,12-15")
    parser.add_argument("--class", dest="classes", help="also show class objectives: tabby,espresso,281")
    parser.add_argument("--size", type=whole_arg("atlas_size"), default=VisParams.size, help="tile side in pixels")
    parser.add_argument("--steps", type=whole_arg("render_steps"), default=VisParams.steps, help="steps per octave")
    parser.add_argument("--octaves", type=whole_arg("octaves"), default=VisParams.octaves)
    parser.add_argument("--seed", type=whole_arg("seed"), default=0)
    parser.add_argument("--columns", type=whole_arg("display"), default=8, help="tiles per row")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="tile cache folder (default: cache/)")
    parser.add_argument("--no-cache", action="store_true", help="dream every tile again and store nothing")

def run(args: argparse.Namespace) -> int:
    check_network_name(args.network)
    check_writable_image_path(args.output)
    store = None if args.no_cache else DiskStore(check_cache_folder(args.cache))
    params = VisParams(size=args.size, steps=args.steps, octaves=args.octaves)
    net = load_network(args.network)
    classes = [name for name in (args.classes or "").split(",") if name.strip()]
    tiles = atlas_tiles(net, args.layer, args.channels, classes)
    start_done()
    bar = ProgressBar(f"atlas {net.name} ({len(tiles)} tiles)", unit="steps")
    pictures = dream_tiles(net, tiles, params, args.seed, store, bar)
    write_image(args.output, atlas_sheet(pictures, [tile.label for tile in tiles], max(1, args.columns)))
    print(args.output)
    return 0
