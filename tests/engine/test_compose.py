"""The shown frame at output size: the camera's edges stay sharp, the dream's detail stays."""

import pytest
import torch

from engine.compose import compose, compose_host
from engine.errors import DreamwallError
from engine.imageops import resize, to_uint8

OUT = (192, 108)
PROCESS = (48, 27)


def edge_frame(size: tuple[int, int]) -> torch.Tensor:
    """A hard vertical black/white edge a third of the way across (a visitor's silhouette)."""
    width, height = size
    image = torch.zeros(1, 3, height, width)
    image[..., width // 3:] = 1.0
    return image


def sharpness(image: torch.Tensor) -> float:
    """The largest step between neighbouring columns: 1 for a hard edge, much less when blurred."""
    return float((image[..., 1:] - image[..., :-1]).abs().amax())


def test_detail_keeps_the_camera_edge_that_upscaling_blurs() -> None:
    camera = edge_frame(OUT)
    source = resize(camera, PROCESS[1], PROCESS[0])
    dreamed = (source + 0.05 * torch.randn(1, 3, PROCESS[1], PROCESS[0], generator=torch.Generator().manual_seed(0)))
    dreamed = dreamed.clamp(0, 1)
    detail = compose(dreamed, source, camera, OUT, "detail")
    upscaled = compose(dreamed, source, camera, OUT, "upscale")
    assert detail.shape == upscaled.shape == (1, 3, OUT[1], OUT[0])
    assert sharpness(detail) > 0.85  # the edge is a one-pixel step, as the camera delivered it
    assert sharpness(upscaled) < 0.6  # the processing image scaled up smears it over several pixels


def test_detail_carries_the_dream_pattern_at_output_size() -> None:
    camera = torch.full((1, 3, OUT[1], OUT[0]), 0.5)
    source = torch.full((1, 3, PROCESS[1], PROCESS[0]), 0.5)
    pattern = 0.1 * torch.sin(torch.arange(PROCESS[0]).float()).expand(1, 3, PROCESS[1], PROCESS[0])
    shown = compose(source + pattern, source, camera, OUT, "detail")
    expected = 0.5 + torch.nn.functional.interpolate(pattern, size=(OUT[1], OUT[0]), mode="bilinear",
                                                     align_corners=False)  # fmt: skip
    assert torch.allclose(shown, expected, atol=1e-6)


def test_same_size_detail_is_the_dream_itself() -> None:
    source = torch.rand(1, 3, 27, 48, generator=torch.Generator().manual_seed(1))
    dreamed = (source + 0.2).clamp(0, 1)
    assert torch.allclose(compose(dreamed, source, source, (48, 27)), dreamed, atol=1e-6)


def test_no_camera_frame_upscales_the_dream() -> None:
    dreamed = torch.rand(1, 3, 27, 48)
    shown = compose(dreamed, dreamed, None, OUT)
    assert shown.shape == (1, 3, OUT[1], OUT[0])


def test_bad_mode_and_mismatched_camera_are_refused() -> None:
    image = torch.rand(1, 3, 27, 48)
    with pytest.raises(DreamwallError, match="unknown compose mode 'detial' \\(did you mean 'detail'\\?\\)"):
        compose(image, image, image, (48, 27), "detial")
    with pytest.raises(ValueError, match="camera frame is 48x27, the output 192x108"):
        compose(image, image, image, OUT)


@pytest.mark.parametrize("mode", ["detail", "upscale"])
def test_the_host_composition_equals_the_tensor_one_within_a_level(mode: str) -> None:
    generator = torch.Generator().manual_seed(2)
    camera = (torch.rand(1, 3, OUT[1], OUT[0], generator=generator) * 255).round() / 255
    source = resize(camera, PROCESS[1], PROCESS[0])
    dreamed = (source + 0.2 * torch.randn(source.shape, generator=generator)).clamp(0, 1)
    expected = to_uint8(compose(dreamed, source, camera, OUT, mode)).astype(int)
    host = compose_host(dreamed, source, to_uint8(camera), OUT, mode).astype(int)
    assert host.shape == expected.shape == (OUT[1], OUT[0], 3)
    assert abs(host - expected).max() <= 1
