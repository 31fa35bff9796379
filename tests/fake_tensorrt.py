"""A fake TensorRT for tests (none installs here): its "plan" is the ONNX graph it was given, run by ONNX Runtime
reading and writing the tensors' memory at the addresses a backend binds, as a real engine would on the GPU."""

from __future__ import annotations

import contextlib
import ctypes
import types

import numpy as np
import onnxruntime

PLAN_PREFIX = b"plan:"


class FakeContext:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine, self.addresses, self.streams = engine, {}, []

    def set_tensor_address(self, name: str, address: int) -> None:
        self.addresses[name] = address

    def _array(self, name: str) -> np.ndarray:
        shape = self.engine.shapes[name]
        buffer = (ctypes.c_float * int(np.prod(shape))).from_address(self.addresses[name])
        return np.ctypeslib.as_array(buffer).reshape(shape)

    def execute_async_v3(self, stream: int) -> bool:
        self.streams.append(stream)
        feeds = {name: self._array(name).copy() for name in self.engine.inputs}
        results = self.engine.session.run(self.engine.outputs, feeds)
        for name, result in zip(self.engine.outputs, results, strict=True):
            self._array(name)[...] = result
        return True


class FakeEngine:
    def __init__(self, data: bytes) -> None:
        self.session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
        self.inputs = [t.name for t in self.session.get_inputs()]
        self.outputs = [t.name for t in self.session.get_outputs()]
        self.shapes = {t.name: tuple(t.shape) for t in (*self.session.get_inputs(), *self.session.get_outputs())}
        self.num_io_tensors = len(self.shapes)
        self.contexts: list[FakeContext] = []

    def get_tensor_name(self, index: int) -> str:
        return list(self.shapes)[index]

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return self.shapes[name]

    def create_execution_context(self) -> FakeContext:
        self.contexts.append(FakeContext(self))
        return self.contexts[-1]


class FakeRuntime:
    def __init__(self) -> None:
        self.engines: list[FakeEngine] = []

    def deserialize_cuda_engine(self, plan: bytes) -> FakeEngine:
        self.engines.append(FakeEngine(plan.removeprefix(PLAN_PREFIX)))
        return self.engines[-1]


def fake_tensorrt() -> tuple[types.SimpleNamespace, FakeRuntime]:
    """(a stand-in for the tensorrt module, the one runtime it hands out); pair it with a fake `build_engine` that
    returns PLAN_PREFIX + the ONNX bytes."""
    runtime = FakeRuntime()
    fake = types.SimpleNamespace(__version__="10.16.1.11", Logger=lambda level: None, Runtime=lambda logger: runtime)
    fake.Logger.WARNING = 2
    return fake, runtime


class CpuTouchPoints:
    """The CUDA touch points of engine.backends.tensorrt_engine.CudaTouchPoints, on the CPU (mix in first)."""

    GPU = "Fake GPU 80GB/HBM3"
    STREAM = 4321

    def _gpu_name(self) -> str:
        return self.GPU

    def _stream_handle(self) -> int:
        return self.STREAM

    def _on_device(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()
