"""On a CUDA GPU (skipped elsewhere): the live path in fp16 on the device, parity with the CPU path.

The logic of the device path is tested on the CPU (test_device_path.py); these check what only
a GPU can: that the CUDA code runs, keeps one host copy per frame, and agrees with fp32.
"""

import time

import numpy as np
import pytest
import torch

from engine.compose import compose, compose_host
from engine.imageops import resize, to_uint8
from engine.objectives import parse_objective
from engine.step import autograd_gradient
from installation.dreaming.looks import NetworkCache
from installation.dreaming.settings import DreamSettings
from installation.dreaming.worker import DreamWorker
from installation.sources.capture import Frame

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]
CUDA = torch.device("cuda", 0)


class Frames:
    def __init__(self, count: int, size: tuple[int, int]) -> None:
        rng = np.random.default_rng(0)
        self.frames = [Frame(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), i + 1, float(i))
                       for i in range(count)]  # fmt: skip

    def wait_newer(self, after_seq: int, timeout: float | None = None) -> Frame | None:
        if after_seq < len(self.frames):
            return self.frames[after_seq]
        time.sleep(0.01)
        return None


def test_the_worker_dreams_on_the_gpu_in_fp16_with_one_download_per_frame() -> None:
    net = NetworkCache().get("squeezenet1_1", CUDA, torch.float16)
    settings = DreamSettings(net=net, objective=parse_objective("fire5", net), process_size=(320, 180),
                             device=CUDA, dtype=torch.float16)  # fmt: skip
    worker = DreamWorker(Frames(6, (640, 360)), settings)
    worker.set_output_size((1280, 720))
    with worker:
        deadline = time.monotonic() + 60
        while worker.health().frames < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
    link = worker.host_link
    assert worker.health().frames == 6 and worker.health().errors == 0
    assert link is not None and link.uploads == 6 and link.downloads == 6
    dream = worker.latest()
    assert dream is not None and dream.image.shape == (720, 1280, 3)


def test_fp16_gradient_points_where_fp32_does() -> None:
    fp32 = NetworkCache().get("squeezenet1_1", CUDA, torch.float32)
    fp16 = NetworkCache().get("squeezenet1_1", CUDA, torch.float16)
    image = torch.rand(1, 3, 180, 320, device=CUDA, generator=torch.Generator(CUDA).manual_seed(0))
    reference = autograd_gradient(fp32, parse_objective("fire7", fp32))(image)
    half = autograd_gradient(fp16, parse_objective("fire7", fp16))(image.half()).float()
    assert torch.nn.functional.cosine_similarity(half.flatten(), reference.flatten(), dim=0) >= 0.99


def test_device_composition_equals_the_cpu_one_within_a_level() -> None:
    camera = (torch.rand(1, 3, 720, 1280) * 255).round() / 255
    source = resize(camera, 180, 320)
    dreamed = (source + 0.1 * torch.randn(source.shape)).clamp(0, 1)
    on_gpu = to_uint8(compose(dreamed.to(CUDA), source.to(CUDA), camera.to(CUDA), (1280, 720))).astype(int)
    on_cpu = compose_host(dreamed, source, to_uint8(camera), (1280, 720)).astype(int)
    assert np.abs(on_gpu - on_cpu).max() <= 1
