"""bf16 on the CPU: whether this processor runs it natively, and whether it is faster here.

Native bf16 (AVX-512 BF16 or AMX) makes oneDNN's bfloat16 convolutions about twice as
fast as fp32 channels_last (issue 16: a whole dream step 20.8 vs 39.6 ms on the 2-core
EPYC); without it torch emulates bf16 and it is slower than fp32. So `auto` asks two
questions: does the CPU say it has the instructions, and does a short probe (a few
dream steps at the processing size, fp32 vs bf16, on the real network) agree? The probe
runs once per machine, network and size; its figures are kept in the cache folder so
the next start does not pay for it, and they are the reason shown on the HUD.

A third question is fixed by a test, not measured at start: does bf16 keep the
gradient's direction on this network? squeezenet does (cosine to fp32 0.98 at fire5);
EfficientNet-Lite does not (0.96 on noise, 0.88 on a photograph at a middle layer: its
deep ReLU6 stack flips masks), so `auto` keeps it in fp32; `precision: bf16` still runs it.

Both questions are injectable (`native`, `measure`) so the rules are tested anywhere.
"""

from __future__ import annotations

import json
import logging
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.networks import DreamNet

log = logging.getLogger(__name__)
NATIVE_FLAGS = ("amx_bf16", "avx512_bf16")
PROBE_STEPS = 3  # after one warm-up: a start-up cost of well under a second per network and size
# Networks whose bf16 gradient keeps cosine >= 0.97 to fp32 at a middle layer (tests/engine/test_bf16_quality.py).
BF16_KEEPS_DIRECTION = ("squeezenet1_1",)
MIN_COSINE = 0.97
MeasureFn = Callable[[DreamNet, tuple[int, int]], tuple[float, float]]  # (fp32 ms, bf16 ms) per step


def native_bf16(cpuinfo: str | None = None) -> str | None:
    """The CPU flag that makes bf16 native here (e.g. 'avx512_bf16'), or None."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    flags = set(cpuinfo.split())
    for flag in NATIVE_FLAGS:
        if flag in flags:
            return flag
    mkldnn_says = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    if not flags and mkldnn_says is not None and mkldnn_says():  # no /proc (macOS, Windows): ask oneDNN
        return "oneDNN bf16"
    return None


def measure_steps(net: DreamNet, size: tuple[int, int]) -> tuple[float, float]:
    """(fp32 ms, bf16 ms) per dream step with the torch backend and the shipped step, timed alternately."""
    from engine.backends.eager import TorchBackend
    from engine.objectives import LayerEnergy
    from engine.step import dream_step
    from installation.presets.loader import DEFAULT_NAME, PRESETS_DIR, SUFFIX, load_preset

    objective = LayerEnergy(net.default_layer)
    params = load_preset(PRESETS_DIR / f"{DEFAULT_NAME}{SUFFIX}").step_params()
    width, height = size
    image = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
    backends = {compute: TorchBackend(net, objective, "cpu", bf16=compute == "bf16") for compute in ("fp32", "bf16")}
    samples: dict[str, list[float]] = {compute: [] for compute in backends}
    generator = torch.Generator().manual_seed(0)
    for round_ in range(PROBE_STEPS + 1):  # alternate, so load from elsewhere hits both alike; round 0 warms up
        for compute, backend in backends.items():
            start = time.perf_counter()
            dream_step(net, image, objective, params, generator, backend.gradient)
            if round_:
                samples[compute].append((time.perf_counter() - start) * 1000.0)
    return statistics.median(samples["fp32"]), statistics.median(samples["bf16"])


@dataclass(frozen=True)
class CpuChoice:
    compute: str  # "fp32" or "bf16"
    reason: str   # e.g. "bf16: 20.8 vs 39.6 ms/step (avx512_bf16)"


class Bf16Probe:
    """Decides fp32 or bf16 for (network, size) on this CPU; probe figures cached in `cache_file`."""

    def __init__(self, cache_file: Path | None = None, native: Callable[[], str | None] = native_bf16,
                 measure: MeasureFn = measure_steps) -> None:  # fmt: skip
        self.cache_file = cache_file
        self.native = native
        self.measure = measure
        self._figures: dict[str, list[float]] | None = None

    def _key(self, network: str, size: tuple[int, int]) -> str:
        return f"{platform.node()}|{platform.processor() or platform.machine()}|{network}|{size[0]}x{size[1]}"

    def _load(self) -> dict[str, list[float]]:
        if self._figures is None:
            self._figures = {}
            if self.cache_file is not None and self.cache_file.is_file():
                try:
                    loaded = json.loads(self.cache_file.read_text())
                    self._figures = {k: [float(v[0]), float(v[1])] for k, v in loaded.items()}
                except (OSError, ValueError, TypeError, IndexError, AttributeError) as error:
                    log.warning("ignoring the bf16 probe cache %s: %s", self.cache_file, error)  # re-measured
        return self._figures

    def _save(self) -> None:
        if self.cache_file is None:
            return
        from installation.common.atomic import atomic_write_text

        try:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.cache_file, json.dumps(self._load(), indent=1, sort_keys=True))
        except OSError as error:  # a read-only cache costs a probe next start, never the show
            log.warning("could not keep the bf16 probe figures in %s: %s", self.cache_file, error)

    def available(self) -> str | None:
        return self.native()

    def choose(self, net: DreamNet, size: tuple[int, int]) -> CpuChoice:
        """bf16 where native and measured faster, else fp32; the reason carries the figures."""
        flag = self.native()
        if flag is None:
            return CpuChoice("fp32", "fp32: this CPU has no native bf16 (no avx512_bf16 / amx_bf16)")
        if net.name not in BF16_KEEPS_DIRECTION:
            return CpuChoice("fp32", f"fp32: bf16 bends {net.name}'s gradient (cosine to fp32 < {MIN_COSINE})")
        figures, key = self._load(), self._key(net.name, size)
        if key not in figures:
            fp32_ms, bf16_ms = self.measure(net, size)
            figures[key] = [fp32_ms, bf16_ms]
            self._save()
        fp32_ms, bf16_ms = figures[key]
        if bf16_ms < fp32_ms:
            return CpuChoice("bf16", f"bf16: {bf16_ms:.1f} vs {fp32_ms:.1f} ms/step ({flag})")
        return CpuChoice("fp32", f"fp32: bf16 measured slower here ({bf16_ms:.1f} vs {fp32_ms:.1f} ms/step)")
