"""bf16 on the CPU: native detection, the cached probe, the refusals, and the backend it runs on.

The capability and the probe's timings are injected, so every rule is checked on any CPU.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine.backends import TorchBackend, ranking, select_backend
from engine.errors import DreamwallError
from engine.networks import load_network
from engine.objectives import LayerEnergy
from installation.dreaming.cpu_precision import Bf16Probe, native_bf16
from installation.dreaming.placement import Placement, resolve_precision

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def net():
    return load_network("squeezenet1_1")


def test_native_bf16_reads_the_cpu_flags() -> None:
    assert native_bf16("flags : fpu avx512f avx512_bf16 sse") == "avx512_bf16"
    assert native_bf16("flags : fpu amx_bf16 avx512_bf16") == "amx_bf16"
    assert native_bf16("flags : fpu sse avx2 avx512f") is None


class Timings:
    """An injected probe: returns the given (fp32, bf16) ms and counts its calls."""

    def __init__(self, fp32_ms: float, bf16_ms: float) -> None:
        self.figures, self.calls = (fp32_ms, bf16_ms), 0

    def __call__(self, net, size):
        self.calls += 1
        return self.figures


def test_auto_takes_bf16_where_native_and_faster_and_says_the_figures(net, tmp_path: Path) -> None:
    probe = Bf16Probe(tmp_path / "probe.json", native=lambda: "avx512_bf16", measure=Timings(39.6, 20.8))
    choice = probe.choose(net, (640, 360))
    assert (choice.compute, choice.reason) == ("bf16", "bf16: 20.8 vs 39.6 ms/step (avx512_bf16)")


def test_auto_keeps_fp32_where_bf16_is_slower_or_missing(net, tmp_path: Path) -> None:
    slower = Bf16Probe(tmp_path / "a.json", native=lambda: "avx512_bf16", measure=Timings(20.0, 45.5))
    choice = slower.choose(net, (320, 180))
    assert (choice.compute, choice.reason) == ("fp32", "fp32: bf16 measured slower here (45.5 vs 20.0 ms/step)")
    timings = Timings(39.6, 20.8)
    missing = Bf16Probe(tmp_path / "b.json", native=lambda: None, measure=timings)
    assert missing.choose(net, (320, 180)).compute == "fp32"
    assert timings.calls == 0  # no native bf16: nothing to probe


def test_the_probe_runs_once_per_machine_network_and_size_across_starts(net, tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "probe.json"
    first = Timings(39.6, 20.8)
    Bf16Probe(cache, native=lambda: "amx_bf16", measure=first).choose(net, (640, 360))
    again = Timings(1.0, 2.0)  # a second start must not re-measure: these figures would flip the choice
    probe = Bf16Probe(cache, native=lambda: "amx_bf16", measure=again)
    assert probe.choose(net, (640, 360)).compute == "bf16" and again.calls == 0
    assert probe.choose(net, (320, 180)).compute == "fp32" and again.calls == 1  # a new size is probed


def test_a_torn_probe_cache_is_measured_again_not_fatal(net, tmp_path: Path) -> None:
    cache = tmp_path / "probe.json"
    cache.write_text("{not json")
    timings = Timings(39.6, 20.8)
    assert Bf16Probe(cache, native=lambda: "avx512_bf16", measure=timings).choose(net, (64, 64)).compute == "bf16"
    assert timings.calls == 1 and "64x64" in cache.read_text()


def test_bf16_without_native_support_is_refused_at_start_and_a_notice_on_reload() -> None:
    with pytest.raises(DreamwallError) as error:
        resolve_precision("bf16", CPU, "preset night", strict=True, bf16_native=None)
    assert str(error.value) == ("preset night: precision bf16 needs a CPU with native bfloat16 (avx512_bf16 or "
                                "amx_bf16); this one has neither (use precision auto or fp32)")
    dtype, notice = resolve_precision("bf16", CPU, "preset night", strict=False, bf16_native=None)
    assert dtype == torch.float32 and notice is not None and notice.endswith("this one has neither: dreaming in fp32")
    assert resolve_precision("bf16", CPU, "preset night", strict=True, bf16_native="amx_bf16") == (torch.float32, None)
    with pytest.raises(DreamwallError, match="precision bf16 is for CPUs; on cuda:0 use fp16"):
        resolve_precision("bf16", torch.device("cuda", 0), "preset night", strict=True)


def test_unknown_precision_suggests_bf16() -> None:
    with pytest.raises(DreamwallError, match=r"unknown precision 'bf61' \(did you mean 'bf16'\?\); choose from: auto,"):
        resolve_precision("bf61", CPU, "preset x", strict=True)


def test_placement_shows_the_arithmetic_while_frames_stay_fp32() -> None:
    placement = Placement(CPU, torch.float32, "cpu as asked", "bf16", "auto bf16: 20.8 vs 39.6 ms/step")
    assert placement.describe() == "cpu bf16" and placement.dtype == torch.float32


def test_torch_backend_runs_bf16_with_fp32_gradients_in_channels_last(net) -> None:
    backend = TorchBackend(net, LayerEnergy("fire3"), "cpu", bf16=True)
    assert backend.capabilities.describe() == "cpu bf16, any objective" and backend.channels_last
    image = torch.rand(1, 3, 64, 96)
    grad = backend.gradient(image)
    assert grad.dtype == torch.float32 and grad.shape == image.shape and grad.is_contiguous()
    assert next(backend.net.parameters()).dtype == torch.float32  # weights stay fp32: autocast casts per op
    with pytest.raises(ValueError, match="bf16 autocast is the CPU's half precision"):
        TorchBackend(net, LayerEnergy("fire3"), "cuda", bf16=True)


def test_auto_ranks_backends_per_network_and_bf16_runs_on_torch(net) -> None:
    assert ranking("cpu", "squeezenet1_1") == ("torch", "onnx")
    assert ranking("cpu", "efficientnet-lite0") == ("onnx", "torch")  # measured: onnx 71.8 vs torch 87.6 ms
    assert ranking("cpu", "efficientnet-lite2", "bf16") == ("torch",)
    backend, reason = select_backend("auto", net, LayerEnergy("fire7"), (64, 64), "cpu", compute="bf16")
    assert backend.name == "torch" and reason.startswith("auto chose torch (cpu bf16, any objective)")


def test_auto_keeps_fp32_on_a_network_whose_bf16_gradient_bends(tmp_path: Path) -> None:
    timings = Timings(87.6, 40.0)
    probe = Bf16Probe(tmp_path / "probe.json", native=lambda: "avx512_bf16", measure=timings)
    choice = probe.choose(load_network("efficientnet-lite0"), (640, 360))
    assert choice.compute == "fp32" and "bends efficientnet-lite0's gradient" in choice.reason
    assert timings.calls == 0
