"""A tiny student trains: its loss falls, its objective gain rises, and a resumed run equals an uninterrupted one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine.networks import DreamNet
from engine.student import LossWeights, student_losses
from installation.distill.train import Distiller
from tests.student.helpers import tiny_distiller


def fixed_batch_loss(distiller: Distiller) -> float:
    """The training loss on the first crops with a fixed draw of scale and shift (a step's own loss is noisy)."""
    frames = distiller.frames[:2].float() / 255
    teacher = torch.stack(distiller.teachers[:2]).float() / 255
    with torch.no_grad():
        terms = student_losses(distiller.student, distiller.teacher.net, distiller.teacher.objective, frames, teacher,
                               distiller.config.weights, torch.Generator().manual_seed(5))  # fmt: skip
    return float(terms["total"])


@pytest.fixture(scope="module")
def trained(squeezenet: DreamNet, one_torch_thread: None) -> tuple[Distiller, dict[str, float], list[float]]:
    distiller = tiny_distiller(squeezenet, weights=LossWeights(pixel=0.0, equivariance=0.0))
    distiller.make_teachers()
    before = distiller.evaluate()
    losses = [fixed_batch_loss(distiller)]
    for _ in range(24):
        distiller.train_step()
    losses.append(fixed_batch_loss(distiller))
    return distiller, before, losses


def test_the_loss_falls(trained: tuple[Distiller, dict[str, float], list[float]]) -> None:
    _, _, (before, after) = trained
    assert before == 0.0  # an untrained student adds nothing: no gain, no excess
    assert after < -0.02


def test_the_objective_gain_rises_with_training(trained: tuple[Distiller, dict[str, float], list[float]]) -> None:
    distiller, before, _ = trained
    after = distiller.evaluate()
    assert before["student_gain"] == 0.0  # an untrained student dreams nothing
    assert after["student_gain"] > 0.005
    assert after["teacher_gain"] == before["teacher_gain"] > 0


def test_resume_equals_uninterrupted(squeezenet: DreamNet, one_torch_thread: None, tmp_path: Path) -> None:
    whole = tiny_distiller(squeezenet, crops=2, eval_crops=1)
    whole.make_teachers()
    whole.train(6)
    first = tiny_distiller(squeezenet, crops=2, eval_crops=1)
    first.make_teachers()
    first.train(3)
    first.save_checkpoint(tmp_path / "run.partial")
    resumed, threads = Distiller.resume(tmp_path / "run.partial", first.config, first.teacher)
    assert threads == torch.get_num_threads()
    resumed.train(6)
    for name, value in whole.student.state_dict().items():
        assert torch.equal(value, resumed.student.state_dict()[name]), name
