"""`run.py warmup` builds what the live show then finds in the cache: nothing is exported twice."""

from pathlib import Path

import pytest
import torch

import run
from engine.objectives import parse_objective
from installation.dreaming.backend_choice import BackendChooser
from installation.dreaming.export_cache import DiskStore
from installation.dreaming.looks import NetworkCache

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_warmup_builds_what_the_show_then_reuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    cache = tmp_path / "cache"
    code = run.main(["warmup", "--presets", "default", "--device", "cpu", "--size", "64x36", "--backend", "onnx",
                     "--cache", str(cache)])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "device cpu (cpu as asked)"
    assert "default: onnx (cpu fp32) at 64x36 ready in" in out
    built = sorted(p.name for p in cache.rglob("*.onnx"))
    assert len(built) == 1 and "64x36" in built[0]

    import engine.export.onnx_file as onnx_file

    def no_export(*_: object) -> bytes:
        raise AssertionError("the show exported a graph that warmup had built")

    monkeypatch.setattr(onnx_file, "export_onnx", no_export)
    net = NetworkCache().get("squeezenet1_1", torch.device("cpu"), torch.float32)
    chooser = BackendChooser("onnx", store=DiskStore(cache))
    gradient = chooser(net, parse_objective("fire7", net), (64, 36))
    assert chooser.name == "onnx"
    assert gradient(torch.rand(1, 3, 36, 64)).shape == (1, 3, 36, 64)


def test_warmup_on_a_missing_gpu_is_one_line_exit_2(tmp_path: Path, capsys) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert run.main(["warmup", "--device", "cuda", "--cache", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: device 'cuda' asked for, but there is no CUDA GPU")
    assert not any(tmp_path.iterdir())
