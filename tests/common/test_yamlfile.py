"""One YAML reader for presets, playlists, bindings and schedule: the same one-line refusals for all."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from engine.errors import DreamwallError
from installation.common.yamlfile import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    StrictSafeLoader,
    display_path,
    expanded_size,
)
from installation.controls.bindings import load_bindings
from installation.controls.schedule import load_schedule
from installation.presets.loader import PRESETS_DIR, PresetLibrary, load_preset
from installation.presets.playlist import load_playlist


@pytest.fixture
def library(tmp_path: Path) -> PresetLibrary:
    shutil.copy(PRESETS_DIR / "default.yaml", tmp_path / "default.yaml")
    return PresetLibrary(tmp_path)


def loaders(library: PresetLibrary) -> dict[str, Callable[[Path], object]]:
    return {
        "preset": load_preset,
        "playlist": lambda path: load_playlist(path, library),
        "bindings": load_bindings,
        "schedule": load_schedule,
    }


KINDS = ("preset", "playlist", "bindings", "schedule")


def refusal(library: PresetLibrary, kind: str, content: bytes) -> str:
    path = library.directory / f"broken-{kind}.yaml"
    path.write_bytes(content)
    with pytest.raises(DreamwallError) as caught:
        loaders(library)[kind](path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{display_path(path)}: ")
    return message.removeprefix(f"{display_path(path)}: ")


@pytest.mark.parametrize("kind", KINDS)
def test_not_utf8_is_one_line_for_every_kind_of_file(library: PresetLibrary, kind: str) -> None:
    assert refusal(library, kind, b"description: caf\xe9\n") == "not UTF-8 text (byte 16)"


@pytest.mark.parametrize("kind", KINDS)
def test_duplicate_keys_at_any_depth_name_both_lines(library: PresetLibrary, kind: str) -> None:
    content = b"a:\n  b: 1\n  c: 2\n  b: 3\n"
    assert refusal(library, kind, content) == "line 4, column 3: invalid YAML (duplicate key 'b', first at line 2)"


def test_duplicate_top_level_preset_key(library: PresetLibrary) -> None:
    message = refusal(library, "preset", b"lr: 0.01\nsteps: 2\nlr: 0.5\n")
    assert message == "line 3, column 1: invalid YAML (duplicate key 'lr', first at line 1)"


def test_merge_keys_may_be_overridden_without_counting_as_duplicates() -> None:
    data = yaml.load("base: &b {x: 1, y: 2}\nmine:\n  <<: *b\n  y: 3\n", Loader=StrictSafeLoader)
    assert data["mine"] == {"x": 1, "y": 3}


BOMB = b"".join(
    [b"a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n".encode() for i in range(1, 9)]
    + [b"objective: [*a8]\n"]
)


@pytest.mark.parametrize("kind", KINDS)
def test_an_alias_bomb_is_refused_before_anything_is_built(
    library: PresetLibrary, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []  # the first key of every document that reached the constructor
    construct = StrictSafeLoader.construct_document

    def spy(self: StrictSafeLoader, node: yaml.MappingNode) -> object:
        built.append(node.value[0][0].value)
        return construct(self, node)

    monkeypatch.setattr(StrictSafeLoader, "construct_document", spy)
    message = refusal(library, kind, BOMB)
    assert "a0" not in built
    assert message == f"line 1, column 1: invalid YAML (aliases expand to more than {MAX_NODES} values (a YAML bomb?))"


def test_expansion_is_counted_once_per_shared_node() -> None:
    loader = StrictSafeLoader("a: &x [1, 2]\nb: [*x, *x, *x]\n")
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    # root 1 + 'a' 1 + list 3 + 'b' 1 + outer list 1 + three expanded copies of 3
    assert expanded_size(root, MAX_NODES) == 16
    with pytest.raises(yaml.YAMLError, match="more than 10 values"):
        expanded_size(root, 10)


def test_a_self_referencing_alias_is_refused(library: PresetLibrary) -> None:
    message = refusal(library, "bindings", b"keyboard: &k {q: *k}\n")
    assert message.endswith("invalid YAML (an alias refers to the value that contains it)")


def test_too_large_and_empty_files(library: PresetLibrary) -> None:
    big = b"# " + b"x" * MAX_FILE_BYTES + b"\n"
    assert refusal(library, "bindings", big) == (
        f"file is {len(big)} bytes, a bindings file must be under {MAX_FILE_BYTES}"
    )
    assert refusal(library, "schedule", b"") == "file is empty; write at least one key (or {} for no changes)"
    assert refusal(library, "bindings", b"- q\n") == "must be a mapping of keys to values, got a list"


def test_deep_nesting_is_refused_before_it_overflows_the_stack(library: PresetLibrary) -> None:
    brackets = b"a: " + b"[" * 3000 + b"]" * 3000 + b"\n"
    assert refusal(library, "bindings", brackets) == (
        f"line 1, column {4 + MAX_DEPTH - 1}: invalid YAML (values nested more than {MAX_DEPTH} deep)"
    )
    chain = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 100))
    assert refusal(library, "schedule", chain.encode()).endswith(f"(values nested more than {MAX_DEPTH} deep)")
    four_deep = "keyboard:\n  q: {action: quit}\nmidi:\n  cc:\n    1: {action: intensity, range: [0, 1]}\n"
    assert load_bindings(write_file(library.directory / "ok.yaml", four_deep)).keyboard["q"].kind == "quit"


def write_file(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
