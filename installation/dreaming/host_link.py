"""The two crossings between host and device per frame: the camera frame up, the shown frame down.

On CUDA the camera frame is copied into a pinned (page-locked) host buffer and sent with
a non-blocking copy, so the transfer overlaps with queued GPU work; the buffer is reused
while the camera's size stays the same. It is resized on the device to the processing
size and to the output size; the shown frame is composed and converted to uint8 there
and copied down once (a quarter of the bytes of float32, and the only host copy).

On the CPU the host is the device. OpenCV's SIMD kernels resize uint8 frames and
compose the shown frame several times faster than torch's CPU kernels, so the CPU path
resizes the camera frame with cv2 before it becomes a tensor and composes with
`engine.compose.compose_host`. `torch_on_cpu = True` makes the CPU take the CUDA path
(the tests use it to check that path's logic, and that both paths agree).

The counters let tests (and the GPU check) prove the one-copy rule.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from engine.compose import compose, compose_host, host_resize
from engine.imageops import resize

Camera = Tensor | np.ndarray
"""The camera frame at output size: a (1, 3, H, W) device tensor, or HWC uint8 on the host (CPU path)."""


class HostLink:
    """Brings camera frames to `device` as `dtype` in [0, 1], and shown frames back as HWC uint8."""

    torch_on_cpu = False

    def __init__(self, device: torch.device, dtype: torch.dtype) -> None:
        self.device = device
        self.dtype = dtype
        self.uploads = 0
        self.downloads = 0
        self.on_host = device.type == "cpu" and not self.torch_on_cpu
        self._pinned: Tensor | None = None
        self._copied: torch.cuda.Event | None = None

    def upload(self, image: np.ndarray, process: tuple[int, int], output: tuple[int, int] | None
               ) -> tuple[Tensor, Camera | None]:  # fmt: skip
        """(source at processing size on the device, camera frame at output size or None when not needed)."""
        self.uploads += 1
        if self.on_host:
            camera = host_resize(image, output) if output is not None else None
            return self._as_float(torch.from_numpy(host_resize(image, process))), camera
        raw = self._as_float(self._to_device(image))
        camera_tensor = resize(raw, output[1], output[0]) if output is not None else None
        return resize(raw, process[1], process[0]), camera_tensor

    def upload_mask(self, mask: np.ndarray, process: tuple[int, int]) -> Tensor:
        """HxW float32 mask (small, from the host grey copy) -> (1, 1, H, W) at processing size on the device."""
        small = torch.from_numpy(np.ascontiguousarray(mask)).to(self.device, self.dtype)[None, None]
        return resize(small, process[1], process[0])

    def show(self, graded: Tensor, source: Tensor, camera: Camera | None, size: tuple[int, int],
             mode: str) -> np.ndarray:  # fmt: skip
        """The composed frame at `size` (width, height) as HWC uint8 RGB on the host."""
        self.downloads += 1
        if self.on_host:
            return compose_host(graded, source, camera if isinstance(camera, np.ndarray) else None, size, mode)
        shown = compose(graded, source, camera if isinstance(camera, Tensor) else None, size, mode)
        pixels = shown[0].detach().clamp(0.0, 1.0).mul(255.0).round_().to(torch.uint8).permute(1, 2, 0)
        return np.ascontiguousarray(pixels.cpu().numpy())  # the one device -> host copy of the frame

    def _to_device(self, image: np.ndarray) -> Tensor:
        array = np.ascontiguousarray(image)
        if self.device.type != "cuda":
            return torch.from_numpy(array)
        if self._pinned is None or tuple(self._pinned.shape) != array.shape:
            self._pinned = torch.empty(array.shape, dtype=torch.uint8, pin_memory=True)
        elif self._copied is not None:
            self._copied.synchronize()  # the previous frame's copy must be done before the buffer is reused
        self._pinned.numpy()[...] = array
        raw = self._pinned.to(self.device, non_blocking=True)
        self._copied = torch.cuda.Event()
        self._copied.record()
        return raw

    def _as_float(self, pixels: Tensor) -> Tensor:
        """HWC uint8 -> (1, 3, H, W) in [0, 1], in the show's dtype."""
        return pixels.permute(2, 0, 1).unsqueeze(0).to(self.dtype).div_(255.0)

