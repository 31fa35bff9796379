"""Where a look's student runs: torch eager, or ONNX Runtime from the student's exported graph.

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
- compile and tensorrt: not built for the student (no TensorRT here to test an engine with); it runs
  in torch, and the log says so once.
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import torch
from torch import Tensor, nn

from engine.backends.onnx_runtime import missing as onnx_missing
from engine.backends.onnx_runtime import new_session
from engine.export.student import INPUT_NAME, export_student
from engine.student import StudentNet

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


def student_runner(net: StudentNet, backend: str, device: torch.device,
                   compute: str | None = None) -> tuple[nn.Module, str]:  # fmt: skip
    """(what runs the student, its name) for the preset's `backend` on `device`; `compute` "bf16": the preset's
    arithmetic on this CPU is bf16, and the torch student runs in it too."""
    if backend == "onnx" and device.type == "cpu":
        reason = onnx_missing(device)
        if reason is None:
            return OnnxStudent(net), "onnx"
        log.warning("the student runs in torch: %s", reason)
    elif backend in ("compile", "tensorrt") or (backend == "onnx" and device.type != "cpu"):
        log.info("the student runs in torch eager: its %s backend is not built (on %s)", backend, device.type)
    if compute == "bf16" and device.type == "cpu":
        return Bf16Student(net), "torch bf16"
    return net.to(memory_format=torch.channels_last), "torch"
