"""The student file: round trip, and one-line refusals of a foreign, corrupt or other look's file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine.errors import DreamwallError
from engine.student import StudentNet
from installation.distill.student_file import load_student, save_student
from tests.student.helpers import TINY

MANIFEST = {"look": {"preset": "default", "hash": "abc123"}, "teacher": {"lr": 0.01}, "evaluation": {"fidelity": 0.5}}


def _student(path: Path) -> StudentNet:
    torch.manual_seed(0)
    net = StudentNet(TINY)
    torch.nn.init.normal_(net.out.weight, std=0.1)
    save_student(path, net, MANIFEST)
    return net


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "default.student"
    net = _student(path)
    loaded = load_student(path, expect_look="abc123")
    frame = torch.rand(1, 3, 36, 52)
    assert torch.equal(loaded.net(frame), net.eval()(frame))
    assert loaded.manifest["evaluation"] == {"fidelity": 0.5}
    assert loaded.manifest["shape"] == TINY.as_dict()
    assert loaded.look == "abc123" and loaded.lr == 0.01
    assert [p.name for p in tmp_path.iterdir()] == ["default.student"]  # no temporary left


def _one_line(error: pytest.ExceptionInfo[DreamwallError]) -> str:
    text = str(error.value)
    assert "\n" not in text
    return text


def test_a_foreign_file_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.student"
    text.write_text("hello")
    with pytest.raises(DreamwallError, match="is not a Dreamwall student file") as error:
        load_student(text)
    _one_line(error)
    other = tmp_path / "other.student"
    torch.save({"weights": {}}, other)
    with pytest.raises(DreamwallError, match=r"is not a Dreamwall student file \(no 'dreamwall-student' marker\)"):
        load_student(other)


def test_a_corrupt_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "default.student"
    _student(path)
    data = bytearray(path.read_bytes())
    truncated = tmp_path / "truncated.student"
    truncated.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(DreamwallError, match="is not a Dreamwall student file") as error:
        load_student(truncated)
    _one_line(error)
    weights = torch.load(path, weights_only=True)
    weights["weights"]["out.bias"] = weights["weights"]["out.bias"] + 1
    torch.save(weights, path)
    with pytest.raises(DreamwallError, match=r"is a corrupt student file \(its weights do not match their digest") as e:
        load_student(path)
    _one_line(e)


def test_another_looks_student_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "default.student"
    _student(path)
    with pytest.raises(DreamwallError, match=r"is the student of another look \(preset 'default', look abc123\), "
                       r"expected look fff; distill this preset again") as error:  # fmt: skip
        load_student(path, expect_look="fff")
    _one_line(error)
