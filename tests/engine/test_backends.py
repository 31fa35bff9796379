"""Backends: same call, same gradient as autograd, clear refusals, auto's choice and reason."""

from __future__ import annotations

import shutil

import pytest
import torch

from engine.backends import AUTO, BACKENDS, RANKING, OnnxBackend, TorchBackend, create_backend, missing, select_backend
from engine.backends.tensorrt_engine import TensorRTBackend, import_tensorrt
from engine.errors import DreamwallError
from engine.export.store import MemoryStore
from engine.networks import load_network
from engine.objectives import ClassLogit, parse_objective
from engine.step import StepParams, autograd_gradient, dream_step

HEIGHT, WIDTH = 36, 52
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def net():
    return load_network("squeezenet1_1")


@pytest.fixture(scope="module")
def image():
    return torch.rand(1, 3, HEIGHT, WIDTH, generator=torch.Generator().manual_seed(3))


def _close(actual: torch.Tensor, expected: torch.Tensor) -> bool:
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    return float((actual - expected).abs().max() / expected.abs().max()) < TOLERANCE


def test_unknown_backend_names_the_choices_with_a_suggestion(net):
    with pytest.raises(DreamwallError, match=r"unknown backend 'tensorrtt' \(did you mean 'tensorrt'\?\); choose from"):
        select_backend("tensorrtt", net, parse_objective("fire3", net), (WIDTH, HEIGHT))


@pytest.mark.skipif(torch.cuda.is_available() and import_tensorrt() is not None, reason="tensorrt can run here")
def test_tensorrt_refuses_in_one_line_naming_what_is_missing(net):
    objective = parse_objective("fire3", net)
    with pytest.raises(DreamwallError) as caught:
        select_backend("tensorrt", net, objective, (WIDTH, HEIGHT), "cuda" if torch.cuda.is_available() else "cpu")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("backend 'tensorrt' cannot run here: ")
    if not torch.cuda.is_available():
        assert "no CUDA GPU" in message
    if import_tensorrt() is None:
        assert "tensorrt is not installed" in message
    with pytest.raises(DreamwallError, match="cannot run here"):
        TensorRTBackend(net, objective, "cpu")


def test_every_backend_that_runs_here_matches_autograd_and_switches_objectives(net, image):
    first, second = parse_objective("fire5", net), parse_objective({"fire5:7,9": 1.0, "fire3": -0.5}, net)
    store = MemoryStore()
    runnable = [name for name in BACKENDS if missing(name, "cpu") is None and name != "compile"]
    assert {"torch", "onnx"} <= set(runnable)
    for name in runnable:
        backend = create_backend(name, net, first, "cpu", store)
        assert backend.name == name and backend.note == ""
        assert _close(backend.gradient(image), autograd_gradient(net, first)(image)), name
        backend.set_objective(second)
        assert _close(backend.gradient(image), autograd_gradient(net, second)(image)), name


def test_onnx_reuses_one_graph_for_objectives_on_the_same_layers(net, image):
    store = MemoryStore()
    backend = OnnxBackend(net, parse_objective("fire5:1", net), "cpu", store)
    backend.gradient(image)
    for spec in ("fire5:2", "fire5", {"fire5:4": 3.0}):
        backend.set_objective(parse_objective(spec, net))
        expected = autograd_gradient(net, parse_objective(spec, net))(image)
        assert _close(backend.gradient(image), expected), spec
    assert len(store._blobs) == 1  # one exported file for all four objectives


def test_class_objective_falls_back_to_autograd_and_says_so(net, image):
    objective = ClassLogit(281, "tabby")
    backend, reason = select_backend("onnx", net, objective, (WIDTH, HEIGHT), "cpu", MemoryStore())
    assert "class:tabby" in reason and "autograd" in reason and "class:tabby" in backend.note
    assert _close(backend.gradient(image), autograd_gradient(net, objective)(image))
    auto, auto_reason = select_backend(AUTO, net, objective, (WIDTH, HEIGHT), "cpu")
    assert isinstance(auto, TorchBackend)
    assert auto_reason.startswith("auto chose torch") and "class:tabby" in auto_reason


def test_auto_takes_the_first_runnable_backend_of_the_ranking_and_says_what_it_skipped(net):
    backend, reason = select_backend(AUTO, net, parse_objective("fire3", net), (WIDTH, HEIGHT), "cpu", MemoryStore())
    first = next(name for name in RANKING["cpu"] if missing(name, "cpu") is None)
    assert backend.name == first  # the CPU ranking measured by the backends bench
    assert reason.startswith(f"auto chose {first} (cpu fp32") and "fastest" in reason


def test_backend_gradient_plugs_into_dream_step_and_raises_the_objective(net, image):
    objective = parse_objective("fire5", net)
    backend, _ = select_backend(AUTO, net, objective, (WIDTH, HEIGHT), "cpu", MemoryStore())
    params = StepParams(lr=0.02, jitter=4)
    generator = torch.Generator().manual_seed(0)
    dreamed = image
    for _ in range(3):
        dreamed = dream_step(net, dreamed, objective, params, generator, gradient=backend.gradient)
    with torch.no_grad():
        before = objective(net.forward_to(image, objective.layers))
        after = objective(net.forward_to(dreamed, objective.layers))
    assert after > before
    assert dreamed.shape == image.shape and float(dreamed.min()) >= 0 and float(dreamed.max()) <= 1


@pytest.mark.skipif(not shutil.which("g++"), reason="torch.compile on the CPU needs a C++ compiler")
def test_compile_backend_matches_autograd_on_a_shallow_layer(net):
    """Shallow and tiny, so Inductor's CPU build stays short."""
    small = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(5))
    objective = parse_objective("conv1", net)
    backend = create_backend("compile", net, objective, "cpu", MemoryStore())
    assert _close(backend.gradient(small), autograd_gradient(net, objective)(small))


def test_torch_backend_keeps_nchw_for_the_first_layer_alone_and_changes_layout_with_the_objective(net, image):
    stem, deeper = parse_objective("conv1", net), parse_objective("fire3", net)
    backend = TorchBackend(net, stem)
    assert not backend.channels_last  # a 3-channel image: channels_last only costs conversions
    assert _close(backend.gradient(image), autograd_gradient(net, stem)(image))
    backend.set_objective(deeper)
    assert backend.channels_last and next(backend.net.parameters()).is_contiguous(memory_format=torch.channels_last)
    assert _close(backend.gradient(image), autograd_gradient(net, deeper)(image))
    backend.set_objective(stem)
    assert not backend.channels_last and _close(backend.gradient(image), autograd_gradient(net, stem)(image))
    assert TorchBackend(net, stem, channels_last=True).channels_last  # asked for: kept
