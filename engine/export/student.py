"""The student's graph as ONNX: plain feed-forward convolutions, no gradient graph to build.

Fixed size (TensorRT builds an engine per size anyway); the edge padding to a multiple of 8 and
the crop back are constant Pad and Slice nodes. Checked with the same TensorRT lint as the
gradient graph (engine.export.tensorrt_rules) and by parity through ONNX Runtime in the tests.
"""

from __future__ import annotations

import io
import warnings

import torch

from engine.export.onnx_file import OPSET
from engine.export.tensorrt_rules import check_tensorrt_graph
from engine.student import StudentNet

INPUT_NAME = "frame"
OUTPUT_NAME = "detail"


def export_student(net: StudentNet, height: int, width: int, lint: bool = True) -> bytes:
    """ONNX bytes of `net` for (1, 3, height, width) fp32 frames -> detail; linted for TensorRT when `lint`."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net.cpu().float().eval(), (torch.rand(1, 3, height, width),), buffer, dynamo=False,
                          opset_version=OPSET, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          do_constant_folding=True)  # fmt: skip
    data = buffer.getvalue()
    return check_tensorrt_graph(data) if lint else data
