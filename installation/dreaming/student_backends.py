"""Where a look's student runs: torch eager (fp32 or bf16), ONNX Runtime, or built per size (compile, TensorRT).

- torch (and `auto`): the student module itself, on the network's device and dtype (fp16 on CUDA),
  its weights in channels_last (measured at 640x360 on a 2-core AVX2 CPU: 19.5 ms a pass against 25 ms
  in the default layout). `run.py bench --student` times it.
- torch in bf16, on a CPU whose preset dreams in bf16 (Placement.compute: native bf16 there, and the
  probe or the preset chose it): a bf16 copy of the weights, frames converted in and out, so the
  feedback and composition around it stay in fp32; its bilinear doublings run in fp32 (oneDNN's bf16
  depthwise ConvTranspose is slow: engine.student.model._double). On an AMX CPU 17.6 against 36.0 ms
  a pass at 1280x720 and 4.3 against 8.0 at 640x360, relative error 0.0075 (bench/student_precision.py).
  Without native bf16 torch emulates it and it is slower, so it is never chosen there.
- onnx, on the CPU: the student's graph exported at each size it is asked to dream
  (engine.export.student: the graph the TensorRT lint passes, matched to torch through ONNX Runtime
  in the tests), one session per size, made the first time that size comes. On CUDA the student runs
  in torch: ONNX Runtime through numpy would copy every frame to the host and back.
- compile and tensorrt: built per frame size on a thread of their own while the torch student runs
  (installation.dreaming.student_builds, where they are measured). `auto` takes tensorrt, then compile on
  CUDA, as the gradient's ranking does; on the CPU it stays torch: compile's gain there (0.64-0.84x a pass)
  costs a C++ compiler and seconds of both cores at every new size, so a preset asks for it.
  A backend that cannot run here (no g++, no triton, no tensorrt) leaves the torch student, and the log
  says why once.
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import torch
from torch import Tensor, nn

from engine.backends import compiled, tensorrt_engine
from engine.backends.onnx_runtime import missing as onnx_missing
from engine.backends.onnx_runtime import new_session
from engine.export.store import BlobStore
from engine.export.student import INPUT_NAME, export_student
from engine.student import StudentNet
from installation.dreaming.export_cache import DiskStore
from installation.dreaming.student_builds import BuiltPerSize, TensorRTStudentBuild, compiled_build

log = logging.getLogger(__name__)


class OnnxStudent(nn.Module):
    """The student through ONNX Runtime on the CPU: one exported graph and session per (height, width)."""

    def __init__(self, net: StudentNet, threads: int | None = None) -> None:
        super().__init__()
        self.net = copy.deepcopy(net).cpu().float().eval()  # the weights (export moves what it is given)
        self.shape = net.shape
        self.threads = threads if threads is not None else torch.get_num_threads()
        self._sessions: dict[tuple[int, int], object] = {}

    def _session(self, height: int, width: int):  # noqa: ANN202 - onnxruntime is imported lazily
        if (height, width) not in self._sessions:
            graph = export_student(self.net, height, width, lint=False)
            self._sessions[(height, width)] = new_session(graph, self.threads, torch.device("cpu"))
        return self._sessions[(height, width)]

    def forward(self, image: Tensor) -> Tensor:
        height, width = int(image.shape[-2]), int(image.shape[-1])
        session = self._session(height, width)
        frames = image.detach().float().cpu().numpy()
        detail = np.concatenate([session.run(None, {INPUT_NAME: frames[i : i + 1]})[0]  # type: ignore[attr-defined]
                                 for i in range(frames.shape[0])])  # fmt: skip
        return torch.from_numpy(detail).to(image.dtype)


class Bf16Student(nn.Module):
    """The student in bf16 weights and arithmetic (channels_last), taking and giving frames in their own dtype."""

    def __init__(self, net: StudentNet) -> None:
        super().__init__()
        self.net = copy.deepcopy(net).to(dtype=torch.bfloat16, memory_format=torch.channels_last).eval()
        self.shape = net.shape

    def forward(self, image: Tensor) -> Tensor:
        frames = image.to(dtype=torch.bfloat16, memory_format=torch.channels_last)
        return self.net(frames).to(image.dtype)


def student_runner(net: StudentNet, backend: str, device: torch.device, compute: str | None = None,
                   store: BlobStore | None = None) -> tuple[nn.Module, str]:  # fmt: skip
    """(what runs the student, its name) for the preset's `backend` on `device`; `compute` "bf16": the preset's
    arithmetic on this CPU is bf16, and the torch student runs in it too; `store`: where TensorRT engines are
    cached (default the app's cache folder)."""
    if backend == "onnx" and device.type == "cpu":
        reason = onnx_missing(device)
        if reason is None:
            return OnnxStudent(net), "onnx"
        log.warning("the student runs in torch: %s", reason)
    elif backend == "onnx":
        log.info("the student runs in torch: ONNX Runtime would copy every frame to the host and back from %s",
                 device.type)  # fmt: skip
    eager, name = (Bf16Student(net), "torch bf16") if compute == "bf16" and device.type == "cpu" else (
        net.to(memory_format=torch.channels_last), "torch")
    if backend == "auto" and device.type == "cuda":
        backend = "tensorrt" if tensorrt_engine.missing(device) is None else "compile"
    if backend == "tensorrt":
        trt = tensorrt_engine.import_tensorrt()
        reason = tensorrt_engine.missing(device)
        if reason is None and trt is not None:
            build = TensorRTStudentBuild(net, device, store if store is not None else DiskStore(), trt)
            return BuiltPerSize(eager, build, "tensorrt", name), "tensorrt"
        log.warning("the student runs in %s: %s", name, reason)
    if backend == "compile":
        reason = compiled.missing(device)
        if reason is None:
            label = f"compile ({name})"
            return BuiltPerSize(eager, compiled_build(eager, device), "compile", name, label), label
        log.warning("the student runs in %s: %s", name, reason)
    return eager, name
