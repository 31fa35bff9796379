"""Reading the small YAML files a technician edits (schedule, bindings): safe_load, one-line errors."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from engine.errors import DreamwallError, did_you_mean


def read_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    """The top-level mapping of a YAML file, or a DreamwallError naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DreamwallError(f"{what} file '{path}' not found") from None
    except OSError as error:
        raise DreamwallError(f"{what} file '{path}' cannot be read: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise DreamwallError(f"{path}: {problem}{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DreamwallError(f"{path}: expected a mapping of keys at the top, got {type(data).__name__}")
    return data


def reject_unknown(source: str, where: str, keys: Iterable[Any], allowed: Iterable[str]) -> None:
    """Raise for the first key not in `allowed`, with a suggestion and the list of valid keys."""
    allowed = list(allowed)
    for key in keys:
        if key not in allowed:
            prefix = f"{where}." if where else ""
            raise DreamwallError(
                f"{source}: {prefix}{key}: unknown key '{key}'{did_you_mean(str(key), allowed)}; "
                f"expected one of: {', '.join(allowed)}"
            )
