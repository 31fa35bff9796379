"""The student network: any size and aspect, detail out, nothing dreamt before training."""

from __future__ import annotations

import pytest
import torch

from engine.errors import DreamwallError
from engine.student import StudentNet, StudentShape
from tests.student.helpers import TINY


@pytest.mark.parametrize("size", [(33, 61), (48, 48), (90, 160), (37, 18)])
def test_any_size_and_aspect_gives_detail_of_the_same_size(size: tuple[int, int]) -> None:
    net = StudentNet(TINY)
    torch.nn.init.normal_(net.out.weight, std=0.1)
    detail = net(torch.rand(2, 3, *size))
    assert detail.shape == (2, 3, *size)
    assert detail.abs().sum() > 0


def test_an_untrained_student_dreams_nothing() -> None:
    frame = torch.rand(1, 3, 40, 64)
    assert torch.equal(StudentNet(TINY).dream(frame), frame)


def test_a_bad_shape_is_refused_in_one_line() -> None:
    with pytest.raises(DreamwallError, match="student eighth must be a whole number between 1 and 512, got 0"):
        StudentShape(eighth=0)


def test_the_bilinear_doubling_is_bilinear_and_bf16_doubles_as_fp32_does() -> None:
    """Interior pixels take 3/4 of the nearer input and 1/4 of the farther; a bf16 picture is doubled in fp32
    (oneDNN's bf16 depthwise ConvTranspose is slow) and comes back in bf16, rounded once."""
    from engine.student.model import _double, bilinear_kernel

    x = torch.rand(1, 3, 6, 8, generator=torch.Generator().manual_seed(0))
    doubled = _double(x, bilinear_kernel(3))
    assert doubled.shape == (1, 3, 12, 16)
    rows = 0.75 * x[..., 1:-1, :] + 0.25 * x[..., :-2, :]  # output rows 2i (i = 1..4) lean to input row i - 1
    want = 0.75 * rows[..., 1:-1] + 0.25 * rows[..., :-2]
    torch.testing.assert_close(doubled[..., 2:-2:2, 2:-2:2], want)
    in_bf16 = x.bfloat16()
    got = _double(in_bf16, bilinear_kernel(3).bfloat16())
    assert got.dtype == torch.bfloat16
    assert torch.equal(got, _double(in_bf16.float(), bilinear_kernel(3)).bfloat16())


def test_the_fold_as_one_strided_convolution_is_space_to_depth_then_the_fold() -> None:
    """The 12x12 stride-4 kernel rearranged from `fold`'s weights sums what SpaceToDepth + `fold` sum."""
    torch.manual_seed(0)
    net = StudentNet(TINY)
    torch.nn.init.normal_(net.fold.weight)
    x = torch.rand(2, 3, 32, 48)
    want = net.fold(torch.nn.functional.pixel_unshuffle(x, 4))
    torch.testing.assert_close(net._folded(x), want, atol=1e-5, rtol=1e-5)
