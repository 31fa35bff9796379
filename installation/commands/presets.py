"""`run.py presets`: list and validate every preset and playlist, or check one file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.errors import DreamwallError
from installation.common.atomic import check_output_path
from installation.common.cli import EXIT_USAGE
from installation.outputs.png_settings import read_settings
from installation.presets.loader import (
    SCHEMA,
    Preset,
    PresetLibrary,
    display_path,
    environment_presets_dir,
    load_preset,
)
from installation.presets.playlist import Playlist, load_playlist, playlist_names, playlists_dir
from installation.presets.snapshot import recover_preset

HELP = "list and validate presets and playlists (--check FILE: one file; --from-image PNG -o FILE: recover one)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", type=Path, metavar="FILE", help="validate one preset or playlist file")
    parser.add_argument(
        "--dir", type=Path, default=None, help="presets folder (default: presets/, or $DREAMWALL_PRESETS)"
    )
    parser.add_argument("--schema", action="store_true", help="print every key with its type, range and meaning")
    parser.add_argument("--from-image", type=Path, metavar="PNG",
                        help="turn a screenshot's or still's settings back into a preset file (with -o)")  # fmt: skip
    parser.add_argument("-o", "--output", type=Path, help="with --from-image: the preset file to write (.yaml)")
    parser.add_argument("--overwrite", action="store_true",
                        help="with --from-image: allow -o to replace a presets folder's default.yaml")  # fmt: skip


KEYS = 9  # number keys 1-9 select the playlist's entries as listed


def key_numbers(playlist: Playlist) -> dict[str, int]:
    """Preset name -> the number key that selects it (its first place in the playlist, 1-9)."""
    keys: dict[str, int] = {}
    for number, entry in enumerate(playlist.entries[:KEYS], start=1):
        keys.setdefault(entry.preset, number)
    return keys


def numbered(playlist: Playlist) -> str:
    """"1 default, 2 melt, ...": the listing in key order (past 9, no key: just the name)."""
    return ", ".join(f"{n} {e.preset}" if n <= KEYS else e.preset for n, e in enumerate(playlist.entries, start=1))


def _default_keys(library: PresetLibrary) -> dict[str, int]:
    """Keys of the default playlist; none when it is missing or broken (reported below)."""
    try:
        return key_numbers(load_playlist(playlists_dir(library) / "default.yaml", library))
    except (DreamwallError, OSError):
        return {}


def _check_file(path: Path, directory: Path) -> int:
    if path.parent.name == "playlists":
        playlist = load_playlist(path, PresetLibrary(path.parent.parent))
        print(f"{display_path(path)}: ok, playlist of {len(playlist.entries)} entries")
        return 0
    sibling_default = path.parent / "default.yaml"
    preset = load_preset(path, sibling_default if sibling_default.is_file() else directory / "default.yaml")
    print(f"{display_path(path)}: ok, {preset.summary()}")
    return 0


def _from_image(image: Path, output: Path | None, overwrite: bool) -> int:
    """Settings inside a PNG -> a complete preset file, written only when the loader accepts it."""
    if output is None:
        raise DreamwallError("--from-image needs -o FILE.yaml: where to write the recovered preset")
    check_output_path(output, (".yaml",), "a preset", inputs=(image,))
    preset = recover_preset(read_settings(image), output, display_path(image), overwrite=overwrite)
    print(f"{display_path(output)}: ok, {preset.summary()}")
    return 0


def run(args: argparse.Namespace) -> int:
    directory = args.dir if args.dir is not None else environment_presets_dir()
    if args.from_image is not None:
        return _from_image(args.from_image, args.output, args.overwrite)
    if args.output is not None or args.overwrite:
        raise DreamwallError(f"{'-o' if args.output is not None else '--overwrite'} is for --from-image only")
    if args.schema:
        width = max(map(len, SCHEMA))
        for key, rule in SCHEMA.items():
            print(f"{key:<{width}}  {rule.expected:<32}  {rule.doc}")
        return 0
    if args.check is not None:
        return _check_file(args.check, directory)
    library = PresetLibrary(directory)
    keys = _default_keys(library)
    if keys:
        print("key N: the number key that selects the preset in the default playlist")
    broken = 0
    for name, result in library.check_all():
        key = f"key {keys[name]}" if name in keys else "-"
        if isinstance(result, Preset):
            print(f"ok      {key:<6} {result.summary()}  ({result.duration}) - {result.description}")
        else:
            broken += 1
            print(f"BROKEN  {key:<6} {name}: {result}")
    for name in playlist_names(library):
        try:
            playlist = load_playlist(playlists_dir(library) / f"{name}.yaml", library)
        except DreamwallError as error:
            broken += 1
            print(f"BROKEN  playlist {name}: {error}")
            continue
        order = "shuffled" if playlist.shuffle else "ordered"
        print(f"ok      playlist {name} ({order}): {numbered(playlist)}")
    if broken:
        sys.stderr.write(f"error: {broken} broken file(s) in {display_path(directory)}\n")
        return EXIT_USAGE
    return 0
