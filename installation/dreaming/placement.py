"""Where the live dream runs and in what precision: `--device` and a preset's `precision`.

The show runs where the hardware is: `auto` takes CUDA when torch sees a GPU, else the
CPU. Precision `auto` is fp16 on CUDA (tensor cores, half the memory traffic) and fp32
on the CPU (x86 CPUs have no fast fp16 arithmetic). fp16 asked for on a CPU is refused
at start (exit 2: the technician is there to read it) and, from a hot-reloaded preset,
becomes a notice and fp32 (nobody may be there; the show goes on).

bf16 is the CPU's half precision: the frames and weights stay fp32 and only the
network's arithmetic runs in bfloat16 (Placement.compute), so the dtype stays float32.
On the CPU `auto` takes it where the processor runs it natively and a start-up probe
finds it faster (installation.dreaming.cpu_precision); asked for without native
support it is refused like fp16 on a CPU.

`cuda_count` is injectable so the rules are tested on machines without a GPU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from engine.errors import DreamwallError, did_you_mean

DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N")
PRECISION_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.float32}  # bf16: fp32 frames
CountFn = Callable[[], int]


def _cuda_count() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _why_no_cuda() -> str:
    if torch.version.cuda is None:
        return f"this torch ({torch.__version__}) is built without CUDA"
    return f"torch {torch.__version__} (CUDA {torch.version.cuda}) finds no GPU (driver missing or no device visible)"


@dataclass(frozen=True)
class Placement:
    """The device and dtype every network, frame and per-frame operation of the show uses."""

    device: torch.device
    dtype: torch.dtype
    reason: str  # why this device, for the log, the HUD and the status file
    compute: str | None = None  # the network's arithmetic when it differs from dtype ("bf16")
    precision_reason: str = ""  # why this precision, e.g. "bf16: 20.8 vs 39.6 ms/step (avx512_bf16)"

    @property
    def precision(self) -> str:
        if self.compute is not None:
            return self.compute
        return "fp16" if self.dtype == torch.float16 else "fp32"

    def describe(self) -> str:
        return f"{self.device} {self.precision}"


def resolve_device(spec: str = "auto", cuda_count: CountFn = _cuda_count) -> tuple[torch.device, str]:
    """(device, reason) for `--device`; a CUDA device that is not here is a DreamwallError naming what is missing."""
    text = spec.strip().lower()
    if text == "auto":
        count = cuda_count()
        if count > 0:
            return torch.device("cuda", 0), f"auto: CUDA found ({_gpu_name(0)})"
        return torch.device("cpu"), "auto: no CUDA GPU, dreaming on the CPU"
    if text == "cpu":
        return torch.device("cpu"), "cpu as asked"
    if text == "cuda" or text.startswith("cuda:"):
        index_text = text.partition(":")[2] or "0"
        if not index_text.isdigit():
            raise DreamwallError(f"device '{spec}' must be cuda or cuda:N with N a GPU index, e.g. cuda:0")
        index, count = int(index_text), cuda_count()
        if count == 0:
            raise DreamwallError(f"device '{spec}' asked for, but there is no CUDA GPU: {_why_no_cuda()}")
        if index >= count:
            raise DreamwallError(f"device '{spec}' does not exist: this machine has {count} CUDA GPU(s), "
                                 f"cuda:0 to cuda:{count - 1}")  # fmt: skip
        return torch.device("cuda", index), f"{text} as asked ({_gpu_name(index)})"
    raise DreamwallError(f"unknown device '{spec}'{did_you_mean(text, ('auto', 'cpu', 'cuda'))}; "
                         f"choose from: {', '.join(DEVICE_CHOICES)}")  # fmt: skip


def _gpu_name(index: int) -> str:
    try:
        return torch.cuda.get_device_name(index)
    except (RuntimeError, AssertionError):  # injected counts in tests: no real GPU to name
        return f"GPU {index}"


def resolve_precision(precision: str, device: torch.device, where: str, strict: bool,
                      bf16_native: str | None = None) -> tuple[torch.dtype, str | None]:  # fmt: skip
    """(dtype, notice) for a preset's `precision` on `device`.

    strict (at start): fp16 on a CPU raises, so does bf16 on a CPU without native bf16
    (`bf16_native`: the CPU flag that has it, None when missing) or on CUDA. Not strict
    (a hot reload): fp32 and a notice saying so. bf16 accepted is float32 frames too;
    the caller tells it apart by the absent notice.
    """
    if precision == "auto":
        return (torch.float16 if device.type == "cuda" else torch.float32), None
    if precision not in PRECISION_DTYPES:
        raise DreamwallError(f"{where}: unknown precision '{precision}'{did_you_mean(precision, PRECISION_DTYPES)}; "
                             f"choose from: auto, {', '.join(PRECISION_DTYPES)}")  # fmt: skip
    if precision == "fp16" and device.type != "cuda":
        message = f"{where}: precision fp16 needs a CUDA GPU; this show runs on {device}"
        if strict:
            raise DreamwallError(f"{message} (use precision auto or fp32)")
        return torch.float32, f"{message}: dreaming in fp32"
    if precision == "bf16" and (device.type != "cpu" or bf16_native is None):
        message = (f"{where}: precision bf16 is for CPUs; on {device} use fp16" if device.type != "cpu" else
                   f"{where}: precision bf16 needs a CPU with native bfloat16 (avx512_bf16 or amx_bf16); "
                   "this one has neither")  # fmt: skip
        if strict:
            raise DreamwallError(f"{message} (use precision auto or fp32)")
        return torch.float32, f"{message}: dreaming in fp32"
    return PRECISION_DTYPES[precision], None
