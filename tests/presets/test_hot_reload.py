"""Hot reload against real files: good edits applied, broken edits reported once, last good kept."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from installation.presets.hot_reload import HotReloader, fingerprint, watch_presets
from installation.presets.loader import PRESETS_DIR, Preset, PresetLibrary, display_path


class Rig:
    """A presets folder with one preset 'melt' watched by a reloader on a hand-driven clock."""

    def __init__(self, folder: Path) -> None:
        shutil.copy(PRESETS_DIR / "default.yaml", folder / "default.yaml")
        self.path = folder / "melt.yaml"
        self.path.write_text("lr: 0.02\n")
        (folder / "calm.yaml").write_text("lr: 0.01\n")
        self.library = PresetLibrary(folder)
        self.in_use: dict[str, Preset] = self.library.load_all(["melt", "calm"])
        self.errors: list[str] = []
        self.now = 0.0
        self.reloader = HotReloader(on_error=self.errors.append)
        watch_presets(self.reloader, self.library, ["melt", "calm"], self.apply)

    def apply(self, preset: Preset) -> None:
        self.in_use[preset.name] = preset

    def tick(self, seconds: float = 0.25) -> int:
        self.now += seconds
        return self.reloader.poll(self.now)

    def settle(self) -> int:
        """Polls for one second, the promise made to someone editing a file."""
        return sum(self.tick() for _ in range(4))


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def test_good_edit_is_applied_within_a_second(rig: Rig) -> None:
    rig.tick()
    rig.path.write_text("lr: 0.04\npost:\n  saturation: 2\n")
    assert rig.settle() == 1
    assert rig.in_use["melt"].lr == 0.04 and rig.in_use["melt"].post.saturation == 2.0
    assert rig.in_use["calm"].lr == 0.01
    assert rig.errors == [] and rig.reloader.errors == {}
    assert rig.settle() == 0  # nothing new: nothing reloaded


def test_broken_edit_is_reported_once_and_the_last_good_version_stays(rig: Rig) -> None:
    good = rig.in_use["melt"]
    rig.path.write_text("lr: 0.02\npost:\n  saturation: 5\n")
    assert rig.settle() == 0
    expected = f"{display_path(rig.path)}: key 'post.saturation': must be between 0 and 3, got 5"
    assert rig.errors == [expected]
    assert rig.reloader.errors == {"preset melt": expected}
    assert rig.in_use["melt"] is good
    rig.settle()
    assert rig.errors == [expected]  # not repeated every poll
    rig.path.write_text("lr: 0.03\n")
    assert rig.settle() == 1
    assert rig.in_use["melt"].lr == 0.03 and rig.reloader.errors == {}


def test_a_half_written_save_is_not_loaded_until_it_settles(rig: Rig) -> None:
    rig.tick()
    rig.path.write_text("lr: 0.0")  # the editor is still writing
    assert rig.tick() == 0
    rig.path.write_text("lr: 0.05\n")
    assert rig.tick() == 0  # changed since the last look: wait for it to hold still
    assert rig.tick() == 1
    assert rig.errors == [] and rig.in_use["melt"].lr == 0.05


def test_a_broken_default_is_reported_once_for_all_presets(rig: Rig) -> None:
    default = rig.library.default_path
    default.write_text(re.sub(r"^feedback: [0-9.]+", "feedback: 1.5", default.read_text(), count=1, flags=re.M))
    assert rig.settle() == 0
    assert rig.errors == [f"{display_path(default)}: key 'feedback': must be between 0 and 1, got 1.5"]
    assert set(rig.reloader.errors) == {"preset melt", "preset calm"}
    default.write_text(default.read_text().replace("feedback: 1.5", "feedback: 0.5"))
    assert rig.settle() == 2
    assert rig.in_use["melt"].feedback == rig.in_use["calm"].feedback == 0.5


def test_a_deleted_file_is_reported_and_recovered(rig: Rig) -> None:
    text = rig.path.read_text()
    rig.path.unlink()
    rig.settle()
    assert rig.errors == [f"{display_path(rig.path)}: file not found"]
    rig.path.write_text(text.replace("0.02", "0.025"))
    assert rig.settle() == 1 and rig.in_use["melt"].lr == 0.025


def test_polls_within_the_interval_do_not_touch_the_disk(rig: Rig) -> None:
    rig.tick()
    rig.path.write_text("lr: 0.04\n")
    assert sum(rig.tick(0.01) for _ in range(20)) == 0  # 0.2 s of frames: at most one look
    assert rig.settle() == 1


def test_fingerprint_sees_same_size_edits(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("lr: 0.02\n")
    first = fingerprint([path])
    path.write_text("lr: 0.03\n")
    assert fingerprint([path]) != first
    (gone,) = fingerprint([tmp_path / "none.yaml"])
    assert gone.startswith("missing") and gone.endswith("file not found")


def test_a_process_size_override_refuses_a_reload_its_network_cannot_dream(tmp_path: Path) -> None:
    """--process-size applies to every preset: a reloaded version is checked against it like any rule."""
    from engine.sizes import min_dream_side

    rig = Rig(tmp_path)
    errors: list[str] = []
    reloader = HotReloader(on_error=errors.append)
    watch_presets(reloader, rig.library, ["melt"], rig.apply, process_size=(16, 16))
    rig.path.write_text("lr: 0.03\n")
    for moment in (1.0, 2.0):
        reloader.poll(moment)
    assert errors == [
        "--process-size: process size 16x16 is too small for squeezenet1_1: "
        f"width and height must be at least {min_dream_side('squeezenet1_1')}"
    ]
    assert rig.in_use["melt"].lr == 0.02


def test_with_hand_over_the_poll_only_loads_and_the_owner_thread_applies(tmp_path: Path) -> None:
    """The housekeeping thread polls; applying and error reports wait for the show's thread."""
    rig = Rig(tmp_path)
    handed: list = []
    rig.reloader.hand_over = handed.append
    rig.path.write_text("lr: 0.03\n")
    assert rig.settle() == 1
    assert rig.in_use["melt"].lr == pytest.approx(0.02)  # loaded, not applied yet
    rig.path.write_text("lr: 7\n")
    rig.settle()
    assert rig.errors == [] and len(handed) == 2
    for job in handed:  # what Housekeeping.run_handed does on the main loop
        job()
    assert rig.in_use["melt"].lr == pytest.approx(0.03)
    assert len(rig.errors) == 1 and "got 7" in rig.errors[0]
