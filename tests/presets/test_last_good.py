"""A running show (the real App, headless) and saves that would have killed it: each is one line, last good kept."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from installation.app.app import App
from installation.app.config import LiveConfig
from installation.common.yamlfile import MAX_NODES, display_path
from installation.controls.actions import Action
from installation.controls.inputs import ControlsConfig
from installation.ops.status import read_status

ROOT = Path(__file__).resolve().parents[2]
TINY = (64, 36)
BOMB = "".join(
    ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)]
)


@pytest.fixture
def app(tmp_path: Path):
    presets = tmp_path / "presets"
    shutil.copytree(ROOT / "presets", presets)
    shutil.copy(ROOT / "bindings" / "default.yaml", tmp_path / "bindings.yaml")
    (tmp_path / "hours.yaml").write_text("timezone: UTC\nweekly:\n  monday: 00:00-24:00\n")
    controls = ControlsConfig(bindings=tmp_path / "bindings.yaml", schedule=tmp_path / "hours.yaml", midi=False)
    show = App(LiveConfig(source="demo", headless=True, process_size=TINY, presets_dir=presets, controls=controls,
                          status_file=tmp_path / "status.json", recordings_dir=tmp_path, screenshots_dir=tmp_path))
    yield show
    show.close()


def _default(folder: Path) -> str:
    return (folder / "presets" / "default.yaml").read_text()


def _bindings(folder: Path) -> str:
    return (folder / "bindings.yaml").read_text()


def _default_with(old: str, new: str) -> Callable[[Path], bytes]:
    return lambda folder: _default(folder).replace(old, new).encode()


DEFAULT = "presets/default.yaml"
SAVES: dict[str, tuple[str, Callable[[Path], bytes], str]] = {
    # id: (file, what a save writes into it, what the show must say)
    "preset-not-utf8": (DEFAULT, lambda f: _default(f).encode().replace(b"description:", b"# caf\xe9\ndescription:"),
                        "not UTF-8 text (byte "),
    "preset-duplicate-key": (DEFAULT, lambda f: f"{_default(f)}lr: 0.5\n".encode(),
                             "invalid YAML (duplicate key 'lr', first at line "),
    "preset-alias-bomb": (DEFAULT, lambda f: f"{_default(f)}{BOMB}".encode(),
                          f"aliases expand to more than {MAX_NODES} values"),
    "process-size-16": (DEFAULT, _default_with("process_size: auto", "process_size: 16x16"),
                        "key 'process_size': process size 16x16 is too small for squeezenet1_1: "
                        "width and height must be at least "),
    "objective-empty-list": (DEFAULT, _default_with("objective: fire7", "objective: []"),
                             "key 'objective': objective list is empty"),
    "objective-nan": (DEFAULT, _default_with("objective: fire7", "objective: {fire6: .nan}"),
                      "key 'objective': weight of 'fire6' must be a finite number between -1000 and 1000, got nan"),
    "objective-corrupt-guide": (DEFAULT, _default_with("objective: fire7", "objective: {guide: bad.png}"),
                                "key 'objective': cannot decode guide image "),
    "bindings-not-utf8": ("bindings.yaml", lambda f: b"keyboard:\n  q: quit # caf\xe9\n", "not UTF-8 text (byte 25)"),
    "bindings-duplicate-key": ("bindings.yaml", lambda f: f"{_bindings(f)}keyboard: {{}}\n".encode(),
                               "invalid YAML (duplicate key 'keyboard', first at line "),
    "schedule-not-utf8": ("hours.yaml", lambda f: b"timezone: UTC # \xff\n", "not UTF-8 text (byte 16)"),
}


@pytest.mark.parametrize("case", SAVES)
def test_a_broken_save_is_one_line_and_the_show_keeps_the_last_good(app: App, tmp_path: Path, case: str) -> None:
    clock = [1000.0]
    app.reloader.clock = lambda: clock[0]

    def settle() -> None:
        for _ in range(2):  # a change is applied once the file stopped changing
            clock[0] += 1.0
            app.reloader.poll()
        app.housekeeping.run_handed()  # as the main loop does each tick

    (tmp_path / "presets" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    assert "process_size: auto" in _default(tmp_path) and "objective: fire7" in _default(tmp_path)
    good_objective = app.programme.current.objective_text
    good_step = app.worker.settings.step
    good_keys = dict(app.controls.bindings.keyboard)
    name, content, expected = SAVES[case]
    path = tmp_path / name
    original = path.read_bytes()
    path.write_bytes(content(tmp_path))
    settle()
    assert app.last_error is not None and "\n" not in app.last_error
    assert app.last_error.startswith(f"{display_path(path)}: ") and expected in app.last_error, app.last_error
    assert app.last_error.endswith(" (kept last good)")
    assert app.messages.errors == 1  # one edit, one report (not one per preset that inherits default.yaml)
    assert app.worker.settings.step == good_step and app.programme.current.objective_text == good_objective
    assert app.controls.bindings.keyboard == good_keys
    app.status_file.maybe_write(app.snapshot, force=True)
    status = read_status(tmp_path / "status.json")
    assert status["objective"] == good_objective and status["last_error"] == app.last_error
    path.write_bytes(original)
    settle()
    assert app.worker.health().state != "fatal"


def test_a_reload_to_a_network_the_show_cannot_load_keeps_the_last_good(app: App, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """presets --check reads shapes only, but a running show needs the weights: a reload checks they are here."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    clock = [1000.0]
    app.reloader.clock = lambda: clock[0]
    app.dispatcher.post(Action("select", "melt", source="test"))
    app.dispatcher.drain()
    assert app.programme.current.name == "melt"
    path = tmp_path / "presets" / "melt.yaml"
    path.write_text("network: googlenet\nobjective: inception4c\n")
    for _ in range(2):
        clock[0] += 1.0
        app.reloader.poll()
    app.housekeeping.run_handed()
    assert app.last_error == (
        f"{display_path(path)}: key 'network': googlenet weights are not installed here "
        "(run `python run.py fetch-weights googlenet`) (kept last good)"
    )
    assert app.messages.errors == 1
    assert app.programme.current.name == "melt" and app.programme.current.network == "squeezenet1_1"


@pytest.mark.parametrize(("flag", "content", "message"), [
    ("--bindings", b"keyboard:\n  q: quit # caf\xe9\n", "not UTF-8 text (byte 25)"),
    ("--bindings", b"keyboard:\n  q: quit\n  q: next\n", "line 3, column 3: invalid YAML (duplicate key 'q', "
                                                         "first at line 2)"),
    ("--schedule", b"timezone: UTC # \xff\n", "not UTF-8 text (byte 16)"),
])
def test_a_broken_control_file_at_start_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           flag: str, content: bytes, message: str) -> None:
    import run

    bad = tmp_path / "bad.yaml"
    bad.write_bytes(content)
    code = run.main(["live", "--source", "demo", "--headless", "--frames", "1", "--no-midi", flag, str(bad)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == f"error: {display_path(bad)}: {message}"


def test_process_size_override_below_the_network_minimum_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    import run

    code = run.main(["live", "--source", "demo", "--headless", "--frames", "1", "--no-midi", "--preset", "default",
                     "--process-size", "16x16"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == ("error: --process-size: process size 16x16 is too small for squeezenet1_1: "
                       "width and height must be at least 32")  # fmt: skip
