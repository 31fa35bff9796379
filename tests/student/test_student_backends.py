"""A preset's backend decides where its student runs: torch, or ONNX Runtime from the exported graph."""

from __future__ import annotations

import logging

import pytest
import torch

from engine.backends import compiled
from engine.student import StudentNet
from installation.dreaming.student_backends import Bf16Student, OnnxStudent, student_runner
from installation.dreaming.student_builds import BuiltPerSize
from tests.student.helpers import TINY


def a_student() -> StudentNet:
    torch.manual_seed(0)
    net = StudentNet(TINY).eval()
    torch.nn.init.normal_(net.out.weight, std=0.2)
    return net


def test_onnx_runtime_dreams_what_torch_dreams_at_each_size_with_one_session_per_size() -> None:
    net = a_student()
    runner = OnnxStudent(net, threads=1)
    for height, width in ((36, 64), (37, 70), (36, 64)):
        frames = torch.rand(2, 3, height, width)
        with torch.no_grad():
            want = net(frames)
        got = runner(frames)
        assert got.shape == want.shape and got.abs().mean() > 0
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    assert len(runner._sessions) == 2
    assert next(net.parameters()).device.type == "cpu"  # the export worked on a copy


@pytest.mark.parametrize(("backend", "runs"), [("auto", "torch"), ("torch", "torch"), ("onnx", "onnx"),
                                               ("compile", "compile (torch)"), ("tensorrt", "torch")])  # fmt: skip
def test_the_presets_backend_picks_the_runner(backend: str, runs: str, caplog: pytest.LogCaptureFixture,
                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(compiled, "missing", lambda device: None)  # as where g++ is installed
    net = a_student()
    with caplog.at_level(logging.INFO):
        runner, name = student_runner(net, backend, torch.device("cpu"))
    assert name == runs
    if runs == "onnx":
        assert isinstance(runner, OnnxStudent)
    elif runs.startswith("compile"):
        assert isinstance(runner, BuiltPerSize) and runner.eager is net
    else:
        assert runner is net
    if runs != "onnx":  # in channels_last, where the CPU's convolutions are fastest
        assert net.fold.weight.is_contiguous(memory_format=torch.channels_last)
    if backend == "tensorrt":  # said once, in the log, with the reason
        assert "the student runs in torch: tensorrt needs CUDA and the tensorrt package" in caplog.text


def test_compile_without_a_compiler_leaves_the_torch_student_and_says_why(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(compiled, "missing", lambda device: "torch.compile on the CPU needs a C++ compiler (g++)")
    net = a_student()
    with caplog.at_level(logging.WARNING):
        runner, name = student_runner(net, "compile", torch.device("cpu"), compute="bf16")
    assert name == "torch bf16" and isinstance(runner, Bf16Student)
    assert "the student runs in torch bf16: torch.compile on the CPU needs a C++ compiler" in caplog.text


@pytest.mark.parametrize(("backend", "runs"), [("auto", "torch bf16"), ("torch", "torch bf16"), ("onnx", "onnx")])
def test_bf16_arithmetic_runs_the_torch_student_in_bf16(backend: str, runs: str) -> None:
    """ONNX Runtime's graph stays fp32 (the compute is the torch student's), and the given student is not changed."""
    net = a_student()
    runner, name = student_runner(net, backend, torch.device("cpu"), compute="bf16")
    assert name == runs
    frames = torch.rand(1, 3, 36, 64)
    with torch.no_grad():
        got = runner(frames)
        want = net(frames)
    assert got.dtype == torch.float32 and next(net.parameters()).dtype == torch.float32
    assert float((got - want).norm() / want.norm()) < (0.02 if runs == "torch bf16" else 1e-4)
