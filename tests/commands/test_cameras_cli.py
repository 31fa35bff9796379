"""The camera options and `run.py cameras` from the command line: misuse is one line and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import run
from installation.commands.cameras import NO_CAMERAS

ROOT = Path(__file__).resolve().parents[2]


def test_cameras_without_cameras_says_so_in_one_line() -> None:
    """No camera exists on the machines the tests run on: this is the real V4L2 query through linuxpy."""
    done = subprocess.run([sys.executable, "run.py", "cameras"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, NO_CAMERAS + "\n", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--camera-format", "mjpeg"], "argument --camera-format: unknown camera format 'mjpeg' (did you mean 'mjpg'?)"),
     (["--camera-size", "1280by720"], "argument --camera-size: size must look like 640x360, got '1280by720'"),
     (["--camera-fps", "0"], "argument --camera-fps: camera fps must be between 1 and 240, got 0")],
)  # fmt: skip
def test_bad_camera_options_are_one_line_exit_2(capsys, args: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        run.main(["live", "--source", "demo", "--headless", "--frames", "1", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and message in err[0]


def test_the_kiosk_environment_file_sets_the_camera_mode(monkeypatch) -> None:
    from installation.commands import live
    from installation.common.cli import OneLineParser

    monkeypatch.setenv("DREAMWALL_CAMERA_SIZE", "1280x720")
    monkeypatch.setenv("DREAMWALL_CAMERA_FPS", "30")
    monkeypatch.setenv("DREAMWALL_CAMERA_FORMAT", "mjpg")
    parser = OneLineParser(prog="run.py live")
    live.configure(parser)
    camera = live.config_from_args(parser.parse_args([])).camera.mode
    assert (camera.size, camera.fps, camera.format) == ((1280, 720), 30.0, "mjpg")
    flag = live.config_from_args(parser.parse_args(["--camera-format", "yuyv"])).camera.mode
    assert flag.format == "yuyv"  # a flag beats the environment


def test_a_bad_camera_file_is_one_line_exit_2(tmp_path, capsys) -> None:
    bad = tmp_path / "camera.yaml"
    bad.write_text("camera:\n  exposure: bright\n")
    code = run.main(["live", "--source", "demo", "--headless", "--frames", "1", "--camera-config", str(bad)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == (f"error: {bad}: camera.exposure must be 'auto' or a whole number from 1 to 100000, "
                       "got 'bright'")  # fmt: skip
