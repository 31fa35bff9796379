"""`run.py presets`: list and validate every preset and playlist, or check one file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.errors import DreamwallError
from installation.cli import EXIT_USAGE
from installation.playlist import load_playlist, playlist_names, playlists_dir
from installation.presets import SCHEMA, Preset, PresetLibrary, display_path, environment_presets_dir, load_preset

HELP = "list and validate presets and playlists (--check FILE: one file, exit 2 if broken)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", type=Path, metavar="FILE", help="validate one preset or playlist file")
    parser.add_argument(
        "--dir", type=Path, default=None, help="presets folder (default: presets/, or $DREAMWALL_PRESETS)"
    )
    parser.add_argument("--schema", action="store_true", help="print every key with its type, range and meaning")


def _check_file(path: Path, directory: Path) -> int:
    if path.parent.name == "playlists":
        playlist = load_playlist(path, PresetLibrary(path.parent.parent))
        print(f"{display_path(path)}: ok, playlist of {len(playlist.entries)} entries")
        return 0
    sibling_default = path.parent / "default.yaml"
    preset = load_preset(path, sibling_default if sibling_default.is_file() else directory / "default.yaml")
    print(f"{display_path(path)}: ok, {preset.summary()}")
    return 0


def run(args: argparse.Namespace) -> int:
    directory = args.dir if args.dir is not None else environment_presets_dir()
    if args.schema:
        width = max(map(len, SCHEMA))
        for key, rule in SCHEMA.items():
            print(f"{key:<{width}}  {rule.expected:<32}  {rule.doc}")
        return 0
    if args.check is not None:
        return _check_file(args.check, directory)
    library = PresetLibrary(directory)
    broken = 0
    for name, result in library.check_all():
        if isinstance(result, Preset):
            print(f"ok      {result.summary()}  ({result.duration:g} s) - {result.description}")
        else:
            broken += 1
            print(f"BROKEN  {name}: {result}")
    for name in playlist_names(library):
        try:
            playlist = load_playlist(playlists_dir(library) / f"{name}.yaml", library)
        except DreamwallError as error:
            broken += 1
            print(f"BROKEN  playlist {name}: {error}")
            continue
        order = "shuffled" if playlist.shuffle else "ordered"
        print(f"ok      playlist {name} ({order}): {', '.join(e.preset for e in playlist.entries)}")
    if broken:
        sys.stderr.write(f"error: {broken} broken file(s) in {display_path(directory)}\n")
        return EXIT_USAGE
    return 0
