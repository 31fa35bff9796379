"""engine.imageops: the Gaussian blur gives the same picture through OpenCV (fp32 on the CPU) as through torch."""

from __future__ import annotations

import pytest
import torch

from engine.imageops import _torch_blur, gaussian_blur


def torch_reference(image: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = min(max(1, round(3 * sigma)), image.shape[-1] - 1, image.shape[-2] - 1)
    return _torch_blur(image, radius, sigma)


@pytest.mark.parametrize(("shape", "sigma"), [((1, 1, 36, 64), 1.0), ((1, 3, 17, 23), 2.5), ((2, 3, 5, 4), 1.0),
                                              ((1, 8, 9, 40), 0.6), ((1, 3, 3, 3), 4.0)])  # fmt: skip
def test_the_host_blur_matches_torchs(shape: tuple[int, ...], sigma: float) -> None:
    image = torch.rand(*shape, generator=torch.Generator().manual_seed(1))
    blurred = gaussian_blur(image, sigma)
    assert blurred.shape == image.shape and blurred.is_contiguous()
    torch.testing.assert_close(blurred, torch_reference(image, sigma), atol=1e-6, rtol=0)
    assert not torch.allclose(blurred, image)  # it blurred


def test_a_channels_last_image_blurs_the_same() -> None:
    image = torch.rand(1, 3, 20, 30, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(gaussian_blur(image.contiguous(memory_format=torch.channels_last), 1.5),
                               torch_reference(image, 1.5), atol=1e-6, rtol=0)  # fmt: skip


def test_a_blur_the_gradient_flows_through_stays_in_torch() -> None:
    image = torch.rand(1, 3, 12, 12, requires_grad=True)
    gaussian_blur(image, 1.0).sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_half_precision_blurs_in_torch() -> None:
    image = torch.rand(1, 3, 12, 16).to(torch.bfloat16)
    blurred = gaussian_blur(image, 1.0)
    assert blurred.dtype == torch.bfloat16
    torch.testing.assert_close(blurred.float(), torch_reference(image.float(), 1.0), atol=2e-2, rtol=0)


def test_more_planes_than_opencv_takes_still_blur() -> None:
    image = torch.rand(2, 300, 9, 11, generator=torch.Generator().manual_seed(3))  # 600 planes: over CV_CN_MAX
    torch.testing.assert_close(gaussian_blur(image, 1.0), torch_reference(image, 1.0), atol=1e-6, rtol=0)
