"""The student's built runs (torch.compile, TensorRT): the eager student dreams until the frame's size is built on
a thread of its own, then the built pass; a failed build stays eager; TensorRT against a fake engine."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import onnx
import pytest
import torch
from torch import Tensor

from engine.backends import tensorrt_engine
from engine.errors import DreamwallError
from engine.export.store import MemoryStore
from engine.export.tensorrt_rules import tensorrt_problems
from engine.student import StudentNet
from installation.distill.student_file import weights_digest
from installation.dreaming import student_builds
from installation.dreaming.student_builds import BuiltPerSize, TensorRTStudentBuild, compiled_build
from tests.fake_tensorrt import PLAN_PREFIX, CpuTouchPoints, fake_tensorrt
from tests.student.helpers import TINY


def a_student() -> StudentNet:
    torch.manual_seed(0)
    net = StudentNet(TINY).eval()
    torch.nn.init.normal_(net.out.weight, std=0.2)
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    return net


class Later:
    """Starts nothing: keeps the build jobs for the test to run when it chooses (a thread that has not finished)."""

    def __init__(self) -> None:
        self.jobs: list[Callable[[], None]] = []

    def __call__(self, job: Callable[[], None]) -> None:
        self.jobs.append(job)


def test_eager_dreams_until_the_size_is_built_then_the_built_pass_and_one_build_at_a_time() -> None:
    net = a_student()
    built: list[tuple[int, ...]] = []

    def build(shape: tuple[int, ...], dtype: torch.dtype) -> Callable[[Tensor], Tensor]:
        built.append(shape)
        return lambda image: torch.full_like(image, 0.5)

    later = Later()
    runner = BuiltPerSize(net, build, "compile", "torch bf16", "compile (torch bf16)", start=later)
    small, large = torch.rand(1, 3, 36, 64), torch.rand(1, 3, 40, 72)
    assert runner.describe() == "torch bf16"  # no frame yet
    with torch.no_grad():
        want = net(small)
        for _ in range(3):  # the build has not run: the eager student dreams, and no second build starts
            torch.testing.assert_close(runner(small), want)
        assert runner.describe() == "torch bf16 while compile builds 64x36"  # what the HUD and status file say
        runner(large)
    assert runner.describe() == "torch bf16"  # this size waits for the other's build
    assert len(later.jobs) == 1 and built == []
    later.jobs.pop()()
    assert built == [(1, 3, 36, 64)] and runner.built((1, 3, 36, 64))
    assert float(runner(small).mean()) == 0.5  # the built pass now
    assert runner.describe() == "compile (torch bf16)"
    runner(large)  # the next size starts building only now
    assert len(later.jobs) == 1


def test_a_failed_build_is_said_once_and_that_size_stays_eager(caplog: pytest.LogCaptureFixture) -> None:
    net = a_student()
    calls = []

    def build(shape: tuple[int, ...], dtype: torch.dtype) -> Callable[[Tensor], Tensor]:
        calls.append(shape)
        raise RuntimeError("C++ compile error: cannot find -lgomp\nmore detail")

    runner = BuiltPerSize(net, build, "compile", start=lambda job: job())
    frames = torch.rand(1, 3, 36, 64)
    with caplog.at_level(logging.WARNING), torch.no_grad():
        for _ in range(3):
            torch.testing.assert_close(runner(frames), net(frames))
    assert len(calls) == 1 and runner.describe() == "torch (the compile build for 64x36 failed)"
    assert caplog.text.count("the student's compile build for 64x36 failed (RuntimeError: C++ compile error: "
                             "cannot find -lgomp); it runs in torch eager at that size") == 1


def test_only_max_sizes_are_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(student_builds, "MAX_SIZES", 2)
    built = []
    runner = BuiltPerSize(a_student(), lambda shape, dtype: built.append(shape) or (lambda image: image),
                          "test", start=lambda job: job())  # fmt: skip
    with torch.no_grad():
        for width in (64, 72, 80, 88):
            runner(torch.rand(1, 3, 36, width))
    assert [shape[-1] for shape in built] == [64, 72]
    assert runner.describe() == "torch (test built 2 other sizes)"


@pytest.mark.skipif(not shutil.which("g++"), reason="torch.compile on the CPU needs a C++ compiler")
def test_the_compiled_student_dreams_what_the_eager_student_dreams() -> None:
    net = a_student().to(memory_format=torch.channels_last)
    runner = BuiltPerSize(net, compiled_build(net, torch.device("cpu")), "compile")
    frames = torch.rand(1, 3, 36, 64)
    assert runner.prepare(tuple(frames.shape))
    with torch.no_grad():
        got, want = runner(frames), net(frames)
    assert float(want.abs().mean()) > 0
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


class CpuTensorRTStudent(CpuTouchPoints, TensorRTStudentBuild):
    pass


def test_tensorrt_builds_the_linted_student_graph_once_caches_it_and_binds_frames_by_address(
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    fake, runtime = fake_tensorrt()
    graphs: list[bytes] = []

    def build(trt: object, data: bytes, what: str) -> bytes:
        assert what == "the student's graph"
        graphs.append(data)
        return PLAN_PREFIX + data

    monkeypatch.setattr(tensorrt_engine, "build_engine", build)
    net, store = a_student(), MemoryStore()
    runner = BuiltPerSize(net, CpuTensorRTStudent(net, torch.device("cpu"), store, fake), "tensorrt")
    frames = torch.rand(2, 3, 37, 70)  # a batch runs frame by frame: the engine's batch is 1
    assert runner.prepare(tuple(frames.shape))
    with torch.no_grad():
        got, want = runner(frames), net(frames)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    assert len(graphs) == 1 and tensorrt_problems(onnx.load_from_string(graphs[0])) == []
    context = runtime.engines[-1].contexts[-1]
    assert set(context.addresses) == {"frame", "detail"} and context.streams == [4321, 4321]
    key = CpuTensorRTStudent(net, torch.device("cpu"), store, fake).engine_key(37, 70)
    for part in ("student", weights_digest(net.state_dict()), "70x37", "Fake GPU 80GB/HBM3", "trt10.16.1.11", "fp16"):
        assert part in key
    assert store.get(key) == PLAN_PREFIX + graphs[0]
    again = BuiltPerSize(net, CpuTensorRTStudent(net, torch.device("cpu"), store, fake), "tensorrt")
    assert again.prepare(tuple(frames.shape)) and len(graphs) == 1  # a new process: loaded, not rebuilt
    # A cached engine whose tensors are not this graph's (another size) is refused, not run.
    other = CpuTensorRTStudent(net, torch.device("cpu"), store, fake)
    store.put(other.engine_key(36, 64), store.get(key))
    with pytest.raises(DreamwallError, match=r"has tensors .*'frame': \(1, 3, 37, 70\).* expected .*\(1, 3, 36, 64\)"):
        other((1, 3, 36, 64), torch.float32)


def test_the_interpreter_waits_for_a_build_at_exit(tmp_path: Path) -> None:
    """Leaving while a build runs (a still dreamt before its compile finished) waits for it and exits cleanly."""
    marker = tmp_path / "built"
    program = textwrap.dedent(f"""
        import logging, sys, time
        import torch
        from installation.dreaming.student_builds import BuiltPerSize
        from engine.student import StudentNet
        from engine.student.model import StudentShape
        logging.basicConfig(level=logging.INFO, stream=sys.stdout)

        def build(shape, dtype):
            time.sleep(1.0)
            open({str(marker)!r}, "w").write("done")
            return lambda image: image

        with torch.no_grad():
            BuiltPerSize(StudentNet(StudentShape(4, 8, 1)), build, "slow")(torch.rand(1, 3, 16, 16))
        print("leaving", flush=True)
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "done"
    assert done.stdout.index("leaving") < done.stdout.index("waiting for the student's build to finish before exiting")
