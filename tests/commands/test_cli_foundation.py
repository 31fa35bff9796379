"""The foundation's CLI: classify, networks, dream, and every bad-input case (exit 2, one line)."""

import subprocess
import sys
from pathlib import Path

import cv2
import pytest

import run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cat_png(tmp_path_factory, chelsea):
    path = tmp_path_factory.mktemp("img") / "cat.png"
    cv2.imwrite(str(path), cv2.cvtColor(chelsea[::4, ::4], cv2.COLOR_RGB2BGR))
    return path


def test_classify_prints_rank_index_label_probability(cat_png, capsys):
    assert run.main(["classify", str(cat_png), "--top", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    rank, index, *_label, probability = lines[0].split()
    assert rank == "1" and 281 <= int(index) <= 285 and 0 < float(probability) <= 1


def test_networks_lists_layers_and_channels(capsys):
    assert run.main(["networks", "--network", "squeezenet1_1"]) == 0
    out = capsys.readouterr().out
    assert "squeezenet1_1 (default)" in out and "fire7" in out and "384 channels" in out


def test_dream_writes_the_output(cat_png, tmp_path, capsys):
    out = tmp_path / "dream.png"
    code = run.main(["dream", str(cat_png), "-o", str(out), "--steps", "2", "--octaves", "2", "--layers", "fire5"])
    assert code == 0
    image = cv2.imread(str(out))
    source = cv2.imread(str(cat_png))
    assert image.shape == source.shape
    assert (image.astype(int) - source.astype(int)).__abs__().mean() > 1


def exit_code(argv: list[str]) -> int:
    """run.main's return value, or the code argparse exits with."""
    try:
        return run.main(argv)
    except SystemExit as exit_:
        return int(exit_.code)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_bad_input_in_a_real_process_is_one_line_exit_2_no_traceback(tmp_path):
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff garbage")
    out = tmp_path / "out.png"
    result = run_cli("dream", str(corrupt), "-o", str(out))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: cannot decode image {corrupt}: the file is empty, corrupt or not an image"
    assert "Traceback" not in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["dream", "{missing}", "-o", "{out}"], "error: image not found: {missing}"),
    (["dream", "{cat}", "-o", "{out}", "--network", "squeezenet"],
     "error: unknown network 'squeezenet' (did you mean 'squeezenet1_1'?); choose from: "
     "efficientnet-lite0, efficientnet-lite2, googlenet, squeezenet1_1"),
    (["dream", "{cat}", "-o", "{out}", "--layers", "fire77"],
     "error: unknown layer of squeezenet1_1 'fire77' (did you mean 'fire7'?); choose from: "
     "conv1, fire2, fire3, fire4, fire5, fire6, fire7, fire8, fire9"),
    (["dream", "{cat}", "-o", "{out}", "--octaves", "20"],
     "run.py dream: error: argument --octaves: octaves must be between 1 and 12, got 20"),
    (["dream", "{cat}", "-o", "{out}", "--lr", "fast"],
     "run.py dream: error: argument --lr: lr must be a number between 0 and 1, got 'fast'"),
    (["dream", "{cat}", "-o", "{out}", "--size", "big"],
     "run.py dream: error: argument --size: size must look like 640x360, got 'big'"),
    (["dream", "{cat}", "-o", "{tmp}/no/such/dir/out.png"], "error: output folder does not exist: {tmp}/no/such/dir"),
    (["dream", "{cat}", "-o", "{tmp}/out.txt"],
     "error: output {tmp}/out.txt needs an image extension: .png, .jpg, .jpeg, .webp, .bmp, .tif, .tiff"),
    (["dream", "{cat}"], "run.py dream: error: the following arguments are required: -o/--output"),
    (["classify", "{tmp}"], "error: not a file: {tmp}"),
    (["dreem"], "run.py: error: unknown command 'dreem' (did you mean 'dream'?); choose from: {commands}"),
])
def test_bad_input_messages(args, message, cat_png, tmp_path, capsys):
    values = {"missing": tmp_path / "missing.png", "out": tmp_path / "out.png", "cat": cat_png, "tmp": tmp_path,
              "commands": ", ".join(run.COMMANDS)}
    argv = [a.format(**values) for a in args]
    assert exit_code(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == message.format(**values)
    assert not (tmp_path / "out.png").exists()
