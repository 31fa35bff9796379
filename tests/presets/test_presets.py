"""Preset loading: every shipped file validates; broken files fail with the exact one-line message."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import run
from engine.errors import DreamwallError, number_text
from engine.step import StepParams
from installation.outputs.images import write_image
from installation.presets.loader import (
    PRESETS_DIR,
    SCHEMA,
    PresetLibrary,
    catalogue_network,
    display_path,
    load_preset,
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(PRESETS_DIR / "default.yaml", tmp_path / "default.yaml")
    return tmp_path


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(DreamwallError) as caught:
        load_preset(path)
    return str(caught.value)


def test_every_shipped_preset_loads_and_they_differ() -> None:
    library = PresetLibrary()
    presets = library.load_all()
    assert len(presets) >= 7  # default + at least 6 looks
    looks = {(p.network, p.objective_text, p.post) for p in presets.values()}
    assert len(looks) == len(presets)
    assert {p.network for p in presets.values()} >= {"squeezenet1_1", "efficientnet-lite0"}
    for name, preset in presets.items():
        assert preset.name == name
        assert isinstance(preset.step_params(), StepParams)
        assert preset.lr <= preset.lr_max


def test_default_defines_every_schema_key(folder: Path) -> None:
    text = (folder / "default.yaml").read_text().replace("  gamma: 1.0\n", "")
    path = write(folder, "default", text)
    rule = SCHEMA["post.gamma"]
    assert error_of(path) == (
        f"{display_path(path)}: missing key 'post.gamma' ({rule.expected}: {rule.doc}); "
        "default.yaml must define every key"
    )


def test_out_of_range_message_names_file_key_range_and_value(folder: Path) -> None:
    path = write(folder, "melt", "post:\n  saturation: 5\n")
    assert error_of(path) == f"{display_path(path)}: key 'post.saturation': must be between 0 and 3, got 5"


@pytest.mark.parametrize("key", [k for k, r in SCHEMA.items() if r.expected.startswith(("number", "whole"))])
def test_every_numeric_key_rejects_values_above_its_range(folder: Path, key: str) -> None:
    high = float(SCHEMA[key].expected.split(" to ")[1])
    value = int(high) + 1 if SCHEMA[key].expected.startswith("whole") else high + 1
    section, _, leaf = key.rpartition(".")
    text = f"{section}:\n  {leaf}: {value}\n" if section else f"{leaf}: {value}\n"
    message = error_of(write(folder, "x", text))
    assert f": key '{key}': must be between " in message
    assert message.endswith(f"got {number_text(value)}")  # the value as written: a seed's every digit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("post:\n  saturaton: 1\n", "unknown key 'post.saturaton' (did you mean 'post.saturation'?)"),
        ("saturaton: 1\n", "unknown key 'saturaton' (did you mean 'post.saturation'?)"),
        ("feedbak: 0.5\n", "unknown key 'feedbak' (did you mean 'feedback'?)"),
        ("steps: 2.5\n", "key 'steps': must be a whole number between 1 and 50, got 2.5"),
        ("lr: true\n", "key 'lr': must be a number between 0 and 1, got true"),
        ("flow: maybe\n", "key 'flow': must be true or false, got 'maybe'"),
        ("post: 3\n", "key 'post': must be a mapping of post keys, got 3"),
        ("network: squeezenet\n", "key 'network': must be one of squeezenet1_1, efficientnet-lite0, "
         "efficientnet-lite2, googlenet, got 'squeezenet' (did you mean 'squeezenet1_1'?)"),
        ("process_size: wide\n", "key 'process_size': must be 'auto' or a size like 640x360: "
         "size must look like 640x360, got 'wide'"),
        ("lr: 0.5\nlr_max: 0.1\n", "key 'lr': must not exceed lr_max (0.1), got 0.5"),
        ("duration: 5\ntransition: 10\n", "key 'transition': must not exceed duration (5 s), got 10"),
        ("objective: fire77\n", "key 'objective': unknown layer of squeezenet1_1 'fire77' (did you mean 'fire7'?); "
         "choose from: conv1, fire2, fire3, fire4, fire5, fire6, fire7, fire8, fire9"),
        ("objective: 'fire7:400'\n", "key 'objective': channel 400 out of range for fire7: it has channels 0-383"),
        ("objective: {fire6: 0.5, 'fire8:12': heavy}\n", "key 'objective': weight of 'fire8:12' must be a number, "
         "got 'heavy'"),
        ("network: efficientnet-lite0\nobjective: fire7\n", "key 'objective': unknown layer of efficientnet-lite0 "),
        ("objective: {guide: missing.jpg, layer: fire7}\n", "key 'objective': guide image "),
        ("objective: 7\n", "key 'objective': must be a layer name like 'fire7', a mapping like {fire6: 0.5} "
         "or a list, got 7"),
        ("motion:\n  mode: grow-when-sill\n", "key 'motion.mode': must be one of off, grow-when-still, "
         "grow-when-moving, got 'grow-when-sill' (did you mean 'grow-when-still'?)"),
        ("lr: [1\n", "line 2, column 1: invalid YAML (expected ',' or ']', but got '<stream end>')"),
        ("- fire7\n", "must be a mapping of keys to values, got a list"),
        ("", "file is empty; write at least one key (or {} for no changes)"),
    ],
)
def test_broken_files_give_one_line_naming_file_and_key(folder: Path, text: str, expected: str) -> None:
    path = write(folder, "broken", text)
    message = error_of(path)
    assert message.startswith(f"{display_path(path)}: {expected}")
    assert "\n" not in message


def test_overrides_merge_sections_key_by_key_and_replace_objectives(folder: Path) -> None:
    base = load_preset(folder / "default.yaml")
    text = "objective: {fire6: 0.5, 'fire8:12': 1.0}\npost:\n  saturation: 2\nmotion:\n  mode: off\n"
    path = write(folder, "warm", text)
    preset = load_preset(path)
    assert preset.post.saturation == 2.0
    assert preset.post.contrast == base.post.contrast and preset.post.gamma == base.post.gamma
    assert preset.motion.mode == "off"  # YAML reads bare off as false; the schema maps it back
    assert dict(preset.objective) == {"fire6": 0.5, "fire8:12": 1.0}
    assert preset.objective_text == "0.5*fire6 + fire8:12"
    assert preset.name == "warm" and preset.lr == base.lr


def test_typed_values_and_intensity(folder: Path) -> None:
    preset = load_preset(write(folder, "p", "process_size: 320x180\nlr: 0.02\nlr_max: 0.08\n"))
    assert preset.process_size == (320, 180)
    assert load_preset(folder / "default.yaml").process_size is None
    assert preset.intensity == pytest.approx(0.25)
    louder = preset.with_intensity(0.5)
    assert louder.lr == pytest.approx(0.04) and louder.step_params().lr == pytest.approx(0.04)
    with pytest.raises(DreamwallError):
        preset.with_intensity(1.5)
    with pytest.raises(AttributeError):
        preset.lr = 0.5  # type: ignore[misc]


def test_guide_paths_resolve_beside_the_preset(folder: Path) -> None:
    write_image(folder / "guide.png", np.zeros((40, 60, 3), np.uint8))
    preset = load_preset(write(folder, "g", "objective: {guide: guide.png, layer: fire5}\n"))
    assert Path(preset.objective["guide"]) == folder / "guide.png"
    assert preset.objective_text == "guide:guide.png@fire5"


def test_layer_catalogue_needs_no_weights() -> None:
    net = catalogue_network("efficientnet-lite0")
    assert all(p.is_meta for p in net.parameters())
    assert "block10" in net.layers
    assert catalogue_network("efficientnet-lite0") is net  # built once per process


def test_build_objective_on_the_real_network() -> None:
    from engine.networks import load_network

    net = load_network("squeezenet1_1")
    preset = PresetLibrary().load("melt")
    assert preset.build_objective(net).layers == {"fire5", "fire6"}


def test_commands_build_objectives_in_one_place(squeezenet) -> None:
    """render and warmup ask the preset: --layers wins, another network dreams its classic layer."""
    preset = PresetLibrary().load("melt")
    assert preset.objective_on(squeezenet).description == preset.build_objective(squeezenet).description
    assert preset.objective_on(squeezenet, "fire3:7").description == "fire3:7"
    other = catalogue_network("efficientnet-lite0")
    assert preset.objective_on(other).description == other.default_layer
    with pytest.raises(DreamwallError, match="preset melt is for squeezenet1_1, got a efficientnet-lite0 network"):
        preset.build_objective(other)


def test_presets_command_lists_all_and_checks_one(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run.main(["presets"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in PresetLibrary().names())
    good = write(folder, "good", "lr: 0.03\n")
    assert run.main(["presets", "--check", str(good)]) == 0
    bad = write(folder, "bad", "post:\n  saturation: 5\n")
    assert run.main(["presets", "--check", str(bad)]) == 2
    assert capsys.readouterr().err == (
        f"error: {display_path(bad)}: key 'post.saturation': must be between 0 and 3, got 5\n"
    )


def test_presets_command_exits_2_when_a_file_in_the_folder_is_broken(folder: Path) -> None:
    write(folder, "fine", "lr: 0.03\n")
    write(folder, "oops", "lr: 3\n")
    assert run.main(["presets", "--dir", str(folder)]) == 2



def test_check_process_size_names_the_network_minimum() -> None:
    from engine.sizes import min_dream_side
    from installation.presets.loader import check_process_size

    low = min_dream_side("squeezenet1_1")
    check_process_size((low, low), "squeezenet1_1", "--process-size:")
    with pytest.raises(DreamwallError) as caught:
        check_process_size((16, 16), "squeezenet1_1", "--process-size:")
    assert str(caught.value) == (
        f"--process-size: process size 16x16 is too small for squeezenet1_1: width and height must be at least {low}"
    )
    with pytest.raises(DreamwallError, match=f"100x{low - 1} is too small for efficientnet-lite0"):
        check_process_size((100, low - 1), "efficientnet-lite0", "")


@pytest.mark.parametrize("network", ["squeezenet1_1", "efficientnet-lite0", "googlenet"])
def test_process_size_below_the_network_minimum_fails_the_check(folder: Path, network: str) -> None:
    from engine.sizes import min_dream_side

    low = min_dream_side(network)
    objective = {"squeezenet1_1": "fire7", "efficientnet-lite0": "block10", "googlenet": "inception4c"}[network]
    path = write(folder, "tiny", f"network: {network}\nobjective: {objective}\nprocess_size: {low}x16\n")
    assert error_of(path) == (
        f"{display_path(path)}: key 'process_size': process size {low}x16 is too small for {network}: "
        f"width and height must be at least {low}"
    )
    assert run.main(["presets", "--check", str(path)]) == 2
    assert load_preset(write(folder, "ok", f"network: {network}\nobjective: {objective}\n"
                                           f"process_size: {low}x{low}\n")).process_size == (low, low)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("objective: []\n", "key 'objective': objective list is empty"),
        ("objective: [[]]\n", "key 'objective': objective list is empty"),
        ("objective: {fire6: .nan}\n", "key 'objective': weight of 'fire6' must be a finite number between "
         "-1000 and 1000, got nan"),
        ("objective: {fire6: -.inf}\n", "key 'objective': weight of 'fire6' must be a finite number between "
         "-1000 and 1000, got -inf"),
        ("objective: {fire6: 0}\n", "key 'objective': objective 0*fire6 has only zero weights; "
         "give at least one non-zero weight"),
        ("objective: [fire7, {guide: corrupt.png}]\n", "key 'objective': cannot decode guide image "),
        ("objective: {guide: tiny.png}\n", "key 'objective': guide image "),
        ("objective: {guide: ok.png, weight: .inf}\n", "key 'objective': weight of 'guide' must be a finite number"),
        ("objective: {guide: ok.png, layr: fire7}\n", "key 'objective': unknown key 'layr' in guide objective "
         "(did you mean 'layer'?)"),
    ],
)
def test_check_refuses_what_the_show_would_refuse(folder: Path, text: str, expected: str) -> None:
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not really a picture")
    write_image(folder / "tiny.png", np.zeros((8, 8, 3), np.uint8))
    write_image(folder / "ok.png", np.zeros((40, 40, 3), np.uint8))
    path = write(folder, "broken", text)
    assert error_of(path).startswith(f"{display_path(path)}: {expected}")
    assert run.main(["presets", "--check", str(path)]) == 2


def test_tiny_guide_message_names_size_and_bounds(folder: Path) -> None:
    from engine.networks.shapes import min_input_side
    from installation.presets.loader import MAX_GUIDE_SIDE

    write_image(folder / "tiny.png", np.zeros((8, 12, 3), np.uint8))
    message = error_of(write(folder, "g", "objective: {guide: tiny.png}\n"))
    assert message.endswith(
        f"guide image {display_path(folder / 'tiny.png')} is 12x8; for squeezenet1_1 width and height must be "
        f"{min_input_side('squeezenet1_1')} to {MAX_GUIDE_SIDE} pixels"
    )


def test_a_guide_that_passes_the_check_builds_on_the_real_network(folder: Path, squeezenet) -> None:
    write_image(folder / "ok.png", np.full((40, 56, 3), 90, np.uint8))
    preset = load_preset(write(folder, "g", "objective: [fire7, {guide: ok.png, layer: fire5, weight: 0.5}]\n"))
    assert preset.objective_text == "fire7 + 0.5*guide:ok.png@fire5"
    assert preset.build_objective(squeezenet).layers == {"fire5", "fire7"}
