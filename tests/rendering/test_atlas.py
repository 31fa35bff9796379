"""The channel atlas: which tiles, the cache, the labelled sheet and `run.py atlas` misuse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import run
from engine.errors import DreamwallError
from engine.export.store import MemoryStore
from engine.featurevis import VisParams
from installation.rendering import atlas
from installation.rendering.atlas import atlas_tiles, dream_tiles, parse_channels, tile_key
from installation.rendering.atlas_sheet import BACKGROUND, LABEL_HEIGHT, atlas_sheet

FAST = VisParams(size=40, octaves=1, steps=2)


def test_channel_lists_and_their_errors() -> None:
    assert parse_channels("0-3, 7,2", "fire7", 384) == [0, 1, 2, 3, 7]
    with pytest.raises(DreamwallError, match=r"^channel 384 out of range for fire7: it has channels 0-383$"):
        parse_channels("380-384", "fire7", 384)
    with pytest.raises(DreamwallError, match="runs backwards; write 3-9"):
        parse_channels("9-3", "fire7", 384)
    with pytest.raises(DreamwallError, match="must look like 0-63"):
        parse_channels("a-b", "fire7", 384)


def test_tiles_default_to_the_first_64_channels_and_classes_add_on(squeezenet) -> None:
    labels = [t.label for t in atlas_tiles(squeezenet, None, None, [])]
    assert labels[0] == "fire7:0" and labels[-1] == "fire7:63" and len(labels) == 64
    labels = [t.label for t in atlas_tiles(squeezenet, "fire2", "1", ["tabby"])]
    assert labels == ["fire2:1", "class:tabby"]
    assert [t.label for t in atlas_tiles(squeezenet, None, None, ["tabby"])] == ["class:tabby"]
    with pytest.raises(DreamwallError, match="did you mean 'tabby'"):
        atlas_tiles(squeezenet, None, None, ["tabbby"])


def test_cached_tiles_are_not_dreamt_again(squeezenet, one_torch_thread, monkeypatch) -> None:
    store = MemoryStore()
    tiles = atlas_tiles(squeezenet, "fire7", "0-1", [])
    first = dream_tiles(squeezenet, tiles, FAST, seed=0, store=store)

    def no_dreaming(*args, **kwargs):
        raise AssertionError("a cached tile was dreamt again")

    monkeypatch.setattr(atlas, "visualise", no_dreaming)
    again = dream_tiles(squeezenet, tiles, FAST, seed=0, store=store)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], first[1])  # two channels, two pictures


def test_the_key_changes_with_every_setting_that_changes_the_pixels() -> None:
    keys = {tile_key("squeezenet1_1", "fire7:0", FAST, 0), tile_key("squeezenet1_1", "fire7:0", FAST, 1),
            tile_key("squeezenet1_1", "fire7:1", FAST, 0), tile_key("squeezenet1_1", "fire7:0", VisParams(size=40), 0),
            tile_key("efficientnet-lite0", "fire7:0", FAST, 0)}  # fmt: skip
    assert len(keys) == 5


def test_the_sheet_puts_a_label_under_every_tile() -> None:
    tiles = [np.full((40, 40, 3), 200, np.uint8)] * 5
    sheet = atlas_sheet(tiles, [f"fire7:{i}" for i in range(5)], columns=3)
    assert sheet.shape == (2 * (40 + LABEL_HEIGHT + 4) + 4, 3 * 44 + 4, 3)
    label = sheet[4 + 40 : 4 + 40 + LABEL_HEIGHT, 4 : 44]
    assert (label > BACKGROUND + 100).any()  # text was drawn
    assert (sheet[-30:, -44:] == BACKGROUND).all()  # the sixth cell stays empty


@pytest.mark.parametrize(("args", "message"), [
    (["--layer", "fire77"], "did you mean 'fire7'"),
    (["--channels", "0-999"], "it has channels 0-383"),
    (["--class", "tabbyy"], "did you mean 'tabby'"),
    (["--size", "8"], "atlas size must be between 32 and 512"),
    (["--network", "squeezenet"], "did you mean"),
])  # fmt: skip
def test_misuse_exits_2_with_one_line_and_no_file(tmp_path: Path, capsys, args, message) -> None:
    out = tmp_path / "atlas.jpg"
    try:
        code = run.main(["atlas", *args, "--cache", str(tmp_path / "cache"), "-o", str(out)])
    except SystemExit as exit_:
        code = int(exit_.code)
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not out.exists() and not (tmp_path / "cache").exists()


def test_progress_counts_every_picture_step_up_to_the_total(squeezenet, one_torch_thread) -> None:
    calls: list[tuple[int, int]] = []
    tiles = atlas_tiles(squeezenet, "fire7", "0-9", [])  # two batches: 8 + 2
    dream_tiles(squeezenet, tiles, FAST, seed=0, store=None, progress=lambda d, t: calls.append((d, t)))
    done = [d for d, _ in calls]
    assert done == sorted(done) and calls[-1] == (10 * FAST.steps, 10 * FAST.steps)


def test_the_command_writes_the_sheet_and_fills_the_cache(tmp_path: Path, one_torch_thread) -> None:
    out, cache = tmp_path / "atlas.jpg", tmp_path / "cache"
    argv = ["atlas", "--channels", "0-1", "--class", "tabby", "--size", "40", "--steps", "1", "--octaves", "1",
            "--cache", str(cache), "-o", str(out)]  # fmt: skip
    assert run.main(argv) == 0
    assert out.is_file() and len(list((cache / "atlas").glob("*.png"))) == 3
