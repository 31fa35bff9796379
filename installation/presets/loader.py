"""Presets: YAML files that say how the installation dreams, loaded into frozen values.

`presets/default.yaml` defines every key; any other preset overrides parts of it
(nested sections merge key by key). The keys and their rules are
installation.presets.schema; this module reads files, merges them over the defaults,
checks the rules that need the whole tree, and keeps the library of a presets folder.
Errors name the file and the key path.

Layer names are checked against a catalogue built on the "meta" device (shapes only,
no weights), so validation never loads a network.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import torch

from engine.beats import exceeds
from engine.errors import DreamwallError, did_you_mean, excerpt, number_text, unknown_name
from engine.networks import DreamNet
from engine.networks.shapes import architecture
from engine.objectives import parse_objective
from engine.sizes import min_dream_side
from installation import HOME
from installation.common.yamlfile import display_path, read_yaml_mapping, show
from installation.presets.objectives import MAX_GUIDE_SIDE, read_guide_image
from installation.presets.schema import SCHEMA, Preset, section_keys, thaw

__all__ = [  # what other modules import from here (the schema's names stay importable from the loader)
    "DEFAULT_NAME", "MAX_GUIDE_SIDE", "PRESETS_DIR", "SCHEMA", "SUFFIX", "Preset", "PresetLibrary",
    "catalogue_network", "check_process_size", "display_path", "environment_presets_dir", "load_preset",
    "merge_trees", "read_defaults", "unknown_key", "validate_tree",
]  # fmt: skip

PRESETS_DIR = HOME / "presets"
DEFAULT_NAME = "default"
SUFFIX = ".yaml"


# ---------------------------------------------------------------------------- files


def unknown_key(shown: str, path: str, choices: Sequence[str]) -> DreamwallError:
    """'unknown key' with the closest full key path as the suggestion (a misplaced key finds its section)."""
    return DreamwallError(f"{shown}: unknown key '{excerpt(path)}'{did_you_mean(path, choices)}")


def _all_paths(section: type = Preset, prefix: str = "") -> Iterator[str]:
    for key, item in section_keys(section).items():
        yield f"{prefix}{key}"
        if "section" in item.metadata:
            yield from _all_paths(item.metadata["section"], f"{prefix}{key}.")


def _validate(data: Mapping[str, Any], section: type, shown: str, prefix: str = "") -> dict[str, Any]:
    """Check keys and values of one (partial) tree; returns the converted tree."""
    known = section_keys(section)
    result: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if not isinstance(key, str) or key not in known:
            raise unknown_key(shown, str(path), list(_all_paths()))
        meta = known[key].metadata
        if "section" in meta:
            if not isinstance(value, Mapping):
                raise DreamwallError(f"{shown}: key '{path}': must be a mapping of {key} keys, got {show(value)}")
            result[key] = _validate(value, meta["section"], shown, f"{path}.")
        else:
            result[key] = meta["rule"].check(value, f"{shown}: key '{path}':")
    return result


def _missing(tree: Mapping[str, Any], section: type, prefix: str = "") -> Iterator[str]:
    for key, item in section_keys(section).items():
        if key not in tree:
            yield f"{prefix}{key}"
        elif "section" in item.metadata:
            yield from _missing(tree[key], item.metadata["section"], f"{prefix}{key}.")


def _merge(base: Mapping[str, Any], override: Mapping[str, Any], section: type) -> dict[str, Any]:
    """Deep merge guided by the schema: sections merge, values (objective mappings too) replace."""
    merged = dict(base)
    known = section_keys(section)
    for key, value in override.items():
        sub = known[key].metadata.get("section")
        merged[key] = _merge(base[key], value, sub) if sub is not None else value
    return merged


def validate_tree(data: Mapping[str, Any], shown: str) -> dict[str, Any]:
    """A (partial) preset's keys and values checked against the schema, as a file's are; the converted tree."""
    return _validate(data, Preset, shown)


def merge_trees(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` (already validated) merged over `base` as a preset file is merged over default.yaml."""
    return _merge(base, override, Preset)


def _build(section: type, tree: Mapping[str, Any], **extra: Any) -> Any:
    values = dict(extra)
    for key, item in section_keys(section).items():
        sub = item.metadata.get("section")
        values[key] = _build(sub, tree[key]) if sub is not None else tree[key]
    return section(**values)


def read_defaults(path: Path) -> dict[str, Any]:
    """default.yaml, validated and complete."""
    shown = display_path(path)
    tree = _validate(read_yaml_mapping(path, "preset"), Preset, shown)
    missing = list(_missing(tree, Preset))
    if missing:
        rule = SCHEMA[missing[0]]
        raise DreamwallError(
            f"{shown}: missing key '{missing[0]}' ({rule.expected}: {rule.doc}); default.yaml must define every key"
        )
    _check_whole(tree, shown, path.parent)  # a preset itself: its own mistake is named once, not per preset
    return tree


def _check_whole(tree: dict[str, Any], shown: str, folder: Path) -> str:
    """The rules that need the complete tree (keys from different files); returns the objective's description.

    Resolves tree['objective'] in place (guide paths relative to `folder`, the file that holds them).
    """
    if tree["lr"] > tree["lr_max"]:
        raise DreamwallError(
            f"{shown}: key 'lr': must not exceed lr_max ({number_text(tree['lr_max'])}), got {number_text(tree['lr'])}"
        )
    if exceeds(tree["transition"], tree["duration"]):
        raise DreamwallError(
            f"{shown}: key 'transition': must not exceed duration ({tree['duration']}), got {tree['transition']}"
        )
    if tree["process_size"] is not None:
        check_process_size(tree["process_size"], tree["network"], f"{shown}: key 'process_size':")
    tree["objective"], objective_text = _check_objective(tree["objective"], tree["network"], shown, folder)
    return objective_text


# ---------------------------------------------------------------------------- layer catalogue


def catalogue_network(name: str) -> DreamNet:
    """The network's architecture on the meta device: layer names and channels, no weights."""
    return architecture(name)


def _check_objective(spec: object, network: str, shown: str, folder: Path) -> tuple[object, str]:
    """Run the show's own parser on the architecture (meta device); guide images are decoded here.

    Returns the spec with guide paths made absolute, and its description. Anything the
    show's parser would refuse (an empty list, a non-finite weight, a corrupt guide) is
    refused here, at `presets --check`, at start and on reload alike.
    """
    net = catalogue_network(network)

    def check_guide(path: str) -> torch.Tensor:
        height, width = read_guide_image(Path(path), network).shape[:2]
        return torch.empty(1, 3, height, width, device="meta")  # the features' shapes only

    resolved = _resolve_guides(spec, folder)
    try:
        objective = parse_objective(thaw(resolved), net, check_guide)
    except DreamwallError as error:
        raise DreamwallError(f"{shown}: key 'objective': {error}") from None
    return resolved, objective.description


def _resolve_guides(spec: object, folder: Path) -> object:
    """Guide paths relative to the preset's folder, made absolute (the show's working folder differs)."""
    if isinstance(spec, tuple):
        return tuple(_resolve_guides(item, folder) for item in spec)
    if isinstance(spec, Mapping) and "guide" in spec:
        guide = Path(str(spec["guide"])).expanduser()
        return MappingProxyType({**spec, "guide": str(guide if guide.is_absolute() else folder / guide)})
    return spec


def check_process_size(size: tuple[int, int], network: str, where: str) -> None:
    """Refuse a dreaming size below the network's smallest dreamable side (engine.sizes.min_dream_side)."""
    low = min_dream_side(network)
    width, height = size
    if width < low or height < low:
        prefix = f"{where} " if where else ""
        raise DreamwallError(
            f"{prefix}process size {width}x{height} is too small for {network}: "
            f"width and height must be at least {low}"
        )


# ---------------------------------------------------------------------------- loading


def load_preset(path: Path, defaults: Path | None = None) -> Preset:
    """One preset file merged over its defaults (the sibling default.yaml, else the shipped one)."""
    path = Path(path)
    if defaults is None:
        sibling = path.parent / f"{DEFAULT_NAME}{SUFFIX}"
        defaults = sibling if sibling.is_file() else PRESETS_DIR / f"{DEFAULT_NAME}{SUFFIX}"
    base = read_defaults(defaults)
    shown = display_path(path)
    if path.resolve() == Path(defaults).resolve():
        tree = base
    else:
        tree = _merge(base, _validate(read_yaml_mapping(path, "preset"), Preset, shown), Preset)
    objective_text = _check_whole(tree, shown, path.parent)  # again: the merge may pair keys that do not fit
    return _build(Preset, tree, name=path.stem, path=path, objective_text=objective_text)


class PresetLibrary:
    """The presets folder: names are file stems; every preset is merged over default.yaml."""

    def __init__(self, directory: Path = PRESETS_DIR) -> None:
        self.directory = Path(directory)
        self.default_path = self.directory / f"{DEFAULT_NAME}{SUFFIX}"
        if not self.default_path.is_file():
            raise DreamwallError(f"{display_path(self.default_path)}: file not found; a presets folder needs it")

    def names(self) -> list[str]:
        """default first, then the others by name."""
        stems = sorted(p.stem for p in self.directory.glob(f"*{SUFFIX}") if not p.name.startswith("."))
        return [DEFAULT_NAME, *(s for s in stems if s != DEFAULT_NAME)]

    def path(self, name: str) -> Path:
        candidate = self.directory / f"{name}{SUFFIX}"
        if not candidate.is_file():
            raise unknown_name("preset", name, self.names())
        return candidate

    def load(self, name: str) -> Preset:
        return load_preset(self.path(name), self.default_path)

    def load_all(self, names: Sequence[str] | None = None) -> dict[str, Preset]:
        """All (or the named) presets; the first broken one raises."""
        return {name: self.load(name) for name in (names if names is not None else self.names())}

    def check_all(self) -> list[tuple[str, Preset | DreamwallError]]:
        """Every preset with its value or its error: for `run.py presets`."""
        results: list[tuple[str, Preset | DreamwallError]] = []
        for name in self.names():
            try:
                results.append((name, self.load(name)))
            except DreamwallError as error:
                results.append((name, error))
        return results


def environment_presets_dir() -> Path:
    """DREAMWALL_PRESETS overrides the shipped folder (kiosks keep their own)."""
    return Path(os.environ.get("DREAMWALL_PRESETS", str(PRESETS_DIR)))
