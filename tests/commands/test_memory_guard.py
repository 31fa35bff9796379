"""A size the machine cannot hold is refused at the start in one line (exit 2), not by the kernel's OOM killer.

The available memory is injected (installation.dreaming.memory.available_memory), so the refusals do not
depend on what else this machine runs; one real `export --size 7680x4320` runs where the estimate says it
cannot fit, under an address-space limit so that a missing guard fails the test instead of the machine.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import run
from engine.memory import WORK, memory_need
from installation import HOME
from installation.dreaming import memory
from installation.testing.clips import pattern_clip

GB = 1_000_000_000


def inject(monkeypatch: pytest.MonkeyPatch, available: int) -> None:
    monkeypatch.setattr(memory, "available_memory", lambda device="cpu": (available, "available (injected)"))


def refusal(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert run.main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_an_export_too_big_for_the_memory_is_refused_with_the_need_the_memory_and_a_size_that_fits(
        tmp_path, capsys, monkeypatch):  # fmt: skip
    inject(monkeypatch, 3 * GB)
    output = tmp_path / "big.onnx"
    line = refusal(capsys, ["export", "--size", "1920x1080", "-o", str(output)])
    need = memory_need("export-tensorrt", "squeezenet1_1", ["fire7"], 1920, 1080)
    width, height = need.largest_fitting(3 * GB)
    assert line == (f"error: the tensorrt export of squeezenet1_1 up to fire7 at 1920x1080 needs about "
                    f"{need.bytes / GB:.1f} GB of memory, but this machine has 3.0 GB available (injected); the "
                    f"largest --size of this aspect that fits is about {width}x{height}")  # fmt: skip
    assert not output.exists() and not list(tmp_path.iterdir())


def test_the_size_the_refusal_offers_does_fit_and_is_exported(tmp_path, capsys, monkeypatch):
    inject(monkeypatch, 3 * GB)
    width, height = memory_need("export-onnx", "squeezenet1_1", ["fire3"], 1920, 1080).largest_fitting(3 * GB)
    assert memory_need("export-onnx", "squeezenet1_1", ["fire3"], width, height).bytes <= 3 * GB < \
        memory_need("export-onnx", "squeezenet1_1", ["fire3"], width + 64, height + 36).bytes  # fmt: skip
    inject(monkeypatch, memory_need("export-onnx", "squeezenet1_1", ["fire3"], 64, 64).bytes)
    assert run.main(["export", "--size", "64x64", "--layers", "fire3", "--target", "onnx",
                     "-o", str(tmp_path / "small.onnx")]) == 0  # fmt: skip
    assert (tmp_path / "small.onnx").stat().st_size > 0


def test_deeper_layers_and_the_tensorrt_form_need_more():
    shallow, deep = (memory_need("dream", "squeezenet1_1", [layer], 1280, 720).bytes for layer in ("fire7", "fire9"))
    assert deep > shallow
    assert memory_need("dream", "squeezenet1_1", ["fire3"], 1280, 720).bytes == shallow  # charged as measured
    needs = [memory_need(work, "squeezenet1_1", ["fire7"], 1280, 720).bytes for work in WORK]
    assert needs == sorted(needs)  # dream < onnx export < tensorrt export, as measured


@pytest.fixture()
def still(tmp_path: Path) -> Path:
    path = tmp_path / "in.png"
    cv2.imwrite(str(path), np.full((90, 160, 3), 128, np.uint8))
    return path


def test_dream_checks_the_size_it_will_dream_at(still, tmp_path, capsys, monkeypatch):
    inject(monkeypatch, 2 * GB)
    output = tmp_path / "out.png"
    line = refusal(capsys, ["dream", str(still), "-o", str(output), "--size", "3840x2160", "--backend", "torch"])
    assert line.startswith("error: dreaming of squeezenet1_1 up to fire7 at 3840x2160 needs about ")
    assert "2.0 GB available (injected); the largest --size of this aspect that fits is about " in line
    assert not output.exists()


def test_dream_with_the_onnx_backend_is_charged_its_export(still, tmp_path, capsys, monkeypatch):
    dreaming = memory_need("dream", "squeezenet1_1", ["fire7"], 640, 360).bytes
    inject(monkeypatch, dreaming)  # enough to dream, not to export the graph first
    line = refusal(capsys, ["dream", str(still), "-o", str(tmp_path / "o.png"), "--size", "640x360",
                            "--backend", "onnx"])  # fmt: skip
    assert line.startswith("error: the onnx export of squeezenet1_1 up to fire7 at 640x360 needs about ")


def test_render_checks_its_dream_size(tmp_path, capsys, monkeypatch):
    inject(monkeypatch, 2 * GB)
    clip = pattern_clip(tmp_path / "clip.mp4", 3)
    output = tmp_path / "out.mp4"
    line = refusal(capsys, ["render", str(clip), "-o", str(output), "--size", "3840x2160", "--device", "cpu"])
    assert line.startswith("error: dreaming of squeezenet1_1 up to ")
    assert " at 3840x2160 needs about " in line and "2.0 GB available (injected)" in line
    assert not output.exists()


def test_warmup_checks_every_size_before_building_any(tmp_path, capsys, monkeypatch):
    inject(monkeypatch, 2 * GB)
    cache = tmp_path / "cache"
    line = refusal(capsys, ["warmup", "--network", "squeezenet1_1", "--device", "cpu", "--backend", "onnx",
                            "--size", "64x36", "--size", "3840x2160", "--cache", str(cache)])  # fmt: skip
    assert line.startswith("error: the onnx export of squeezenet1_1 up to fire7 at 3840x2160 needs about ")
    assert not cache.exists()  # the 64x36 graph was not built either


def _address_space(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_a_real_8k_export_is_refused_at_once_on_a_machine_that_cannot_hold_it(tmp_path):
    need = memory_need("export-tensorrt", "squeezenet1_1", ["fire7"], 7680, 4320)
    available = memory.available_memory()
    if available is None or need.bytes <= available[0]:
        pytest.skip(f"this machine could hold it ({need.bytes / GB:.0f} GB): not run, it would take that memory")
    output = tmp_path / "8k.onnx"
    start = time.monotonic()
    # without the guard the export grows past this limit and dies there, not by taking the machine
    result = subprocess.run([sys.executable, "run.py", "export", "--size", "7680x4320", "-o", str(output)],
                            cwd=HOME, capture_output=True, text=True, timeout=120, check=False,
                            preexec_fn=lambda: _address_space(8 * 1024**3))  # fmt: skip
    assert time.monotonic() - start < 60
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("error: the tensorrt export of squeezenet1_1 up to fire7 at 7680x4320 needs about ")
    assert not output.exists() and not list(tmp_path.iterdir())
