"""`presets --from-image` against pictures made to break it (issue 20: 3, 13, 14).

Recovery writes a complete preset checked by the loader, never replaces default.yaml
without --overwrite, cannot be steered by the words in a record, and every crafted
picture is one line and exit 2; numbers in range errors are printed as given.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image
from PIL.PngImagePlugin import PngInfo

import run
from installation.outputs.png_settings import MAX_JSON_DEPTH, MAX_SETTINGS_CHARS, SETTINGS_KEY, encode_png
from installation.presets.loader import PRESETS_DIR, SCHEMA, PresetLibrary, load_preset, read_defaults
from installation.presets.snapshot import preset_values, settings_record
from tests.refusals import one_line_error


def main(argv: list[str]) -> int:
    try:
        return run.main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)


def defaults() -> dict[str, Any]:
    return preset_values(load_preset(PRESETS_DIR / "default.yaml"))


def picture(path: Path, values: dict[str, Any], name: str = "melt") -> Path:
    path.write_bytes(encode_png(np.zeros((8, 8, 3), np.uint8), settings_record(name, values, "live")))
    return path


def flat_keys(tree: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in tree.items():
        nested = isinstance(value, dict) and key != "objective"
        keys |= flat_keys(value, f"{prefix}{key}.") if nested else {prefix + key}
    return keys




# ---------------------------------------------------------------------------- 3: a complete preset, default.yaml kept


def test_default_yaml_is_not_replaced_without_overwrite(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shot = picture(folder / "shot.png", {"feedback": 0.9})
    before = (folder / "default.yaml").read_bytes()
    assert main(["presets", "--from-image", str(shot), "-o", str(folder / "default.yaml")]) == 2
    assert "add --overwrite to replace it" in one_line_error(capsys)
    assert (folder / "default.yaml").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["default.yaml", "melt.yaml", "shot.png"]


def test_a_one_key_picture_over_default_yaml_makes_a_complete_default(folder: Path) -> None:
    shot = picture(folder / "shot.png", {"feedback": 0.9})
    assert main(["presets", "--from-image", str(shot), "-o", str(folder / "default.yaml"), "--overwrite"]) == 0
    tree = read_defaults(folder / "default.yaml")  # complete, or this raises 'missing key'
    assert tree["feedback"] == 0.9
    presets = PresetLibrary(folder).load_all()  # the show starts: every preset still loads
    assert presets["melt"].feedback == 0.9 and presets["melt"].lr == 0.02
    assert {k: v for k, v in preset_values(presets["default"]).items() if k != "feedback"} == {
        k: v for k, v in defaults().items() if k != "feedback"
    }


def test_a_broken_default_yaml_is_replaced_with_the_shipped_defaults_filled_in(folder: Path) -> None:
    (folder / "default.yaml").write_text("feedback: 0.9\n")  # what the old --from-image wrote
    shot = picture(folder / "shot.png", {"feedback": 0.4})
    assert main(["presets", "--from-image", str(shot), "-o", str(folder / "default.yaml"), "--overwrite"]) == 0
    assert read_defaults(folder / "default.yaml")["feedback"] == 0.4
    assert PresetLibrary(folder).load("melt").lr == 0.02


def test_a_partial_record_becomes_a_complete_preset_file(folder: Path) -> None:
    shot = picture(folder / "shot.png", {"feedback": 0.9, "post": {"mix": 0.5}})
    assert main(["presets", "--from-image", str(shot), "-o", str(folder / "found.yaml")]) == 0
    written = yaml.safe_load((folder / "found.yaml").read_text())
    assert flat_keys(written) == set(SCHEMA)
    assert written["feedback"] == 0.9 and written["post"]["mix"] == 0.5


def test_a_refused_record_replaces_nothing(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (folder / "default.yaml").read_bytes()
    shot = picture(folder / "shot.png", {"feedback": 7})
    assert main(["presets", "--from-image", str(shot), "-o", str(folder / "default.yaml"), "--overwrite"]) == 2
    assert "do not make a valid preset" in one_line_error(capsys)
    assert (folder / "default.yaml").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["default.yaml", "melt.yaml", "shot.png"]


# ---------------------------------------------------------------------------- 13: no injection through the record


def test_a_preset_name_with_newlines_cannot_inject_keys(folder: Path) -> None:
    values = defaults() | {"feedback": 0.3}
    shot = picture(folder / "shot.png", values, name="x\nfeedback: 0.99\nobjective: fire2\n\u2028lr: 0.9")
    assert main(["presets", "--from-image", str(shot), "-o", str(folder / "found.yaml")]) == 0
    text = (folder / "found.yaml").read_text()
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert len(comments) == 1 and comments[0].startswith("# recovered from ") and "x\\nfeedback: 0.99" in comments[0]
    recovered = load_preset(folder / "found.yaml")
    assert (recovered.feedback, recovered.objective, recovered.lr) == (0.3, values["objective"], values["lr"])


def test_values_that_look_like_yaml_are_written_as_values(folder: Path) -> None:
    values = defaults() | {"description": "calm\nfeedback: 0.99\n# ok"}
    shot = picture(folder / "shot.png", values)
    assert main(["presets", "--from-image", str(shot), "-o", str(folder / "found.yaml")]) == 0
    recovered = load_preset(folder / "found.yaml")
    assert recovered.description == "calm\nfeedback: 0.99\n# ok" and recovered.feedback == values["feedback"]


# ---------------------------------------------------------------------------- 14: crafted pictures, one line each


def png_with(info: PngInfo | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def bomb_header() -> bytes:
    """A valid 8x8 PNG whose header claims 100000x100000 pixels (CRC fixed, so only the size is wrong)."""
    data = bytearray(png_with())
    data[16:24] = struct.pack(">II", 100_000, 100_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def text_chunk(text: str, compressed: bool, itxt: bool = True) -> bytes:
    info = PngInfo()
    if itxt:
        info.add_itxt(SETTINGS_KEY, text, zip=compressed)
    else:
        info.add_text(SETTINGS_KEY, text, zip=compressed)
    return png_with(info)


def nested_json(depth: int) -> str:
    record = settings_record("deep", defaults(), "live")
    record["preset"]["objective"] = "@"
    return json.dumps(record).replace('"@"', "[" * depth + '"fire7"' + "]" * depth)


CRAFTED = {
    "bomb-header": (bomb_header, "too large"),
    "ztxt-bomb": (lambda: text_chunk("x" * (8 << 20), compressed=True, itxt=False), "cannot read"),
    "itxt-bomb": (lambda: text_chunk("x" * (8 << 20), compressed=True), "cannot read"),
    "oversized-itxt": (lambda: text_chunk(" " * (MAX_SETTINGS_CHARS + 1) + "{}", compressed=False),
                       f"at most {MAX_SETTINGS_CHARS} expected"),
    "deep-json": (lambda: text_chunk(nested_json(30_000), compressed=True), f"nest more than {MAX_JSON_DEPTH} deep"),
    "deep-objective": (lambda: text_chunk(nested_json(MAX_JSON_DEPTH), compressed=False), "nest more than"),
}  # fmt: skip


@pytest.mark.parametrize("kind", CRAFTED)
def test_crafted_pictures_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    make, expected = CRAFTED[kind]
    shot = tmp_path / "shot.png"
    shot.write_bytes(make())
    assert main(["presets", "--from-image", str(shot), "-o", str(tmp_path / "found.yaml")]) == 2
    err = one_line_error(capsys)
    assert expected in err and len(err) < 400
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot.png"]


# ---------------------------------------------------------------------------- 14: numbers as given


def test_a_feedback_just_above_one_is_refused_as_given(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "edge.yaml").write_text("feedback: 1.0000001\n")
    assert main(["presets", "--check", str(folder / "edge.yaml")]) == 2
    assert one_line_error(capsys).endswith("key 'feedback': must be between 0 and 1, got 1.0000001\n")
    (folder / "edge.yaml").write_text("lr_max: 0.05\nlr: 0.0500001\n")
    assert main(["presets", "--check", str(folder / "edge.yaml")]) == 2
    assert one_line_error(capsys).endswith("key 'lr': must not exceed lr_max (0.05), got 0.0500001\n")
