"""The `onnx` backend: the exported gradient graph in ONNX Runtime.

On the CPU its NCHWc convolutions run near the matmul peak; what is left is the
max-pool routing (MaxPool's Indices output has only a scalar kernel, then a
ScatterElements) and the unfused ReLU masks, about as much again as the convs; see
the backends bench. Its worker threads do not spin between runs: on a 2-core kiosk
that spinning takes the CPU from the capture and renderer threads. On CUDA it needs
onnxruntime-gpu's CUDAExecutionProvider, and then binds torch's CUDA tensors directly
(no host copies).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from engine.backends.base import Capabilities
from engine.backends.exported import ExportedBackend, Runner
from engine.export.onnx_file import INPUT_NAMES, OUTPUT_NAME, onnx_graph
from engine.export.store import BlobStore
from engine.networks import DreamNet
from engine.objectives import Objective


def missing(device: torch.device) -> str | None:
    """Why this backend cannot run on `device`, or None."""
    try:
        import onnxruntime
    except ImportError:
        return "onnxruntime is not installed (pip install -r requirements.txt)"
    if device.type == "cuda" and "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        return "onnxruntime has no CUDA provider here (onnxruntime-gpu is not installed)"
    if device.type not in ("cpu", "cuda"):
        return f"onnxruntime runs on cpu or cuda, not {device.type}"
    return None


def new_session(data: bytes, threads: int, device: torch.device):  # noqa: ANN201 - onnxruntime is imported lazily
    """An ONNX Runtime session of the graph `data` on `device` (CPU or CUDA), with `threads` intra-op threads that
    do not spin between runs."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.log_severity_level = 3  # warnings about unused initialisers are noise here
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = ["CUDAExecutionProvider"] if device.type == "cuda" else ["CPUExecutionProvider"]
    return onnxruntime.InferenceSession(data, options, providers=providers)


class OnnxBackend(ExportedBackend):
    name = "onnx"

    def __init__(
        self,
        net: DreamNet,
        objective: Objective,
        device: torch.device | str = "cpu",
        store: BlobStore | None = None,
        threads: int | None = None,
    ) -> None:
        self.threads = threads if threads is not None else torch.get_num_threads()
        super().__init__(net, objective, device, store)
        self.capabilities = Capabilities(self.device.type, "fp32", False, True)

    def _build(self, layers: tuple[str, ...], height: int, width: int) -> Runner:
        session = new_session(onnx_graph(self.net, layers, height, width, self.store, self.target), self.threads,
                              self.device)
        if self.device.type == "cuda":
            return self._cuda_runner(session)

        def run(image: Tensor, energy: Tensor, channels: Tensor) -> Tensor:
            feeds = dict(zip(INPUT_NAMES, (image.numpy(), energy.numpy(), channels.numpy()), strict=True))
            return torch.from_numpy(session.run([OUTPUT_NAME], feeds)[0])

        return run

    def _cuda_runner(self, session) -> Runner:  # noqa: ANN001 - onnxruntime.InferenceSession
        index = self.device.index or 0

        def run(image: Tensor, energy: Tensor, channels: Tensor) -> Tensor:
            binding = session.io_binding()
            for name, tensor in zip(INPUT_NAMES, (image, energy, channels), strict=True):
                tensor = tensor.contiguous()
                binding.bind_input(name, "cuda", index, np.float32, tuple(tensor.shape), tensor.data_ptr())
            out = torch.empty_like(image)
            binding.bind_output(OUTPUT_NAME, "cuda", index, np.float32, tuple(out.shape), out.data_ptr())
            torch.cuda.current_stream(self.device).synchronize()
            session.run_with_iobinding(binding)
            return out

        return run
