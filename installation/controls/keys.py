"""The keyboard table as the window reads it, kept current by the Controls' hot reload."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from installation.controls.actions import Action
from installation.controls.bindings import load_bindings


class KeyTable(Mapping[str, Action]):
    """The keyboard table the renderer reads on every key press; Controls swap its contents on a reload.

    A holder rather than a dict copy, so an edited bindings file reaches the window
    without the renderer knowing about files or the app: one reference swap, no lock needed.
    """

    def __init__(self, keys: Mapping[str, Action]) -> None:
        self._keys = dict(keys)

    def replace(self, keys: Mapping[str, Action]) -> None:
        self._keys = dict(keys)

    def __getitem__(self, name: str) -> Action:
        return self._keys[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def default_keys() -> KeyTable:
    """The keyboard table of the shipped bindings/default.yaml (the one source of key meanings)."""
    return KeyTable(load_bindings().keyboard)
