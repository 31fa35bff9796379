"""The exported gradient graph against autograd: in PyTorch and through ONNX Runtime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
import torch.nn.functional as F

from engine.export.convert import ExportUnsupported
from engine.export.graph import GradientGraph
from engine.export.onnx_file import INPUT_NAMES, export_onnx, onnx_graph
from engine.export.ops import ConvVJP, MaxPoolVJP
from engine.export.store import MemoryStore
from engine.export.targets import graph_targets
from engine.networks import load_network
from engine.objectives import ClassLogit, Guide, parse_objective
from engine.step import autograd_gradient
from installation.dreaming.export_cache import DiskStore

SIZES = ((40, 56), (33, 47))  # (height, width): even, and odd (ceil_mode pools, TF "same" odd padding)
LAYERS = {
    "squeezenet1_1": ("conv1", "fire5", "fire9"),
    "efficientnet-lite0": ("stem", "block7", "head"),
    "efficientnet-lite2": ("block1", "block11", "block19"),
}
TOLERANCE = 1e-4  # of the largest autograd gradient component, fp32


@pytest.fixture(scope="module", params=sorted(LAYERS))
def net(request):
    return load_network(request.param)


def _image(height: int, width: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(seed))


def _run_onnx(data: bytes, image: torch.Tensor, energy: torch.Tensor, channels: torch.Tensor) -> np.ndarray:
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    feeds = dict(zip(INPUT_NAMES, (image.numpy(), energy.numpy(), channels.numpy()), strict=True))
    return session.run(None, feeds)[0]


def _relative_error(actual: torch.Tensor | np.ndarray, expected: torch.Tensor) -> float:
    actual = torch.as_tensor(actual)
    assert actual.shape == expected.shape
    return float((actual - expected).abs().max() / expected.abs().max())


def test_every_embedded_network_matches_autograd_in_torch_and_onnxruntime(net):
    """Shallow, middle and deep layer at two sizes; one graph per size holds all three layers' objectives."""
    shallow, middle, deep = LAYERS[net.name]
    for height, width in SIZES:
        image = _image(height, width)
        # One term per layer, each also checked alone through the graph inputs (no rebuild).
        graph = GradientGraph(net, (shallow, middle, deep), height, width)
        data = export_onnx(graph)
        for spec in (shallow, middle, deep):
            objective = parse_objective({shallow: 0.0, middle: 0.0, deep: 0.0, spec: 1.0}, net)
            targets = graph_targets(objective, net)
            expected = autograd_gradient(net, parse_objective(spec, net))(image)
            assert expected.abs().max() > 0
            with torch.no_grad():
                in_torch = graph(image, targets.energy, targets.channel_weights)
            assert _relative_error(in_torch, expected) < TOLERANCE, (net.name, spec, height, width)
            in_onnx = _run_onnx(data, image, targets.energy, targets.channel_weights)
            assert _relative_error(in_onnx, expected) < TOLERANCE, (net.name, spec, height, width, "onnx")


def test_channel_and_weighted_objectives_are_graph_inputs(net):
    """Channels (with a repeat), negative weights and sums across layers change inputs, not the graph."""
    shallow, _, deep = LAYERS[net.name]
    height, width = SIZES[1]
    image = _image(height, width, seed=1)
    with torch.no_grad():
        act = net.forward_to(image, [deep])[deep]
    # The channel whose activation passes gradient at the most positions (ReLU6 saturates at 6).
    strongest = int(((act > 0) & (act < 6)).sum(dim=(0, 2, 3)).argmax())
    graph = GradientGraph(net, (shallow, deep), height, width)
    specs = (
        f"{deep}:{strongest}",
        {f"{deep}:{strongest},{strongest},0": 2.0, shallow: -0.5},
        {deep: 1.0, f"{shallow}:0": 4.0},
    )
    for spec in specs:
        objective = parse_objective(spec, net)
        targets = graph_targets(objective, net)
        assert set(targets.layers) <= set(graph.layers)
        padded = graph_targets(objective + 0.0 * parse_objective(shallow, net) + 0.0 * parse_objective(deep, net), net)
        expected = autograd_gradient(net, objective)(image)
        assert expected.abs().max() > 0
        with torch.no_grad():
            actual = graph(image, padded.energy, padded.channel_weights)
        assert _relative_error(actual, expected) < TOLERANCE, spec


def _pool3(graph: GradientGraph) -> MaxPoolVJP:
    return next(op for op in graph.ops if isinstance(op, MaxPoolVJP) and op.in_shape[0] == 128)


def test_maxpool_takes_the_relu_mask_of_the_layer_before_only_when_that_is_no_target():
    """The deferred mask gives the same gradient; a target's channel term still needs the full-size mask."""
    net = load_network("squeezenet1_1")
    height, width = SIZES[1]
    image = _image(height, width, seed=2)
    deferred = GradientGraph(net, ("fire4",), height, width)
    kept = GradientGraph(net, ("fire3", "fire4"), height, width)
    assert _pool3(deferred).mask_activation == "relu" and _pool3(kept).mask_activation is None
    for graph, spec in ((deferred, "fire4"), (kept, {"fire3:5": 1.0, "fire4": 0.5})):
        objective = parse_objective(spec, net)
        targets = graph_targets(objective, net)
        with torch.no_grad():
            actual = graph(image, targets.energy, targets.channel_weights)
        assert _relative_error(actual, autograd_gradient(net, objective)(image)) < TOLERANCE, spec


@pytest.mark.parametrize(
    ("stride", "pads", "groups", "activation"),
    [
        (1, (1, 1, 1, 1), 1, "relu"),
        (2, (0, 1, 0, 1), 4, "relu6"),
        (2, (1, 2, 0, 1), 1, None),
        (1, (0, 2, 1, 1), 4, None),
    ],
)
def test_conv_gradient_matches_autograd_for_any_padding(stride, pads, groups, activation):
    generator = torch.Generator().manual_seed(stride + groups)
    weight = torch.randn(8, 8 // groups, 3, 3, generator=generator)
    bias = torch.randn(8, generator=generator)
    x = torch.randn(1, 8, 11, 14, generator=generator)
    op = ConvVJP(weight, bias, stride, pads, groups, activation, (8, 11, 14))
    y, saved = op.run(x)
    assert y.shape[1:] == op.out_shape
    grad = torch.randn(y.shape, generator=generator)
    leaf = x.clone().requires_grad_(True)
    top, bottom, left, right = pads
    reference = F.conv2d(F.pad(leaf, (left, right, top, bottom)), weight, bias, stride, 0, 1, groups)
    reference = {"relu": F.relu, "relu6": F.relu6, None: lambda t: t}[activation](reference)
    torch.testing.assert_close(y, reference, rtol=1e-5, atol=1e-5)
    (expected,) = torch.autograd.grad(reference, leaf, grad)
    torch.testing.assert_close(op.vjp(grad, saved), expected, rtol=1e-5, atol=1e-5)


def test_class_and_guide_objectives_say_why_they_need_autograd():
    net = load_network("squeezenet1_1")
    with pytest.raises(ExportUnsupported, match=r"class:tabby.*no exported gradient"):
        graph_targets(ClassLogit(281, "tabby") + parse_objective("fire5", net), net)
    guide = Guide("fire5", torch.zeros(256, 4), "cat.jpg")
    with pytest.raises(ExportUnsupported, match=r"guide:cat.jpg@fire5"):
        graph_targets(guide, net)


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.puts: list[str] = []

    def put(self, key: str, data: bytes) -> None:
        self.puts.append(key)
        super().put(key, data)


def test_graphs_are_exported_once_per_layers_and_size():
    net = load_network("squeezenet1_1")
    store = CountingStore()
    first = onnx_graph(net, ("fire3",), 24, 32, store)
    again = onnx_graph(net, ("fire3",), 24, 32, store)
    other = onnx_graph(net, ("fire3",), 32, 24, store)
    assert first == again and first != other
    assert len(store.puts) == 2 and all(key.startswith("onnx/squeezenet1_1-") for key in store.puts)


@pytest.mark.parametrize("target", ["onnx", "tensorrt"])
def test_exported_file_size_does_not_grow_with_the_image(target):
    """No activation-sized constant (a folded zeros for the scatter, a -inf border for the comparisons) in the file."""
    net = load_network("squeezenet1_1")
    small, large = (onnx_graph(net, ("fire5",), h, w, MemoryStore(), target) for h, w in ((24, 32), (96, 128)))
    assert abs(len(large) - len(small)) < 4096, (len(small), len(large))


def test_disk_store_round_trips_and_names_files_safely(tmp_path):
    store = DiskStore(tmp_path)
    key = "tensorrt/net-fire7-640x360-NVIDIA H100 80GB/HBM3.engine"
    assert store.get(key) is None
    store.put(key, b"plan")
    assert store.get(key) == b"plan"
    files = list(tmp_path.rglob("*"))
    assert [f.name for f in files if f.is_file()] == ["net-fire7-640x360-NVIDIA_H100_80GB_HBM3.engine"]
    assert not [f for f in files if f.name.startswith(".")]  # no temp file left behind


def _cli(argv: list[str]) -> int:
    """run.py's exit status, whether argparse exits or the command returns."""
    import run

    try:
        return run.main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)


def test_export_command_writes_a_graph_onnxruntime_runs_and_says_how_to_build_an_engine(tmp_path, capsys):
    from engine.export.tensorrt_rules import tensorrt_problems

    path = tmp_path / "graph.onnx"
    assert _cli(["export", "--network", "squeezenet1_1", "--layers", "fire5,fire3", "--size", "64x48",
                 "-o", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"trtexec --onnx={path} --fp16" in out and "channels  float32 [384]" in out
    data = path.read_bytes()
    assert tensorrt_problems(onnx.load_from_string(data)) == []
    net = load_network("squeezenet1_1")
    objective = parse_objective("fire5:3", net)
    targets = graph_targets(objective + 0.0 * parse_objective("fire3", net), net)
    image = _image(48, 64)
    in_onnx = _run_onnx(data, image, targets.energy, targets.channel_weights)
    assert _relative_error(in_onnx, autograd_gradient(net, objective)(image)) < TOLERANCE
    assert [f.name for f in tmp_path.iterdir()] == ["graph.onnx"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--layers", "fire55"], "unknown layer of squeezenet1_1 'fire55' (did you mean 'fire5'?)"),
        (["--network", "squeezenet"], "unknown network 'squeezenet' (did you mean 'squeezenet1_1'?)"),
        (["--size", "12x48"], "width must be between 16 and 7680, got 12"),
        (["--size", "16x48"], "size 16x48 is too small for squeezenet1_1: both sides must be at least 17 px"),
        (["--target", "trt"], "unknown export target 'trt' (did you mean 'tensorrt'?)"),
        (["-o", "{tmp}"], "is a directory, expected a file name such as"),
        (["-o", "{tmp}/missing/graph.onnx"], "output folder does not exist"),
    ],
)
def test_export_command_refuses_bad_arguments_in_one_line_with_exit_2(tmp_path, capsys, arguments, message):
    argv = ["export", "--size", "64x48", "-o", str(tmp_path / "graph.onnx")]
    argv += [part.replace("{tmp}", str(tmp_path)) for part in arguments]
    assert _cli(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert list(tmp_path.iterdir()) == []  # no file, no temp file


def test_export_command_leaves_no_partial_file_when_it_cannot_write_or_the_lint_fails(tmp_path, capsys, monkeypatch):
    import tempfile

    from engine.export import tensorrt_rules

    path = tmp_path / "graph.onnx"
    argv = ["export", "--layers", "fire2", "--size", "64x48", "-o", str(path)]

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as patch:  # the up-front write test (os.access says yes to root everywhere)
        patch.setattr(tempfile, "mkstemp", refuse)
        assert _cli(argv) == 2
    assert f"output folder is not writable: {tmp_path} (Permission denied)" in capsys.readouterr().err

    from installation.commands import export as export_command

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:  # the write itself fails after the checks passed
        patch.setattr(export_command, "atomic_write_bytes", full_disk)
        assert _cli(argv) == 2
    assert f"cannot write {path}: No space left on device" in capsys.readouterr().err
    with monkeypatch.context() as patch:
        patch.setattr(tensorrt_rules, "tensorrt_problems", lambda model: ["MaxPool node 'p': has 2 outputs"])
        assert _cli(argv) == 2
    assert "breaks 1 TensorRT restriction(s), expected none" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
