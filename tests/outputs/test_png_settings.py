"""Settings inside every picture: screenshots and stills carry them; presets --from-image gets them back."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

import run
from installation.app.config import LiveConfig
from installation.app.outputs import Outputs
from installation.outputs.images import read_image, write_image
from installation.outputs.png_settings import read_settings
from installation.presets.loader import PRESETS_DIR, load_preset
from installation.presets.snapshot import live_preset, preset_values, recover_preset, settings_record

FAST = ["--steps", "2", "--octaves", "2", "--lr", "0.08", "--seed", "7", "--layers", "fire6:3"]


def main(argv: list[str]) -> int:
    try:
        return run.main(argv)
    except SystemExit as exit_:
        return int(exit_.code)


@pytest.fixture()
def photo(tmp_path: Path, chelsea: np.ndarray) -> Path:
    path = tmp_path / "in.png"
    cv2.imwrite(str(path), cv2.resize(chelsea, (96, 72))[..., ::-1])
    return path


def test_a_still_dreamt_from_the_recovered_preset_equals_the_original(tmp_path, photo, one_torch_thread) -> None:
    original, again, found = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "found.yaml"
    assert main(["dream", str(photo), "-o", str(original), *FAST]) == 0
    record = read_settings(original)
    assert record["network"] == "squeezenet1_1" and record["seed"] == 7 and record["version"]
    assert record["preset"]["objective"] == "fire6:3" and record["preset"]["render"]["steps"] == 2
    assert main(["presets", "--from-image", str(original), "-o", str(found)]) == 0
    assert main(["dream", str(photo), "-o", str(again), "--preset", str(found)]) == 0
    assert np.array_equal(read_image(original), read_image(again))
    different = tmp_path / "c.png"  # the test can fail: another seed is another picture
    assert main(["dream", str(photo), "-o", str(different), "--preset", str(found), "--seed", "8"]) == 0
    assert not np.array_equal(read_image(original), read_image(different))


def test_a_screenshot_carries_the_live_look_and_round_trips(tmp_path: Path) -> None:
    preset = load_preset(PRESETS_DIR / "default.yaml")
    shown = live_preset(preset, intensity=0.5, feedback=0.7)
    record = settings_record(shown.name, preset_values(shown), source="live")
    outputs = Outputs(LiveConfig(screenshots_dir=tmp_path), notify=lambda text: None)
    path = outputs.screenshot(None, lambda: np.zeros((36, 64, 3), np.uint8), record)
    assert path is not None and read_settings(path) == record
    recovered = recover_preset(read_settings(path), tmp_path / "found.yaml", "shot.png")
    assert recovered.lr == pytest.approx(0.5 * preset.lr_max) and recovered.feedback == 0.7
    assert preset_values(recovered) == preset_values(shown)


def test_pictures_without_valid_settings_are_refused_in_one_line(tmp_path: Path, capsys) -> None:
    plain, found = tmp_path / "plain.png", tmp_path / "found.yaml"
    write_image(plain, np.zeros((8, 8, 3), np.uint8))
    assert main(["presets", "--from-image", str(plain), "-o", str(found)]) == 2
    err = capsys.readouterr().err
    assert "has no Dreamwall settings" in err and err.count("\n") == 1 and not found.exists()
    values = preset_values(load_preset(PRESETS_DIR / "default.yaml"))
    values["lr"] = 5.0
    broken = tmp_path / "broken.png"
    write_image(broken, np.zeros((8, 8, 3), np.uint8), settings_record("x", values, "live"))
    assert main(["presets", "--from-image", str(broken), "-o", str(found)]) == 2
    err = capsys.readouterr().err
    assert "do not make a valid preset" in err and "'lr'" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.png", "plain.png"]  # no temp file left


def test_the_recovered_file_is_plain_yaml_a_person_can_edit(tmp_path: Path) -> None:
    values = preset_values(load_preset(PRESETS_DIR / "default.yaml"))
    recover_preset(settings_record("default", values, "live"), tmp_path / "found.yaml", "shot.png")
    text = (tmp_path / "found.yaml").read_text()
    assert text.startswith("# recovered from shot.png: preset default")
    assert yaml.safe_load(text)["network"] == "squeezenet1_1"
