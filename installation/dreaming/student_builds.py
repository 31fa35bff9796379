"""Faster runs of a look's student, built per frame size on a thread of their own: torch.compile and TensorRT.

A build takes seconds to minutes (torch.compile of the student on the 2-core CPU: 17.7 s the first
time, 1-3 s from Inductor's on-disk cache; a TensorRT engine: tens of seconds, then loaded from
`cache/tensorrt/`). The show must not stop for it, and the size governor must not read a stalled
frame as a slow machine, so the student runs as before (torch eager, or its bf16 copy) until the
build for the frame's size is ready, then the built one takes over. One build at a time, at most
MAX_SIZES sizes; a build that fails is logged once and that size stays on the eager student.
`prepare` builds a size on the caller's thread (the bench does, so it times the built runner).

- compile: `torch.compile` of the student as the eager path runs it (the bf16 copy included), fixed
  shapes; on the CPU with Inductor's freezing (weights folded as constants, oneDNN's prepacked
  convolutions). Measured on the AMX machine, a pass at 1280x720: 25.5 ms against 31.3 eager in
  fp32, 12.9 against 20.3 in bf16; 640x360: 6.7 against 7.8, 3.2 against 4.3. No CUDA graphs
  ("reduce-overhead"): they are recorded per thread, and the build runs on another thread than the
  show's (not measured here: no GPU).
- tensorrt: an FP16 engine of the student's exported graph (engine.export.student, linted for
  TensorRT), cached by the student's weights, size, GPU and TensorRT version, run on torch's CUDA
  memory by address (engine.backends.tensorrt_engine). Tested against a fake TensorRT that runs the
  graph in ONNX Runtime: no TensorRT installs here.
"""

from __future__ import annotations

import atexit
import copy
import logging
import threading
import time
from collections.abc import Callable
from types import ModuleType

import torch
from torch import Tensor, nn

from engine.backends import tensorrt_engine
from engine.export.store import BlobStore
from engine.export.student import INPUT_NAME, OUTPUT_NAME, export_student
from engine.student import StudentNet
from installation.distill.student_file import weights_digest

log = logging.getLogger(__name__)

MAX_SIZES = 4  # sizes built per student: the size governor's steps and a panorama's, not every size a knob passes
Pass = Callable[[Tensor], Tensor]
Build = Callable[[tuple[int, ...], torch.dtype], Pass]
"""(frame shape, frame dtype) -> a pass for frames of exactly that shape and dtype (built now, on this thread)."""


_RUNNING: set[threading.Thread] = set()
_EXITING = threading.Event()  # set at exit: a build cut short then (Inductor's pool refuses work) is no news


def on_a_thread(job: Callable[[], None]) -> None:
    """Run `job` on a thread of its own, which the interpreter waits for at exit (finish_builds)."""
    thread = threading.Thread(target=job, name="student-build", daemon=True)
    _RUNNING.add(thread)
    thread.start()


@atexit.register
def finish_builds() -> None:
    """Wait for a build still running: the interpreter torn down under torch.compile crashes (measured: exit
    status 139 when a process ended 3 s into a compile; 0 when it waited: Inductor's pool then refuses new work
    and the build ends within a second). A daemon thread, so the wait comes here, after the app has stopped and
    said so, with a line that says why the exit takes a moment."""
    _EXITING.set()
    for thread in list(_RUNNING):
        if thread.is_alive():
            log.info("waiting for the student's build to finish before exiting")
            thread.join()
        _RUNNING.discard(thread)


class BuiltPerSize(nn.Module):
    """Runs `eager` until `build` has made a pass for the frame's shape on a thread of its own, then that pass."""

    def __init__(self, eager: nn.Module, build: Build, name: str, eager_name: str = "torch",
                 built_name: str | None = None,
                 start: Callable[[Callable[[], None]], None] = on_a_thread) -> None:  # fmt: skip
        """`name`: the build's, in the log; `eager_name` and `built_name` (default `name`): what runs before and
        after it, on the HUD."""
        super().__init__()
        self.eager = eager
        self.eager_name, self.built_name = eager_name, built_name or name
        self.shape = eager.shape
        self.name = name
        self._build = build
        self._start = start
        self._lock = threading.Lock()
        self._built: dict[tuple[object, ...], Pass] = {}
        self._failed: set[tuple[object, ...]] = set()
        self._building: tuple[object, ...] | None = None
        self.generation = 0  # builds ended (ready or failed): the pass that runs, and its speed, may have changed
        self._last: tuple[tuple[int, ...], torch.dtype] | None = None  # the last frame's shape and dtype

    @staticmethod
    def _key(shape: tuple[int, ...], dtype: torch.dtype) -> tuple[object, ...]:
        return (*shape, dtype)

    def describe(self) -> str:
        """What runs frames of the last frame's shape now, for the HUD and the status file."""
        if self._last is None:
            return self.eager_name
        shape, dtype = self._last
        key, size = self._key(shape, dtype), f"{shape[-1]}x{shape[-2]}"
        with self._lock:
            if key in self._built:
                return self.built_name
            if key in self._failed:
                return f"{self.eager_name} (the {self.name} build for {size} failed)"
            if key == self._building:
                return f"{self.eager_name} while {self.name} builds {size}"
            if len(self._built) + len(self._failed) >= MAX_SIZES:
                return f"{self.eager_name} ({self.name} built {MAX_SIZES} other sizes)"
            return self.eager_name

    def built(self, shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> bool:
        return self._key(shape, dtype) in self._built

    def prepare(self, shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> bool:
        """Build for `shape` now, on this thread (unless built or failed); True when the built pass will run."""
        key = self._key(shape, dtype)
        with self._lock:
            if key in self._built or key in self._failed:
                return key in self._built
            self._building = key
        self._make(key, shape, dtype)
        return key in self._built

    def _make(self, key: tuple[object, ...], shape: tuple[int, ...], dtype: torch.dtype) -> None:
        size = f"{shape[-1]}x{shape[-2]}"
        began = time.monotonic()
        try:
            made = self._build(shape, dtype)
        except Exception as error:  # noqa: BLE001 - any failure of a compiler or builder leaves the eager student
            first = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
            say = log.debug if _EXITING.is_set() else log.warning
            say("the student's %s build for %s failed (%s: %s); it runs in torch eager at that size",
                self.name, size, type(error).__name__, first)  # fmt: skip
            with self._lock:
                self._failed.add(key)
                self._building = None
                self.generation += 1
            return
        log.info("the student's %s build for %s is ready after %.1f s", self.name, size, time.monotonic() - began)
        with self._lock:
            self._built[key] = made
            self._building = None
            self.generation += 1

    def forward(self, image: Tensor) -> Tensor:
        shape, dtype = tuple(int(v) for v in image.shape), image.dtype
        key = self._key(shape, dtype)
        self._last = (shape, dtype)
        with self._lock:
            made = self._built.get(key)
            start = (made is None and self._building is None and key not in self._failed
                     and len(self._built) + len(self._failed) < MAX_SIZES)  # fmt: skip
            if start:
                self._building = key
        if start:
            log.info("building the student's %s pass for %sx%s on a thread of its own; torch eager runs until then",
                     self.name, shape[-1], shape[-2])  # fmt: skip
            self._start(lambda: self._make(key, shape, dtype))
        return made(image) if made is not None else self.eager(image)


def compiled_build(module: nn.Module, device: torch.device) -> Build:
    """torch.compile of `module` (the student as it runs eagerly) for one shape, compiled by running it once."""

    def build(shape: tuple[int, ...], dtype: torch.dtype) -> Pass:
        options = {"freezing": True} if device.type == "cpu" else None
        compiled = torch.compile(copy.deepcopy(module), dynamic=False, fullgraph=True, options=options)
        with torch.no_grad():
            compiled(torch.rand(shape, device=device).to(dtype))

        def run(image: Tensor) -> Tensor:
            with torch.no_grad():
                return compiled(image)

        return run

    return build


class TensorRTStudentBuild(tensorrt_engine.CudaTouchPoints):
    """The student's FP16 TensorRT engine per size, cached in `store` (one frame a run: the graph's batch is 1)."""

    def __init__(self, net: StudentNet, device: torch.device, store: BlobStore, trt: ModuleType) -> None:
        self.net = copy.deepcopy(net).cpu().float().eval()  # export moves and casts what it is given
        self.digest = weights_digest(self.net.state_dict())
        self.device, self.store, self.trt = device, store, trt
        self.runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))

    def engine_key(self, height: int, width: int) -> str:
        graph = f"student-{self.digest}-{width}x{height}"
        return tensorrt_engine.engine_key(graph, self._gpu_name(), self.trt.__version__)

    def __call__(self, shape: tuple[int, ...], dtype: torch.dtype) -> Pass:
        height, width = shape[-2], shape[-1]
        one = (1, 3, height, width)
        with self._on_device():
            context = tensorrt_engine.load_or_build(
                self.trt, self.runtime, self.store, self.engine_key(height, width),
                lambda: export_student(self.net, height, width, lint=False),
                {INPUT_NAME: one, OUTPUT_NAME: one}, "the student's graph")  # fmt: skip

        def run(image: Tensor) -> Tensor:
            frames = image.float().contiguous()
            detail = torch.empty_like(frames)
            with self._on_device():
                for i in range(frames.shape[0]):
                    tensors = {INPUT_NAME: frames[i : i + 1], OUTPUT_NAME: detail[i : i + 1]}
                    tensorrt_engine.run_engine(context, tensors, self._stream_handle())
            return detail.to(image.dtype)

        return run
