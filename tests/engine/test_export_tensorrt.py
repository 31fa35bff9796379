"""The tensorrt export target: TensorRT's documented restrictions (lint), autograd parity through
ONNX Runtime, and the tensorrt backend's cache and binding against a fake TensorRT (none installs here)."""

from __future__ import annotations

import io

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper

from engine.backends import tensorrt_engine
from engine.backends.tensorrt_engine import TensorRTBackend
from engine.errors import DreamwallError
from engine.export import tensorrt_rules
from engine.export.graph import GradientGraph
from engine.export.onnx_file import INPUT_NAMES, OPSET, OUTPUT_NAME, export_onnx, graph_key, onnx_graph, weights_digest
from engine.export.ops import MaxPoolVJP
from engine.export.store import MemoryStore
from engine.export.targets import graph_targets
from engine.export.tensorrt_rules import tensorrt_problems
from engine.networks import load_network
from engine.objectives import parse_objective
from engine.step import autograd_gradient
from tests.fake_tensorrt import CpuTouchPoints, fake_tensorrt

# (height, width): 64x48 has no partial ceil-mode pool windows in squeezenet, 97x66 has them at every pool.
SIZES = ((48, 64), (66, 97))
LAYERS = {
    "squeezenet1_1": ("conv1", "fire5", "fire9"),
    "efficientnet-lite0": ("stem", "block7", "head"),
    "efficientnet-lite2": ("block1", "block11", "block19"),
}
TOLERANCE = 1e-4  # of the largest autograd gradient component, fp32: as tests/engine/test_export.py


def _image(height: int, width: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(seed))


def _session(data: bytes) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])


def _relative_error(actual: torch.Tensor | np.ndarray, expected: torch.Tensor) -> float:
    actual = torch.as_tensor(actual)
    assert actual.shape == expected.shape
    return float((actual - expected).abs().max() / expected.abs().max())


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_tensorrt_graphs_pass_the_lint_and_match_autograd_through_onnxruntime(name):
    """Every embedded net, two sizes, one graph holding a shallow, middle and deep layer, each checked alone."""
    net = load_network(name)
    for height, width in SIZES:
        image = _image(height, width)
        data = export_onnx(GradientGraph(net, LAYERS[name], height, width, "tensorrt"))
        assert tensorrt_problems(onnx.load_from_string(data)) == [], (name, height, width)
        session = _session(data)
        for spec in LAYERS[name]:
            objective = parse_objective({layer: 0.0 for layer in LAYERS[name]} | {spec: 1.0}, net)
            targets = graph_targets(objective, net)
            expected = autograd_gradient(net, parse_objective(spec, net))(image)
            assert expected.abs().max() > 0
            feeds = dict(zip(INPUT_NAMES, (image.numpy(), targets.energy.numpy(), targets.channel_weights.numpy()),
                             strict=True))
            actual = session.run([OUTPUT_NAME], feeds)[0]
            assert _relative_error(actual, expected) < TOLERANCE, (name, spec, height, width)


def test_the_onnx_target_fails_the_lint_on_maxpool_indices_and_scatter_add():
    """Proof the lint bites: today's ONNX Runtime form of squeezenet is what TensorRT cannot parse."""
    net = load_network("squeezenet1_1")
    problems = tensorrt_problems(onnx.load_from_string(export_onnx(GradientGraph(net, ("fire3",), 48, 64, "onnx"))))
    assert any("MaxPool" in p and "2 outputs, expected 1 (`Indices` output tensor unsupported)" in p for p in problems)
    assert any("ScatterElements" in p and "reduction 'add', expected 'none'" in p for p in problems)


def test_the_lint_names_each_broken_restriction_of_a_hand_made_graph():
    floats = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])]
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"], name="shape"),
        helper.make_node("Slice", ["shape", "one", "two"], ["dynamic_axes"], name="axes"),
        helper.make_node("Pad", ["x", "dynamic_axes"], ["padded"], name="pad"),
        helper.make_node("Unsqueeze", ["x", "dynamic_axes"], ["unsqueezed"], name="unsqueeze"),
        helper.make_node("ReduceSum", ["x", "dynamic_axes"], ["summed"], name="reduce"),
        helper.make_node("Conv", ["x", "x"], ["conv"], name="conv"),
        helper.make_node("Cast", ["x"], ["double"], name="cast", to=TensorProto.DOUBLE),
        helper.make_node("Hardmax", ["x"], ["hard"], name="hardmax"),
        helper.make_node("MaxPool", ["x"], ["pooled"], name="pool", kernel_shape=[2, 2], dilations=[2, 2]),
    ]
    constants = [helper.make_tensor("one", TensorProto.INT64, [1], [1]),
                 helper.make_tensor("two", TensorProto.INT64, [1], [2])]
    outputs = [helper.make_tensor_value_info(n, TensorProto.UNDEFINED, None)
               for n in ("unsqueezed", "summed", "conv", "double", "hard", "pooled", "padded")]
    model = helper.make_model(helper.make_graph(nodes, "bad", floats, outputs, constants),
                              opset_imports=[helper.make_opsetid("", 17)])
    problems = "\n".join(tensorrt_problems(model))
    for expected in (
        "Unsqueeze node 'unsqueeze': axes 'dynamic_axes' is computed, expected a constant",
        "ReduceSum node 'reduce': axes 'dynamic_axes' is computed, expected an initializer",
        "Conv node 'conv': weights W 'x' is computed, expected an initializer",
        "tensor 'double' is DOUBLE",
        "Hardmax node 'hardmax': operator not in the TensorRT table",
        "MaxPool node 'pool': dilations [2, 2], expected empty or all ones",
        "Pad node 'pad': pads 'dynamic_axes' is computed, expected a constant",
    ):
        assert expected in problems
    assert "Slice node 'axes'" not in problems  # its bounds are initializers
    model.opset_import[0].version = 25
    assert "opset 25, expected 9-24" in tensorrt_problems(model)


class _PoolGradient(torch.nn.Module):
    def __init__(self, op: MaxPoolVJP) -> None:
        super().__init__()
        self.op = op

    def forward(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        _, saved = self.op.run(x)
        return self.op.vjp(grad, saved)


@pytest.mark.parametrize(
    ("kernel", "stride", "size", "ceil_mode"),
    [(3, 2, (9, 12), True), (3, 2, (10, 11), True), (2, 2, (7, 9), True), (3, 1, (6, 7), True),
     (3, 2, (10, 11), False)],
)
@pytest.mark.parametrize("image", ["whole numbers", "constant region"])
@pytest.mark.parametrize("target", ["onnx", "tensorrt"])
@pytest.mark.filterwarnings("ignore::UserWarning")  # the exporter's notes on folding the -inf pad
def test_maxpool_gradient_breaks_ties_like_pytorch(kernel, stride, size, ceil_mode, image, target):
    """Ties (whole numbers; a flat patch where every window is one big tie) go to the first maximum, in torch
    and through ONNX Runtime, for both targets: MaxPool's Indices output and a scatter (onnx), the comparison
    routed through a one-hot ConvTranspose (tensorrt, which must also pass the lint)."""
    generator = torch.Generator().manual_seed(kernel * 10 + stride)
    x = torch.randint(0, 3, (1, 2, *size), generator=generator).float()
    if image == "constant region":
        x[:, :, 1:6, 2:8] = 5.0
    op = MaxPoolVJP(kernel, stride, ceil_mode, (2, *size), indices=target == "onnx")
    y, saved = op.run(x)
    grad = torch.randn(y.shape, generator=generator)
    leaf = x.clone().requires_grad_(True)
    reference = F.max_pool2d(leaf, kernel, stride, ceil_mode=ceil_mode)
    assert reference.shape == y.shape
    (expected,) = torch.autograd.grad(reference, leaf, grad)
    torch.testing.assert_close(op.vjp(grad, saved), expected, rtol=0, atol=1e-6)
    buffer = io.BytesIO()
    torch.onnx.export(_PoolGradient(op), (x, grad), buffer, dynamo=False, opset_version=OPSET,
                      input_names=["x", "grad"], output_names=["out"])
    if target == "tensorrt":
        assert tensorrt_problems(onnx.load_from_string(buffer.getvalue())) == []
    in_onnx = _session(buffer.getvalue()).run(None, {"x": x.numpy(), "grad": grad.numpy()})[0]
    torch.testing.assert_close(torch.from_numpy(in_onnx), expected, rtol=0, atol=1e-6)


def test_the_two_targets_are_cached_apart():
    net = load_network("squeezenet1_1")
    store = MemoryStore()
    forms = {target: onnx_graph(net, ("fire3",), 24, 32, store, target) for target in ("onnx", "tensorrt")}
    assert forms["onnx"] != forms["tensorrt"]
    for target, data in forms.items():
        key = graph_key(net, ("fire3",), 24, 32, target)
        assert f"-{target}-" in key and store.get(f"onnx/{key}.onnx") == data
    with pytest.raises(DreamwallError, match=r"unknown export target 'tensorrtt' \(did you mean 'tensorrt'\?\)"):
        onnx_graph(net, ("fire3",), 24, 32, store, "tensorrtt")


class _CpuTensorRT(CpuTouchPoints, TensorRTBackend):
    STREAM = 1234


def test_tensorrt_backend_builds_the_tensorrt_target_once_caches_it_and_binds_tensors_by_address(monkeypatch):
    fake, runtime = fake_tensorrt()
    built: list[bytes] = []

    def build(trt: object, data: bytes, what: str) -> bytes:
        assert what == "the gradient graph"
        built.append(data)
        return b"plan:" + data

    monkeypatch.setattr(tensorrt_engine, "import_tensorrt", lambda: fake)
    monkeypatch.setattr(tensorrt_engine, "missing", lambda device: None)
    monkeypatch.setattr(tensorrt_engine, "build_engine", build)
    net = load_network("squeezenet1_1")
    height, width = 36, 52
    image = _image(height, width, seed=3)
    objective = parse_objective({"fire3:4": 1.0, "fire5": 0.5}, net)
    store = MemoryStore()
    backend = _CpuTensorRT(net, objective, "cpu", store)
    grad = backend.gradient(image)
    assert _relative_error(grad, autograd_gradient(net, objective)(image)) < TOLERANCE
    assert len(built) == 1 and tensorrt_problems(onnx.load_from_string(built[0])) == []
    context = runtime.engines[-1].contexts[-1]
    assert context.addresses == {"image": image.data_ptr(), "energy": backend._energy.data_ptr(),
                                 "channels": backend._channels.data_ptr(), "gradient": grad.data_ptr()}
    assert context.streams == [1234]
    key = backend.engine_key(("fire3", "fire5"), height, width)
    for part in ("squeezenet1_1", weights_digest(net), "fire3+fire5", "52x36", "-tensorrt-", "Fake GPU 80GB/HBM3",
                 "trt10.16.1.11", "fp16"):
        assert part in key
    assert store.get(key) == b"plan:" + built[0]
    again = _CpuTensorRT(net, objective, "cpu", store).gradient(image)  # a new process: loaded, not rebuilt
    assert len(built) == 1 and torch.equal(again, grad)
    # A cached engine whose tensors are not this graph's (here: another size) is refused, not run.
    store.put(key, b"plan:" + onnx_graph(net, ("fire3", "fire5"), 40, 52, store, "tensorrt"))
    with pytest.raises(DreamwallError, match=r"has tensors .*'image': \(1, 3, 40, 52\).* expected .*\(1, 3, 36, 52\)"):
        _CpuTensorRT(net, objective, "cpu", store).prepare(height, width)
    # A graph that breaks a restriction never reaches TensorRT's parser.
    monkeypatch.setattr(tensorrt_rules, "tensorrt_problems", lambda model: ["Hardmax node 'h': not in the table"])
    with pytest.raises(DreamwallError, match=r"breaks 1 TensorRT restriction\(s\), expected none .*Hardmax"):
        _CpuTensorRT(net, objective, "cpu", MemoryStore()).prepare(height, width)
    assert len(built) == 1
