"""A preset as plain values, for the settings inside pictures, and back into a preset file.

The record written into a PNG (installation.outputs.png_settings) holds every schema key
after live overrides; `recover_preset` turns it back into YAML and checks it with the
loader itself before it lands, so a recovered preset is one the show accepts.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from engine.errors import DreamwallError, excerpt
from installation import HOME
from installation.common.atomic import atomic_path
from installation.common.userfile import display_path
from installation.presets.loader import DEFAULT_NAME, PRESETS_DIR, SUFFIX, load_preset, merge_trees, validate_tree
from installation.presets.schema import Preset, section_keys, thaw

FORMAT = 1  # the record's layout; readers refuse what they do not know
SHIPPED_DEFAULTS = PRESETS_DIR / f"{DEFAULT_NAME}{SUFFIX}"


@cache
def version() -> str:
    """The project's version from pyproject.toml (there is no installed distribution to ask)."""
    try:
        return str(tomllib.loads((HOME / "pyproject.toml").read_text())["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def preset_values(preset: Preset) -> dict[str, Any]:
    """Every schema key of `preset` as plain values (sections nested, the size as WxH or auto)."""
    return _section_values(preset)


def _section_values(section: object) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, item in section_keys(type(section)).items():
        value = getattr(section, key)
        if "section" in item.metadata:
            values[key] = _section_values(value)
        elif key == "process_size":
            values[key] = "auto" if value is None else f"{value[0]}x{value[1]}"
        else:
            values[key] = thaw(value)
    return values


def live_preset(preset: Preset, intensity: float | None, feedback: float | None) -> Preset:
    """The preset as the show dreams it now: the knobs' intensity and feedback applied."""
    if intensity is not None:
        preset = preset.with_intensity(intensity)
    if feedback is not None:
        preset = dataclasses.replace(preset, feedback=feedback)
    return preset


def settings_record(preset_name: str, values: Mapping[str, Any], source: str) -> dict[str, Any]:
    """What a picture carries; network and seed repeated at the top for a person reading it."""
    return {
        "format": FORMAT,
        "version": version(),
        "source": source,
        "preset_name": preset_name,
        "network": values.get("network"),
        "seed": values.get("seed"),
        "preset": dict(values),
    }


def recover_preset(record: Mapping[str, Any], target: Path, shown: str, overwrite: bool = False) -> Preset:
    """Write the record's values as a complete preset file at `target`, atomically, only if the loader accepts it.

    Complete: keys the record lacks come from the defaults the preset will be merged
    over, so the file is never a partial default.yaml, and the presets folder's
    default.yaml is replaced only with `overwrite` (every other preset is merged over it).
    Only validated values reach the file, through the YAML emitter; the comment line
    quotes the record's words as escaped excerpts (a name may hold a newline).
    """
    if record.get("format") != FORMAT or not isinstance(record.get("preset"), Mapping):
        raise DreamwallError(f"{shown}: Dreamwall settings in an unknown layout (format {FORMAT} expected)")
    target = Path(target)
    is_default = target.name == f"{DEFAULT_NAME}{SUFFIX}"
    if is_default and target.exists() and not overwrite:
        raise DreamwallError(
            f"{display_path(target)} is the defaults every other preset is merged over; "
            "choose another name, or add --overwrite to replace it"
        )
    defaults = _defaults_for(target)
    try:
        recorded = dict(record["preset"])
        validate_tree(recorded, shown)  # an unknown key or a bad value stops here, before any writing
        values = merge_trees(_default_values(defaults, is_default), recorded)
    except DreamwallError as error:
        raise DreamwallError(f"{shown}: the settings do not make a valid preset: {error}") from None
    note = "# recovered from {}: preset {}, Dreamwall {}\n".format(
        *(excerpt(str(word)) for word in (shown, record.get("preset_name"), record.get("version")))
    )
    text = note + yaml.safe_dump(values, sort_keys=False, allow_unicode=True)
    with atomic_path(target) as temp:
        temp.write_text(text, encoding="utf-8")
        try:
            preset = load_preset(temp, temp if is_default else defaults)
        except DreamwallError as error:
            message = str(error).replace(str(temp.name), target.name)
            raise DreamwallError(f"{shown}: the settings do not make a valid preset: {message}") from None
    return dataclasses.replace(preset, name=target.stem, path=target)


def _default_values(defaults: Path, replacing: bool) -> dict[str, Any]:
    """Every key's value in `defaults`, to fill what a record lacks.

    When `defaults` is the very file being replaced and it is broken (as a partial
    default.yaml written by an older Dreamwall was), the shipped defaults fill in.
    """
    try:
        return preset_values(load_preset(defaults, defaults))
    except DreamwallError:
        if not replacing:
            raise
        return preset_values(load_preset(SHIPPED_DEFAULTS, SHIPPED_DEFAULTS))


def _defaults_for(target: Path) -> Path:
    """The sibling default.yaml the preset will be merged over, else the shipped one."""
    sibling = target.parent / f"{DEFAULT_NAME}{SUFFIX}"
    return sibling if sibling.is_file() else SHIPPED_DEFAULTS
