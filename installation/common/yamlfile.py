"""The one reader of the YAML files a person edits (presets, playlists, bindings, schedule).

yaml.safe_load semantics, with three refusals safe_load lacks, each one line that
names the file: duplicate keys (safe_load keeps the last silently; both lines are
named), documents whose aliases expand beyond MAX_NODES values (a "billion laughs"
composes in microseconds but explodes in whatever walks the result: it is refused
before any Python object is built), nesting beyond MAX_DEPTH (a stack overflow) and
files over MAX_FILE_BYTES or not UTF-8.
A hot reload goes through the same reader, so nothing a save holds can kill the show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, SequenceNode

from engine.errors import DreamwallError, did_you_mean, excerpt, number_text
from installation.common.userfile import display_path, read_user_file

__all__ = [
    "MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "StrictSafeLoader", "display_path", "expanded_size",
    "read_yaml_mapping", "reject_unknown", "show",
]  # fmt: skip

MAX_FILE_BYTES = 256 * 1024
MAX_NODES = 20_000
"""Values in a document with every alias expanded; hand-written files hold a few hundred."""
MAX_DEPTH = 64
"""Nesting of values (aliases followed); PyYAML and every walker of the result recurse, and
a few thousand brackets would overflow Python's stack. Real files nest four deep."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


def show(value: object) -> str:
    """A YAML value as the user wrote it, for 'got ...' in messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return f"'{excerpt(value)}'"  # a file's whole content can arrive here as one string
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (int, float)):
        return number_text(value)
    return excerpt(str(value))


def _too_deep(mark: Any) -> ComposerError:
    return ComposerError(None, None, f"values nested more than {MAX_DEPTH} deep", mark)


def expanded_size(root: Node, limit: int) -> int:
    """Values under `root` with aliases expanded, counted once per shared node (stops past `limit`).

    A shared node's size and depth are memoised, so the count costs one visit per
    composed node however the aliases multiply; a node reached from inside itself
    (`&a [*a]`) and aliases that nest deeper than MAX_DEPTH are refused.
    """
    seen: dict[int, tuple[int, int]] = {}  # id -> (values, depth) of the expanded subtree
    open_nodes: set[int] = set()

    def measure(node: Node) -> tuple[int, int]:
        key = id(node)
        if key in seen:
            return seen[key]
        if key in open_nodes:
            raise ComposerError(None, None, "an alias refers to the value that contains it", node.start_mark)
        open_nodes.add(key)
        total, depth = 1, 1
        if isinstance(node, SequenceNode):
            children: Iterable[Node] = node.value
        elif isinstance(node, MappingNode):
            children = (child for pair in node.value for child in pair)
        else:
            children = ()
        for child in children:
            values, levels = measure(child)
            total, depth = total + values, max(depth, levels + 1)
            if total > limit:
                raise ComposerError(
                    None, None, f"aliases expand to more than {limit} values (a YAML bomb?)", root.start_mark
                )
            if depth > MAX_DEPTH:
                raise _too_deep(child.start_mark)
        open_nodes.discard(key)
        seen[key] = total, depth
        return total, depth

    return measure(root)[0]


class StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, nesting beyond MAX_DEPTH and alias expansion beyond MAX_NODES."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:  # type: ignore[override]
        if self._depth >= MAX_DEPTH:
            raise _too_deep(self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> Node | None:  # type: ignore[override]
        node = super().compose_document()
        if node is not None:
            expanded_size(node, MAX_NODES)
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:  # type: ignore[override]
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue  # `<<: *base` then overriding a key is YAML's way of reuse, not a duplicate
            key = self.construct_object(key_node, deep=True)
            try:
                line = first_line.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:
                continue  # unhashable: super() reports it
            if line != key_node.start_mark.line + 1:
                raise ConstructorError(
                    None, None, f"duplicate key {show(key)}, first at line {line}", key_node.start_mark
                )
        return super().construct_mapping(node, deep)


def read_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    """The top-level mapping of a small YAML file; any problem is one DreamwallError naming the file (and line)."""
    path = Path(path)
    shown = display_path(path)
    try:
        data = yaml.load(read_user_file(path, what, MAX_FILE_BYTES).decode("utf-8"), Loader=StrictSafeLoader)
    except UnicodeDecodeError as error:
        raise DreamwallError(f"{shown}: not UTF-8 text (byte {error.start})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or type(error).__name__  # may quote the file: an excerpt
        raise DreamwallError(f"{shown}: {where}invalid YAML ({excerpt(problem, 200)})") from None
    if data is None:
        raise DreamwallError(f"{shown}: file is empty; write at least one key (or {{}} for no changes)")
    if not isinstance(data, dict):
        raise DreamwallError(f"{shown}: must be a mapping of keys to values, got {show(data)}")
    return data


def reject_unknown(source: str, where: str, keys: Iterable[Any], allowed: Iterable[str]) -> None:
    """Raise for the first key not in `allowed`, with a suggestion and the list of valid keys."""
    allowed = list(allowed)
    for key in keys:
        if key not in allowed:
            prefix = f"{where}." if where else ""
            raise DreamwallError(
                f"{source}: {prefix}{excerpt(str(key))}: unknown key '{excerpt(str(key))}'"
                f"{did_you_mean(str(key), allowed)}; "
                f"expected one of: {', '.join(allowed)}"
            )
