"""The student's ONNX graph passes the TensorRT lint and matches torch through ONNX Runtime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from engine.export.student import INPUT_NAME, export_student
from engine.export.tensorrt_rules import tensorrt_problems
from engine.student import StudentNet
from tests.student.helpers import TINY


@pytest.mark.parametrize(("height", "width"), [(48, 64), (37, 70)])
def test_export_passes_the_tensorrt_lint_and_matches_torch(height: int, width: int) -> None:
    torch.manual_seed(0)
    net = StudentNet(TINY).eval()
    torch.nn.init.normal_(net.out.weight, std=0.1)
    data = export_student(net, height, width)
    assert tensorrt_problems(onnx.load_from_string(data)) == []
    frame = torch.rand(1, 3, height, width)
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {INPUT_NAME: frame.numpy()})
    with torch.no_grad():
        want = net(frame).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-4)
