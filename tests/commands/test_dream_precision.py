"""`run.py dream --precision`: bf16 stills where the CPU has it, one line and exit 2 where not."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

import run
from installation.commands import dream


@pytest.fixture(scope="module")
def cat_png(tmp_path_factory, chelsea):
    path = tmp_path_factory.mktemp("img") / "cat.png"
    cv2.imwrite(str(path), cv2.cvtColor(chelsea[::4, ::4], cv2.COLOR_RGB2BGR))
    return path


def _dream(cat_png: Path, out: Path, precision: str) -> int:
    return run.main(["dream", str(cat_png), "-o", str(out), "--steps", "2", "--octaves", "1", "--layers", "fire5",
                     "--precision", precision])  # fmt: skip


def test_bf16_still_on_a_cpu_with_it(cat_png, tmp_path, monkeypatch):
    monkeypatch.setattr(dream, "native_bf16", lambda: "avx512_bf16")
    out = tmp_path / "bf16.png"
    assert _dream(cat_png, out, "bf16") == 0 and cv2.imread(str(out)).shape == cv2.imread(str(cat_png)).shape


def test_bf16_still_without_it_is_one_line_exit_2_and_no_file(cat_png, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(dream, "native_bf16", lambda: None)
    out = tmp_path / "bf16.png"
    assert _dream(cat_png, out, "bf16") == 2 and not out.exists()
    assert capsys.readouterr().err.strip() == ("error: --precision: precision bf16 needs a CPU with native bfloat16 "
                                               "(avx512_bf16 or amx_bf16); this one has neither "
                                               "(use precision auto or fp32)")  # fmt: skip
