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
