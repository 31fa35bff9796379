"""Conversions between numpy images (HWC uint8 RGB) and engine tensors (NCHW float [0, 1])."""

from __future__ import annotations

import cv2
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


MAX_PLANES = 512  # OpenCV's most channels in one array (CV_CN_MAX): more go through torch


def gaussian_blur(image: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur with reflected borders; sigma in pixels, 0 = unchanged.

    An fp32 CPU tensor that needs no gradient is blurred by OpenCV, the same kernel and borders
    (at 640x360 on the 2-core CPU here, alternating in one process: 0.43 ms for the live show's
    one-channel trust mask against 3.0 ms through torch's grouped convolutions, 2.0 ms against
    18.9 for three channels; the gradient step's direction smoothing made its step 1.05x faster);
    anything else by torch.
    """
    if sigma <= 0:
        return image
    radius = max(1, round(3 * sigma))
    radius = min(radius, image.shape[-1] - 1, image.shape[-2] - 1)
    if radius < 1:
        return image
    if _on_host(image):
        return _host_blur(image, radius, sigma)
    return _torch_blur(image, radius, sigma)


def _on_host(image: Tensor) -> bool:
    """An fp32 CPU tensor that no gradient flows through, of a size OpenCV's filters take in one call."""
    planes = image.numel() // max(1, image.shape[-1] * image.shape[-2])
    needs_grad = image.requires_grad and torch.is_grad_enabled()
    traced = torch.compiler.is_compiling() or torch.jit.is_tracing()  # a graph being built: stay in torch ops
    fits = planes <= MAX_PLANES
    return image.device.type == "cpu" and image.dtype == torch.float32 and not needs_grad and not traced and fits


def _host_blur(image: Tensor, radius: int, sigma: float) -> Tensor:
    height, width = image.shape[-2:]
    planes = image.detach().reshape(-1, height, width)
    array = planes[0].numpy() if planes.shape[0] == 1 else planes.permute(1, 2, 0).contiguous().numpy()
    side = 2 * radius + 1
    blurred = cv2.GaussianBlur(array, (side, side), sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT_101)
    out = torch.from_numpy(blurred.reshape(height, width, -1)).permute(2, 0, 1)
    return out.reshape(image.shape).contiguous()


def _torch_blur(image: Tensor, radius: int, sigma: float) -> Tensor:
    offsets = torch.arange(-radius, radius + 1, device=image.device, dtype=image.dtype)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    channels = image.shape[1]
    horizontal = kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    vertical = kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)
    out = F.conv2d(F.pad(image, (radius, radius, 0, 0), mode="reflect"), horizontal, groups=channels)
    return F.conv2d(F.pad(out, (0, 0, radius, radius), mode="reflect"), vertical, groups=channels)
