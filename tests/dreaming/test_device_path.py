"""The worker's per-frame path on "the device": placement from settings, one upload and one host copy per frame.

There is no GPU here, so "the device" is marked: every tensor that comes out of the
upload is a `DeviceTensor`, and everything computed from it stays one (torch propagates
subclasses through every op). Any operation that would bring device data to the host
(`.cpu()`, `.item()`, `float(t)`, `.tolist()`, `bool(t)`) is counted. On CUDA each of
those is a copy or a sync; the rule is exactly one per shown frame: the uint8 download.
"""

from __future__ import annotations

import time
from typing import ClassVar

import cv2
import numpy as np
import pytest
import torch

from engine.attract import AttractParams
from engine.masks import MaskParams
from engine.networks import DreamNet, load_network
from engine.objectives import parse_objective
from engine.step import StepParams
from engine.temporal import FeedbackParams
from installation.dreaming.host_link import HostLink
from installation.dreaming.looks import NetworkCache
from installation.dreaming.settings import DreamSettings
from installation.dreaming.worker import DreamWorker
from installation.testing.feeds import ListFeed

pytestmark = pytest.mark.usefixtures("one_torch_thread")
# .numpy() is not here: on a CUDA tensor it raises, so it can only follow a counted .cpu()
HOST_READS = {torch.Tensor.cpu, torch.Tensor.item, torch.Tensor.tolist, torch.Tensor.__float__,
              torch.Tensor.__int__, torch.Tensor.__bool__}  # fmt: skip


class DeviceTensor(torch.Tensor):
    reads: ClassVar[list[str]] = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in HOST_READS:
            cls.reads.append(func.__name__)
        return super().__torch_function__(func, types, args, kwargs or {})


def moving_frames(count: int, size: tuple[int, int] = (128, 72)) -> list[np.ndarray]:
    """A textured picture panning right, so flow, motion and feedback all have work to do."""
    rng = np.random.default_rng(3)
    wide = cv2.GaussianBlur(rng.integers(0, 256, (size[1], size[0] + 4 * count, 3)).astype(np.uint8), (5, 5), 1.5)
    return [np.ascontiguousarray(wide[:, 4 * i:4 * i + size[0]]) for i in range(count)]


def run_frames(settings: DreamSettings, frames: list[np.ndarray], output: tuple[int, int] | None) -> DreamWorker:
    worker = DreamWorker(ListFeed(frames), settings)
    worker.set_output_size(output)
    with worker:
        deadline = time.monotonic() + 30
        while worker.health().frames < len(frames) and time.monotonic() < deadline:
            time.sleep(0.01)
    assert worker.health().frames == len(frames), worker.health().last_error
    return worker


@pytest.fixture
def device_uploads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The CUDA path's code on the CPU, with every tensor from the upload marked as living on the device."""
    real_to_device = HostLink._to_device

    def to_device(self: HostLink, image: np.ndarray) -> torch.Tensor:
        return real_to_device(self, image).as_subclass(DeviceTensor)

    monkeypatch.setattr(HostLink, "torch_on_cpu", True)
    monkeypatch.setattr(HostLink, "_to_device", to_device)
    DeviceTensor.reads = []
    return DeviceTensor.reads


def flow_settings(net: DreamNet, **changes: object) -> DreamSettings:
    values: dict[str, object] = dict(
        net=net, objective=parse_objective("fire3", net), step=StepParams(lr=0.03, jitter=4, smooth=0.5), steps=2,
        feedback=FeedbackParams(feedback=0.8, flow=True), process_size=(64, 36),
        attract=AttractParams(enabled=False, after_s=5, lost_after_s=0),
    )
    values.update(changes)
    return DreamSettings(**values)  # type: ignore[arg-type]


def test_one_host_copy_per_shown_frame(squeezenet: DreamNet, device_uploads: list[str]) -> None:
    frames = moving_frames(5)
    worker = run_frames(flow_settings(squeezenet), frames, output=(256, 144))
    link = worker.host_link
    assert link is not None and link.uploads == 5 and link.downloads == 5
    assert device_uploads == ["cpu"] * 5, device_uploads  # the uint8 frame once each; no .item(), float(), sync
    dream = worker.latest()
    assert dream is not None and dream.image.shape == (144, 256, 3) and dream.image.dtype == np.uint8


def test_flow_and_motion_come_from_the_host_copy(squeezenet: DreamNet, device_uploads: list[str]) -> None:
    from engine.reactive import MotionParams

    settings = flow_settings(squeezenet, motion=MotionParams(mode="grow-when-still", measure="flow"))
    worker = run_frames(settings, moving_frames(5), output=None)
    assert device_uploads == ["cpu"] * 5, device_uploads
    assert worker.health().motion_level > 0.0  # the pan was seen, from the host's grey copies


def test_the_worker_takes_device_and_dtype_from_its_settings(device_uploads: list[str]) -> None:
    net64 = NetworkCache().get("squeezenet1_1", "cpu", torch.float64)
    assert next(net64.parameters()).dtype == torch.float64
    seen: list[torch.dtype] = []

    def step(net, image, objective, params, generator, gradient):
        from engine.step import dream_step

        seen.append(image.dtype)
        return dream_step(net, image, objective, params, generator, gradient)

    settings = flow_settings(net64, dtype=torch.float64)
    worker = DreamWorker(ListFeed(moving_frames(2)), settings, step_fn=step)
    with worker:
        deadline = time.monotonic() + 30
        while worker.health().frames < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert seen and set(seen) == {torch.float64}
    assert worker.host_link is not None and worker.host_link.dtype == torch.float64


def test_settings_must_match_where_the_network_lives(squeezenet: DreamNet) -> None:
    message = r"the network lives on cpu torch\.float32, the settings say cpu torch\.float16"
    with pytest.raises(ValueError, match=message):
        flow_settings(squeezenet, dtype=torch.float16)


def test_networks_are_loaded_once_per_network_device_and_dtype() -> None:
    cache = NetworkCache()
    fp32 = cache.get("squeezenet1_1", "cpu", torch.float32)
    assert cache.get("squeezenet1_1", torch.device("cpu"), torch.float32) is fp32
    fp64 = cache.get("squeezenet1_1", "cpu", torch.float64)
    assert fp64 is not fp32 and next(fp64.parameters()).dtype == torch.float64
    assert next(fp32.parameters()).dtype == torch.float32  # the first copy is untouched
    reference = load_network("squeezenet1_1")
    assert torch.equal(next(fp32.parameters()), next(reference.parameters()))


def test_the_cpu_path_shows_what_the_device_path_shows(squeezenet: DreamNet) -> None:
    frame = moving_frames(1, (192, 108))[0]
    shown = {}
    for torch_path in (False, True):
        link = HostLink(torch.device("cpu"), torch.float32)
        link.on_host = not torch_path
        source, camera = link.upload(frame, (96, 54), (256, 144))
        dreamed = (source + 0.1 * torch.sin(torch.arange(96.0))).clamp(0, 1)
        shown[torch_path] = link.show(dreamed, source, camera, (256, 144), "detail").astype(int)
        assert link.uploads == link.downloads == 1
    assert shown[True].shape == shown[False].shape == (144, 256, 3)
    difference = np.abs(shown[True] - shown[False])
    assert difference.mean() < 1.0  # OpenCV's area/bilinear resizes against torch's antialiased bilinear


def test_a_mask_costs_no_host_read(squeezenet: DreamNet, device_uploads: list[str]) -> None:
    run_frames(flow_settings(squeezenet, mask=MaskParams("visitors")), moving_frames(5), output=(256, 144))
    assert device_uploads == ["cpu"] * 5, device_uploads  # built on the host from the grey copy, sent up small
