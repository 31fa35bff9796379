"""`run.py distill`: a tiny run writes a student with its figures; misuse exits 2 in one line and leaves no file."""

from __future__ import annotations

from pathlib import Path

import pytest

import run
from installation.distill.student_file import load_student

TINY_RUN = ["--size", "48", "--crops", "2", "--eval-crops", "1", "--batch", "1", "--octaves", "1",
            "--teacher-steps", "1", "--shape", "4,8,1"]  # fmt: skip


def test_a_tiny_distill_writes_a_student_of_the_look(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      one_torch_thread: None) -> None:  # fmt: skip
    output = tmp_path / "default.student"
    assert run.main(["distill", "--preset", "default", "-o", str(output), "--steps", "3", *TINY_RUN]) == 0
    student = load_student(output)
    assert student.manifest["look"]["preset"] == "default"
    assert student.manifest["training"]["steps"] == 3 and student.manifest["training"]["device"] == "cpu"
    assert set(student.manifest["evaluation"]) >= {"fidelity", "teacher_gain", "student_gain", "feature_distance"}
    printed = capsys.readouterr()
    assert "fidelity" in printed.out
    training = [line for line in printed.err.splitlines() if "training [" in line]
    assert training and "3/3 steps" in training[-1] and " loss " in training[-1], printed.err  # the bar shows the loss
    assert sorted(p.name for p in tmp_path.iterdir()) == ["default.student"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "nosuch"], "unknown preset 'nosuch'"),
        (["--preset", "default", "--minutes", "0"], "minutes must be between 0.01 and 1440, got 0"),
        (["--preset", "default", "--shape", "1,2"], "shape must be QUARTER,EIGHTH,BLOCKS"),
        (["--preset", "default", "--images", "NOWHERE"], "--images NOWHERE: not a folder"),
        (["--preset", "default", "--video", "nothing.mp4"], "--video nothing.mp4: file not found"),
        (["--preset", "default", "--resume"], "--resume: no stopped run to continue"),
        (["--preset", "default", "-o", "x.pt"], "needs the student extension: .student"),
        (["--preset", "default", "--images", "a", "--video", "b"], "not allowed with argument"),
        (["--preset", "default", "--device", "cuda:7"], "device 'cuda:7'"),
        (["--preset", "default", "--device", "gpu"], "unknown device 'gpu'"),
    ],
)
def test_bad_arguments_exit_2_in_one_line_and_leave_no_file(args: list[str], message: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    if "-o" not in args:
        args = [*args, "-o", str(tmp_path / "look.student")]
    with pytest.raises(SystemExit) as exit_:
        raise SystemExit(run.main(["distill", *args]))
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err, err
    assert list(tmp_path.iterdir()) == []
