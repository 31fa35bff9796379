"""The two crossings between host and device per frame: the camera frame up, the shown frame down.

On CUDA the camera frame is copied into a pinned (page-locked) host buffer and sent with
a non-blocking copy, so the transfer overlaps with queued GPU work; the buffer is reused
while the camera's size stays the same. The shown frame is converted to uint8 on the
device and copied down once: a quarter of the bytes of float32, and the only host copy
of the frame. On the CPU both are plain views (no copy).

The counters let tests (and the GPU check) prove the one-copy rule.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


class HostLink:
    """Uploads camera frames to `device` as (1, 3, H, W) `dtype` in [0, 1]; downloads shown frames as uint8."""

    def __init__(self, device: torch.device, dtype: torch.dtype) -> None:
        self.device = device
        self.dtype = dtype
        self.uploads = 0
        self.downloads = 0
        self._pinned: Tensor | None = None
        self._copied: torch.cuda.Event | None = None

    def upload(self, image: np.ndarray) -> Tensor:
        """HWC uint8 RGB on the host -> the frame on the device."""
        array = np.ascontiguousarray(image)
        if self.device.type == "cuda":
            if self._pinned is None or tuple(self._pinned.shape) != array.shape:
                self._pinned = torch.empty(array.shape, dtype=torch.uint8, pin_memory=True)
            elif self._copied is not None:
                self._copied.synchronize()  # the previous frame's copy must be done before the buffer is reused
            self._pinned.numpy()[...] = array
            raw = self._pinned.to(self.device, non_blocking=True)
            self._copied = torch.cuda.Event()
            self._copied.record()
        else:
            raw = torch.from_numpy(array)
        self.uploads += 1
        return raw.permute(2, 0, 1).unsqueeze(0).to(self.dtype).div_(255.0)

    def download(self, image: Tensor) -> np.ndarray:
        """(1, 3, H, W) in [0, 1] on the device -> HWC uint8 RGB on the host: converted there, copied once."""
        pixels = image[0].detach().clamp(0.0, 1.0).mul(255.0).round_().to(torch.uint8).permute(1, 2, 0)
        self.downloads += 1
        return np.ascontiguousarray(pixels.cpu().numpy())
