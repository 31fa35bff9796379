"""The `tensorrt` backend: an FP16 TensorRT engine built from the exported ONNX graph.

tensorrt is imported here and only here, lazily, so everything else runs without
it. It builds from the tensorrt export target of the gradient graph (only operators
and forms TensorRT's ONNX parser documents, checked by engine.export.tensorrt_rules).
The serialized engine is cached in the BlobStore under a key naming the network,
weights, objective layers, size, export target, GPU, TensorRT version and precision:
a kiosk builds it once (tens of seconds) and loads it in well under a second
afterwards; a loaded engine whose tensors differ from the graph's is refused. It
runs on torch CUDA tensors by address (data_ptr), on torch's current stream, writing
into a fresh torch tensor: no host copies and no device copies.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any

import torch
from torch import Tensor

from engine.backends.base import Capabilities
from engine.backends.exported import ExportedBackend, Runner
from engine.errors import DreamwallError
from engine.export.onnx_file import INPUT_NAMES, OUTPUT_NAME, graph_key, onnx_graph
from engine.export.store import BlobStore
from engine.export.tensorrt_rules import check_tensorrt_graph
from engine.networks import DreamNet
from engine.objectives import Objective

log = logging.getLogger(__name__)
WORKSPACE_BYTES = 1 << 30


def import_tensorrt() -> ModuleType | None:
    """The tensorrt module, or None when it is not installed (the one place it is imported)."""
    try:
        import tensorrt
    except ImportError:
        return None
    return tensorrt


def missing(device: torch.device) -> str | None:
    """Why this backend cannot run on `device`, or None; names every missing piece at once."""
    problems = []
    if not torch.cuda.is_available():
        problems.append("no CUDA GPU here")
    elif device.type != "cuda":
        problems.append(f"device is {device.type}, tensorrt runs on cuda")
    if import_tensorrt() is None:
        problems.append("tensorrt is not installed (pip install -r requirements-gpu.txt)")
    return f"tensorrt needs CUDA and the tensorrt package: {'; '.join(problems)}" if problems else None


def build_engine(trt: ModuleType, onnx_bytes: bytes, what: str = "the gradient graph") -> bytes:
    """Parse the ONNX graph (`what` names it in errors) and build a serialized FP16 engine with one fixed-shape
    profile."""
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    major = int(trt.__version__.split(".")[0])
    flags = 0 if major >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_bytes):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise DreamwallError(f"TensorRT could not parse {what}: {errors}")
    config = builder.create_builder_config()
    if not hasattr(trt.BuilderFlag, "FP16"):
        raise DreamwallError(
            f"TensorRT {trt.__version__} has no FP16 builder flag (weak typing was removed); "
            "install the version in requirements-gpu.txt"
        )
    config.set_flag(trt.BuilderFlag.FP16)
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    profile = builder.create_optimization_profile()
    for index in range(network.num_inputs):
        tensor = network.get_input(index)
        shape = tuple(tensor.shape)
        profile.set_shape(tensor.name, shape, shape, shape)
    config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise DreamwallError(f"TensorRT failed to build an engine of {what} (see its log above)")
    return bytes(plan)


def engine_key(graph: str, gpu: str, version: str, precision: str = "fp16") -> str:
    """The engine's identity: the graph's key (network, weights digest, objective layers, size,
    export target, opset, graph version), the GPU, the TensorRT version and the precision."""
    return f"tensorrt/{graph}-{gpu}-trt{version}-{precision}.engine"


def expected_io(layers: int, channels: int, height: int, width: int) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every engine input and output, as the gradient graph declares them."""
    shapes = ((1, 3, height, width), (layers,), (channels,))
    return {**dict(zip(INPUT_NAMES, shapes, strict=True)), OUTPUT_NAME: (1, 3, height, width)}


def check_engine_io(engine: Any, expected: dict[str, tuple[int, ...]], where: str) -> None:
    """Refuse an engine whose tensors are not the graph's (a stale or foreign cached file)."""
    actual = {}
    for index in range(engine.num_io_tensors):
        name = engine.get_tensor_name(index)
        actual[name] = tuple(engine.get_tensor_shape(name))
    if actual != expected:
        raise DreamwallError(f"TensorRT engine {where} has tensors {actual}, expected {expected}; delete it to rebuild")


def load_or_build(trt: ModuleType, runtime: Any, store: BlobStore, key: str, make_graph: Callable[[], bytes],
                  expected: dict[str, tuple[int, ...]], what: str) -> Any:  # fmt: skip
    """An execution context of the engine stored under `key`, or of one built now from `make_graph()` (linted for
    TensorRT first; `what` names the graph in messages) and stored; an engine whose tensors are not `expected` (a
    stale or foreign file) is refused. The caller holds the CUDA device current."""
    plan = store.get(key)
    if plan is None:
        log.info("building TensorRT engine %s of %s (once per graph, size and GPU)", key, what)
        plan = build_engine(trt, check_tensorrt_graph(make_graph()), what)
        store.put(key, plan)
    engine = runtime.deserialize_cuda_engine(plan)
    if engine is None:
        raise DreamwallError(f"cached TensorRT engine {store.describe(key)} does not load; delete it to rebuild")
    check_engine_io(engine, expected, store.describe(key))
    return engine.create_execution_context()


def run_engine(context: Any, tensors: dict[str, Tensor], stream: int) -> None:
    """Run the engine on torch's memory by address (inputs and output, by tensor name), on `stream`: no copies.
    The caller holds the inputs until the stream has used them (stream order protects their reuse)."""
    for name, tensor in tensors.items():
        if not tensor.is_contiguous() or tensor.dtype != torch.float32:
            raise DreamwallError(f"TensorRT tensor '{name}' must be contiguous float32, got {tensor.dtype}"
                                 f"{'' if tensor.is_contiguous() else ' (not contiguous)'}")
        context.set_tensor_address(name, tensor.data_ptr())
    if not context.execute_async_v3(stream):
        raise DreamwallError("TensorRT engine failed to run")


class CudaTouchPoints:
    """The three places an engine's owner touches CUDA, kept apart so the binding logic is testable without a GPU
    (tests replace them); the owner has a `device`."""

    device: torch.device

    def _gpu_name(self) -> str:
        return torch.cuda.get_device_name(self.device)

    def _stream_handle(self) -> int:
        return torch.cuda.current_stream(self.device).cuda_stream

    def _on_device(self) -> contextlib.AbstractContextManager[Any]:
        return torch.cuda.device(self.device)


class TensorRTBackend(CudaTouchPoints, ExportedBackend):
    """Runs the tensorrt export target (engine.export.tensorrt_rules), never the onnx one."""

    name = "tensorrt"
    target = "tensorrt"

    def __init__(
        self,
        net: DreamNet,
        objective: Objective,
        device: torch.device | str = "cuda",
        store: BlobStore | None = None,
    ) -> None:
        trt = import_tensorrt()
        reason = missing(torch.device(device) if isinstance(device, str) else device)
        if reason is not None or trt is None:
            raise DreamwallError(f"backend 'tensorrt' cannot run here: {reason}")
        self.trt = trt
        super().__init__(net, objective, device, store)
        self.capabilities = Capabilities("cuda", "fp16", False, True)
        self._runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))

    def engine_key(self, layers: tuple[str, ...], height: int, width: int) -> str:
        graph = graph_key(self.net, layers, height, width, self.target)
        return engine_key(graph, self._gpu_name(), self.trt.__version__)

    def _build(self, layers: tuple[str, ...], height: int, width: int) -> Runner:
        channel_count = sum(self.net.layers[layer].channels for layer in layers)
        expected = expected_io(len(layers), channel_count, height, width)
        with self._on_device():
            context = load_or_build(self.trt, self._runtime, self.store, self.engine_key(layers, height, width),
                                    lambda: onnx_graph(self.net, layers, height, width, self.store, self.target),
                                    expected, "the gradient graph")  # fmt: skip

        def run(image: Tensor, energy: Tensor, channels: Tensor) -> Tensor:
            output = torch.empty_like(image)
            with self._on_device():
                tensors = dict(zip((*INPUT_NAMES, OUTPUT_NAME), (image, energy, channels, output), strict=True))
                run_engine(context, tensors, self._stream_handle())
            return output

        return run
