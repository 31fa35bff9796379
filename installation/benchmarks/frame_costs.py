"""What the sharp shown frame and the optical flow cost per frame (part of `run.py bench --live`).

Composition: the dream at 320x180 shown at 1280x720 or 1920x1080 from a 1080p camera,
as `compose: detail` (camera frame at output size + the dream's detail scaled up)
against `compose: upscale` (the dream scaled up), each including the camera frame's
resizes and the uint8 conversion, i.e. everything the worker does besides the dream
steps; and detail through the torch code the CUDA path runs, to show why the CPU
path composes with OpenCV.

Flow: a 1920x1080 camera frame, for the 320x180 CPU processing size and the 1920x1080
GPU one: the host grey copy, DIS at the flow size (at most 480 px wide) and the field
scaled to the processing size, against DIS on the full-size grey frame (what computing
the flow at the processing size would cost at 1080p).

Mask (engine.masks, `mask: visitors | room`): from the same host grey copy, the background
model, its morphology and feather, and the small mask sent up and scaled to the processing
size; the grey copy itself is the flow's and not counted again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np
import torch

from engine.masks import BackgroundMask, MaskParams
from engine.temporal import FlowFn, dis_flow, flow_size, host_grey, upscale_flow
from installation.benchmarks.timing import median_ms
from installation.dreaming.host_link import HostLink
from installation.sources.demo import load_photo

PROCESS = (320, 180)
OUTPUTS = ((1280, 720), (1920, 1080))
CAMERA = (1920, 1080)
FLOW_PROCESS_SIZES = ((320, 180), (1920, 1080))


@dataclass
class ComposeCost:
    output: str
    detail_ms: float  # compose: detail, on the CPU path (OpenCV)
    upscale_ms: float  # compose: upscale, on the CPU path
    detail_torch_ms: float  # compose: detail through the CUDA path's torch code, run on this CPU


@dataclass
class FlowCost:
    process: str
    flow_at: str
    small_ms: float  # grey copy + DIS at the flow size + scaling the field up
    full_ms: float  # DIS on the full-size grey frame

    @property
    def ratio(self) -> float:
        return self.full_ms / self.small_ms


def _camera_frames() -> tuple[np.ndarray, np.ndarray]:
    """Two consecutive 1080p frames: the photo and the photo moved 6 px right."""
    photo = cv2.resize(load_photo("chelsea"), (CAMERA[0] + 6, CAMERA[1]), interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(photo[:, 6:]), np.ascontiguousarray(photo[:, :-6])


def _shown(link: HostLink, frame: np.ndarray, output: tuple[int, int], mode: str) -> np.ndarray:
    """Everything after the dream steps: camera at output size, compose, uint8, host copy."""
    source, camera = link.upload(frame, PROCESS, output if mode == "detail" else None)
    dreamed = (source + 0.05 * torch.randn(source.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    return link.show(dreamed, source, camera, output, mode)


def measure_compose(repeats: int) -> list[ComposeCost]:
    frame, _ = _camera_frames()
    host = HostLink(torch.device("cpu"), torch.float32)
    device_path = HostLink(torch.device("cpu"), torch.float32)
    device_path.on_host = False
    costs = []
    for output in OUTPUTS:
        times = [median_ms(partial(_shown, link, frame, output, mode), repeats * 4)
                 for link, mode in ((host, "detail"), (host, "upscale"), (device_path, "detail"))]  # fmt: skip
        costs.append(ComposeCost(f"{output[0]}x{output[1]}", *times))
    return costs


def _small_flow(estimator: FlowFn, new: np.ndarray, previous: np.ndarray, process: tuple[int, int]) -> torch.Tensor:
    small = flow_size(process)
    field = estimator(host_grey(new, small), host_grey(previous, small))
    return upscale_flow(field, process, torch.device("cpu"), torch.float32)


def _full_flow(estimator: FlowFn, new: np.ndarray, previous: np.ndarray, process: tuple[int, int]) -> np.ndarray:
    return estimator(host_grey(new, process), host_grey(previous, process))


def measure_flow(repeats: int) -> list[FlowCost]:
    new, previous = _camera_frames()
    costs = []
    for process in FLOW_PROCESS_SIZES:
        small = flow_size(process)
        small_ms = median_ms(partial(_small_flow, dis_flow(), new, previous, process), repeats * 4)
        full_ms = median_ms(partial(_full_flow, dis_flow(), new, previous, process), repeats * 4)
        costs.append(FlowCost(f"{process[0]}x{process[1]}", f"{small[0]}x{small[1]}", small_ms, full_ms))
    return costs


@dataclass
class MaskCost:
    process: str
    mask_at: str
    ms: float  # background model + morphology + feather + upload and resize to the processing size


def _mask(model: BackgroundMask, link: HostLink, greys: list[np.ndarray], process: tuple[int, int]) -> None:
    greys.reverse()  # alternate the two frames so the model always sees motion
    link.upload_mask(model(greys[0], 0.04, MaskParams("visitors"), process[0]), process)


def measure_mask(repeats: int) -> list[MaskCost]:
    frames = _camera_frames()
    link = HostLink(torch.device("cpu"), torch.float32)
    costs = []
    for process in FLOW_PROCESS_SIZES:
        small = flow_size(process)
        greys = [host_grey(frame, small) for frame in frames]
        model = BackgroundMask()
        model(greys[1], 0.04, MaskParams("visitors"), process[0])  # the first frame only learns the room
        ms = median_ms(partial(_mask, model, link, greys, process), repeats * 4)
        costs.append(MaskCost(f"{process[0]}x{process[1]}", f"{small[0]}x{small[1]}", ms))
    return costs


def print_costs(composed: list[ComposeCost], flows: list[FlowCost], masks: list[MaskCost] | None = None) -> None:
    print(f"shown frame from a {PROCESS[0]}x{PROCESS[1]} dream (camera resize + compose + uint8 + host copy), "
          f"median ms per frame:")
    for cost in composed:
        print(f"  output {cost.output:<10} detail {cost.detail_ms:6.1f} ms   upscale {cost.upscale_ms:6.1f} ms   "
              f"(detail by torch on this CPU {cost.detail_torch_ms:6.1f} ms)")
    print(f"optical flow from a {CAMERA[0]}x{CAMERA[1]} camera, median ms per frame:")
    for flow in flows:
        print(f"  processing {flow.process:<10} small grey copy at {flow.flow_at:<8} {flow.small_ms:6.1f} ms   "
              f"full size {flow.full_ms:6.1f} ms   ({flow.ratio:.1f}x cheaper)")
    if masks:
        print("mask (visitors/room) from the same grey copy, median ms per frame:")
    for mask in masks or []:
        print(f"  processing {mask.process:<10} mask at {mask.mask_at:<8} {mask.ms:6.1f} ms")
