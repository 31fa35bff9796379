"""Backends that compute the dream step's gradient: one interface, chosen by name or `auto`.

    backend, reason = select_backend("auto", net, objective, (640, 360), "cpu")
    image = dream_step(net, image, objective, params, generator, gradient=backend.gradient)

`auto` takes the first available backend in a per-network, per-device ranking that
the backends bench (`python run.py bench --backends`) measured: on this 2-core CPU at
640x360 (squeezenet fire7), eager autograd in channels_last (about 1.5x the plain NCHW loop)
still beats ONNX Runtime running the exported graph (about 1.3-1.4x since the max-pool
gradient uses MaxPool's Indices output and a scatter, up from 0.85x; ORT's scalar
MaxPool-with-indices kernel is now its largest cost after the convs); on CUDA, TensorRT FP16 is
expected to beat torch.compile FP16 and eager fp16 (bench/gpu_check.sh measures it).
EfficientNet is the other way round on the CPU: its depthwise convs and BN make eager
autograd slow, and ONNX Runtime wins (NETWORK_RANKING). In bf16 only the torch backend
runs (the exported graphs are fp32), and it beats fp32 ORT on every embedded network.
The reason string names the choice and what was skipped, for the HUD and the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch

from engine.backends import compiled, onnx_runtime, tensorrt_engine
from engine.backends.base import Backend, Capabilities, as_device
from engine.backends.compiled import CompileBackend
from engine.backends.eager import TorchBackend
from engine.backends.onnx_runtime import OnnxBackend
from engine.backends.tensorrt_engine import TensorRTBackend
from engine.errors import DreamwallError, unknown_name
from engine.export.convert import ExportUnsupported
from engine.export.store import BlobStore
from engine.export.targets import graph_targets
from engine.networks import DreamNet
from engine.objectives import Objective

__all__ = [
    "AUTO", "BACKENDS", "RANKING", "Backend", "Capabilities", "CompileBackend", "OnnxBackend", "TensorRTBackend",
    "TorchBackend", "create_backend", "missing", "ranking", "select_backend",
]

AUTO = "auto"
BACKENDS = ("torch", "compile", "onnx", "tensorrt")
# Fastest first, per device type, as measured by the backends bench.
RANKING = {"cpu": ("torch", "onnx"), "cuda": ("tensorrt", "compile", "torch")}
# Where a network ranks otherwise (device type, network): fp32 ms per dream step at 640x360 on the
# 2-core EPYC (bench --backends, issue 16): lite0 onnx 71.8 vs torch 87.6, lite2 onnx 93.8 vs torch 133.5;
# a shared-machine re-run here (median of 5) gave lite0 137 vs 299, lite2 181 vs 414: the same order.
NETWORK_RANKING = {
    ("cpu", "efficientnet-lite0"): ("onnx", "torch"),
    ("cpu", "efficientnet-lite2"): ("onnx", "torch"),
}
COMPUTES = ("fp32", "fp16", "bf16")
BF16_BACKENDS = ("torch",)  # bf16 autocast is eager torch only; the exported graphs run fp32
_MISSING: dict[str, Callable[[torch.device], str | None]] = {
    "torch": lambda device: None,
    "compile": compiled.missing,
    "onnx": onnx_runtime.missing,
    "tensorrt": tensorrt_engine.missing,
}
log = logging.getLogger(__name__)


def missing(name: str, device: torch.device | str) -> str | None:
    """Why backend `name` cannot run on `device` here, or None when it can."""
    if name not in _MISSING:
        raise unknown_name("backend", name, (AUTO, *BACKENDS))
    return _MISSING[name](as_device(device))


def create_backend(
    name: str,
    net: DreamNet,
    objective: Objective,
    device: torch.device | str,
    store: BlobStore | None = None,
    compute: str | None = None,
) -> Backend:
    """The named backend, or a DreamwallError naming what is missing to run it.

    `compute`: the arithmetic (fp32, fp16, bf16); None takes it from the network's dtype.
    bf16 on a backend that cannot run it runs fp32 (its capabilities say so).
    """
    reason = missing(name, device)
    if reason is not None:
        raise DreamwallError(f"backend '{name}' cannot run here: {reason}")
    half = next(net.parameters()).dtype == torch.float16  # the show's precision is the network's
    if name == "torch":
        return TorchBackend(net, objective, device, half=half, bf16=compute == "bf16" and not half)
    if name == "compile":
        return CompileBackend(net, objective, device, store, half=half)
    if name == "onnx":
        return OnnxBackend(net, objective, device, store)
    return TensorRTBackend(net, objective, device, store)


def _prepared(backend: Backend, size: tuple[int, int]) -> Backend:
    prepare = getattr(backend, "prepare", None)
    if prepare is not None:
        width, height = size
        prepare(height, width)
    return backend


def ranking(device_type: str, network: str, compute: str | None = None) -> tuple[str, ...]:
    """Fastest first for `network` on `device_type` in `compute` arithmetic (the bench's order)."""
    order = NETWORK_RANKING.get((device_type, network), RANKING.get(device_type, ("torch",)))
    if compute == "bf16":
        return tuple(name for name in order if name in BF16_BACKENDS) or ("torch",)
    return order


def select_backend(
    name: str,
    net: DreamNet,
    objective: Objective,
    size: tuple[int, int],
    device: torch.device | str = "cpu",
    store: BlobStore | None = None,
    compute: str | None = None,
) -> tuple[Backend, str]:
    """(backend, reason): the named one, or with 'auto' the fastest that can run here.

    `size` is the processing size (width, height); the exported backends build their
    graph for it now, so the first frame does not wait. `compute` as in create_backend.
    """
    device = as_device(device)
    if name != AUTO:
        backend = _prepared(create_backend(name, net, objective, device, store, compute), size)
        reason = f"{name} as asked ({backend.capabilities.describe()})"
        return backend, f"{reason}; {backend.note}" if backend.note else reason
    order = ranking(device.type, net.name, compute)
    try:
        graph_targets(objective, net)
    except ExportUnsupported as error:
        backend = create_backend("torch", net, objective, device, compute=compute)
        return backend, f"auto chose torch ({backend.capabilities.describe()}): {error}"
    skipped = []
    for candidate in order:
        reason = missing(candidate, device)
        if reason is None:
            backend = _prepared(create_backend(candidate, net, objective, device, store, compute), size)
            text = (f"auto chose {candidate} ({backend.capabilities.describe()}): fastest available for "
                    f"{net.name} on {device.type}")
            text += f" (skipped {'; '.join(skipped)})" if skipped else ""
            log.info(text)
            return backend, text
        skipped.append(f"{candidate}: {reason}")
    raise DreamwallError(f"no backend can run on {device}: {'; '.join(skipped)}")
