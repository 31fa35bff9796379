"""Conversions between numpy images (HWC uint8 RGB) and engine tensors (NCHW float [0, 1])."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def to_tensor(image: np.ndarray, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> Tensor:
    """HWC uint8 RGB (or float [0, 1]) -> (1, 3, H, W) float in [0, 1]."""
    array = np.ascontiguousarray(image)
    tensor = torch.from_numpy(array).to(device)
    tensor = tensor.permute(2, 0, 1).unsqueeze(0)
    if array.dtype == np.uint8:
        return tensor.to(dtype) / 255.0
    return tensor.to(dtype)


def to_uint8(image: Tensor) -> np.ndarray:
    """(1, 3, H, W) float [0, 1] -> HWC uint8 RGB."""
    array = image[0].detach().float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0)
    return np.ascontiguousarray(array.cpu().numpy())


def resize(image: Tensor, height: int, width: int) -> Tensor:
    """Bilinear resize with antialiasing when shrinking."""
    if image.shape[-2:] == (height, width):
        return image
    shrinking = height < image.shape[-2] or width < image.shape[-1]
    return F.interpolate(image, size=(height, width), mode="bilinear", align_corners=False, antialias=shrinking)


def gaussian_blur(image: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur with reflected borders; sigma in pixels, 0 = unchanged."""
    if sigma <= 0:
        return image
    radius = max(1, round(3 * sigma))
    radius = min(radius, image.shape[-1] - 1, image.shape[-2] - 1)
    if radius < 1:
        return image
    offsets = torch.arange(-radius, radius + 1, device=image.device, dtype=image.dtype)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    channels = image.shape[1]
    horizontal = kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    vertical = kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)
    out = F.conv2d(F.pad(image, (radius, radius, 0, 0), mode="reflect"), horizontal, groups=channels)
    return F.conv2d(F.pad(out, (0, 0, radius, radius), mode="reflect"), vertical, groups=channels)
