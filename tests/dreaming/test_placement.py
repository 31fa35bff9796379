"""Device and precision rules, on machines with and without a GPU (the count is injected)."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.errors import DreamwallError
from installation.dreaming.placement import Placement, resolve_device, resolve_precision

ROOT = Path(__file__).resolve().parents[2]


def test_auto_takes_cuda_when_there_is_a_gpu_else_the_cpu() -> None:
    device, reason = resolve_device("auto", cuda_count=lambda: 2)
    assert device == torch.device("cuda", 0) and reason.startswith("auto: CUDA found")
    device, reason = resolve_device("auto", cuda_count=lambda: 0)
    assert device == torch.device("cpu") and reason == "auto: no CUDA GPU, dreaming on the CPU"


def test_cuda_index_must_exist() -> None:
    assert resolve_device("cuda:1", cuda_count=lambda: 2)[0] == torch.device("cuda", 1)
    assert resolve_device("CUDA", cuda_count=lambda: 1)[0] == torch.device("cuda", 0)
    with pytest.raises(DreamwallError) as error:
        resolve_device("cuda:2", cuda_count=lambda: 2)
    assert str(error.value) == "device 'cuda:2' does not exist: this machine has 2 CUDA GPU(s), cuda:0 to cuda:1"
    with pytest.raises(DreamwallError, match="must be cuda or cuda:N"):
        resolve_device("cuda:x", cuda_count=lambda: 1)


def test_cuda_without_a_gpu_names_what_is_missing() -> None:
    with pytest.raises(DreamwallError) as error:
        resolve_device("cuda", cuda_count=lambda: 0)
    message = str(error.value)
    assert message.startswith("device 'cuda' asked for, but there is no CUDA GPU: ")
    assert "without CUDA" in message or "finds no GPU" in message


def test_unknown_device_suggests() -> None:
    with pytest.raises(DreamwallError) as error:
        resolve_device("cpuu")
    assert str(error.value) == "unknown device 'cpuu' (did you mean 'cpu'?); choose from: auto, cpu, cuda, cuda:N"


def test_precision_auto_is_fp16_on_cuda_fp32_on_cpu() -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert resolve_precision("auto", cuda, "preset x", strict=True) == (torch.float16, None)
    assert resolve_precision("auto", cpu, "preset x", strict=True) == (torch.float32, None)
    assert resolve_precision("fp32", cuda, "preset x", strict=True) == (torch.float32, None)
    assert resolve_precision("fp16", cuda, "preset x", strict=True) == (torch.float16, None)


def test_fp16_on_a_cpu_is_refused_at_start_and_a_notice_on_reload() -> None:
    cpu = torch.device("cpu")
    with pytest.raises(DreamwallError) as error:
        resolve_precision("fp16", cpu, "preset night", strict=True)
    assert str(error.value) == ("preset night: precision fp16 needs a CUDA GPU; this show runs on cpu "
                                "(use precision auto or fp32)")
    dtype, notice = resolve_precision("fp16", cpu, "preset night", strict=False)
    assert dtype == torch.float32
    assert notice == "preset night: precision fp16 needs a CUDA GPU; this show runs on cpu: dreaming in fp32"


def test_placement_describes_itself() -> None:
    assert Placement(torch.device("cuda", 0), torch.float16, "x").describe() == "cuda:0 fp16"
    assert Placement(torch.device("cpu"), torch.float32, "x").precision == "fp32"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_live_device_cuda_without_cuda_is_one_line_exit_2(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "run.py", "live", "--device", "cuda", "--headless", "--frames", "1",
                             "--out", str(tmp_path / "x.mp4")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: device 'cuda' asked for, but there is no CUDA")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.mp4").exists()
