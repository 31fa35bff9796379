"""Paths and options that a command could only fail on later are refused at its start: one line, exit 2,
nothing written (issue 20, point 14)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import run
from installation import HOME

UNWRITABLE = Path("/proc/dreamwall-test")  # /proc takes no new files, even from root


def refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    try:
        code = run.main(argv)
    except SystemExit as exit_:  # argparse's own refusal
        code = exit_.code
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    return lines[0]


def cache_places(tmp_path: Path) -> list[tuple[Path, str]]:
    a_file = tmp_path / "cache.txt"
    a_file.write_text("not a folder")
    return [
        (a_file, f"--cache {a_file} is not a folder; expected a folder for the cache (created if missing)"),
        (a_file / "inside", f"--cache {a_file / 'inside'} would be inside {a_file}, which is not a folder"),
        (UNWRITABLE / "cache", f"--cache {UNWRITABLE / 'cache'}: cannot write in /proc ("),
    ]


def test_atlas_cache_that_is_a_file_or_unwritable_is_one_line(tmp_path, capsys):
    output = tmp_path / "atlas.jpg"
    for cache, message in cache_places(tmp_path):
        line = refused(capsys, ["atlas", "--channels", "0", "--size", "32", "--steps", "1", "--octaves", "1",
                                "--cache", str(cache), "-o", str(output)])  # fmt: skip
        assert line.startswith(f"error: {message}"), line
        assert not output.exists()


def test_warmup_cache_that_is_a_file_or_unwritable_is_one_line(tmp_path, capsys):
    for cache, message in cache_places(tmp_path):
        line = refused(capsys, ["warmup", "--network", "squeezenet1_1", "--backend", "onnx", "--device", "cpu",
                                "--size", "64x36", "--cache", str(cache)])  # fmt: skip
        assert line.startswith(f"error: {message}"), line
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache.txt"]


def test_warmup_layers_alone_build_those_layers_on_the_default_network(tmp_path, capsys):
    """Before, --layers without --network was ignored and every preset was built."""
    cache = tmp_path / "cache"
    assert run.main(["warmup", "--layers", "fire5", "--device", "cpu", "--backend", "onnx", "--size", "64x36",
                     "--cache", str(cache)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "squeezenet1_1 fire5: onnx (cpu fp32) at 64x36 ready in" in out and "1 job(s) ready" in out
    built = [path.name for path in cache.rglob("*.onnx")]
    assert len(built) == 1 and "-fire5-64x36-" in built[0]


def test_warmup_with_an_unknown_layer_is_refused_before_anything_loads(tmp_path, capsys):
    line = refused(capsys, ["warmup", "--layers", "fire77", "--cache", str(tmp_path / "cache")])
    assert line.startswith("error: unknown layer of squeezenet1_1 'fire77' (did you mean 'fire7'?")
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("name", ["x.txt", "graph", "graph.ONNX.png"])
def test_export_output_needs_the_onnx_extension(tmp_path, capsys, name):
    output = tmp_path / name
    line = refused(capsys, ["export", "--size", "64x64", "-o", str(output)])
    assert line == f"error: output {output} needs an ONNX extension: .onnx"
    assert not output.exists()


def test_export_output_in_capitals_is_an_onnx_file(tmp_path, capsys):
    assert run.main(["export", "--size", "64x64", "--target", "onnx", "-o", str(tmp_path / "G.ONNX")]) == 0
    assert (tmp_path / "G.ONNX").stat().st_size > 0


def live_start(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "run.py", "live", "--source", "demo", "--headless", "--frames", "1",
                           "--no-midi", *args], cwd=HOME, capture_output=True, text=True, timeout=120,
                          check=False)  # fmt: skip


def test_a_status_file_that_is_a_folder_or_unwritable_is_refused_at_the_start(tmp_path):
    """Before, the show started and logged the failed write every second."""
    out = tmp_path / "clip.mp4"
    cases = [
        (tmp_path, f"--status-file {tmp_path} exists and is not a regular file (a folder or a device); expected "
                   "the name of a file to write"),
        (tmp_path / "missing" / "status.json", f"--status-file folder does not exist: {tmp_path / 'missing'}"),
        (UNWRITABLE / "status.json", f"--status-file folder does not exist: {UNWRITABLE}"),
        (Path("/proc/status.json"), "--status-file folder is not writable: /proc ("),
    ]
    for status, message in cases:
        result = live_start("--status-file", str(status), "--out", str(out))
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1, result.stderr[-2000:]
        assert lines[0].startswith(f"error: {message}"), lines[0]
        assert not out.exists()
