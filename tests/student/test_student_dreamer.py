"""`dreamer: student`: live, render and dream run the look's student, or say why not and dream with the gradient.

A preset asking for a student it has not gets the gradient dream and a notice (log, HUD, status);
with a student file for its look, the student's forward pass replaces the gradient steps inside the
same feedback (a still scene settles on strength x the student's detail), and the HUD and status say so.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch

import run
from engine.networks import DreamNet
from engine.student import StudentNet
from engine.student.dream import student_detail, student_frame
from engine.temporal import FeedbackParams, TemporalFeedback
from installation.app.status import ShowStatus
from installation.display.hud import hud_lines
from installation.distill.student_file import look_hash, look_settings, save_student
from installation.dreaming.looks import dream_settings
from installation.dreaming.placement import Placement
from installation.dreaming.settings import DreamSettings, WorkerHealth
from installation.dreaming.students import StudentCache
from installation.dreaming.worker import DreamWorker
from installation.outputs.images import write_image
from installation.presets.loader import load_preset
from installation.presets.schema import Preset
from installation.rendering import frame_dreamer
from installation.rendering.frame_dreamer import FrameDreamer, render_settings, render_student
from installation.testing.feeds import ListFeed
from tests.student.helpers import TINY

SIZE = (64, 48)
QUICK = "dreamer: student\nsteps: 1\nrender: {octaves: 1, steps: 1}\n"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def look(folder: Path, text: str = QUICK, name: str = "look") -> Preset:
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return load_preset(path)


def ship_student(preset: Preset) -> StudentNet:
    """A student file for `preset`'s look beside it (untrained but for a non-zero output layer: it dreams)."""
    torch.manual_seed(0)
    net = StudentNet(TINY)
    torch.nn.init.normal_(net.out.weight, std=0.2)
    manifest = {"look": {"preset": preset.name, "hash": look_hash(look_settings(preset))},
                "teacher": {"lr": preset.lr}, "evaluation": {"fidelity": 0.5}}  # fmt: skip
    (preset.path.parent / "students").mkdir(exist_ok=True)
    save_student(preset.path.parent / "students" / f"{preset.name}.student", net, manifest)
    return net


@pytest.fixture(scope="module")
def frames(chelsea: np.ndarray) -> list[np.ndarray]:
    return [cv2.resize(chelsea, SIZE, interpolation=cv2.INTER_AREA)] * 3


class Counting:
    """Counts the calls of what it wraps."""

    def __init__(self, fn: Any) -> None:
        self.fn, self.calls = fn, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.fn(*args, **kwargs)


def dream_all(frames: list[np.ndarray], settings: DreamSettings, step_fn: Counting) -> WorkerHealth:
    with DreamWorker(ListFeed(frames), settings, wait_timeout=0.01, step_fn=step_fn) as worker:
        seq = 0
        while (dream := worker.wait_newer(seq, timeout=20.0)) is not None and dream.source_seq < len(frames):
            seq = dream.seq
        health = worker.health()
    assert dream is not None and dream.source_seq == len(frames), health
    return health


def show(health: WorkerHealth) -> tuple[dict[str, Any], list[str]]:
    """What the status file and the HUD say for this worker."""
    status = ShowStatus(preset="look", preset_number=1, network="squeezenet1_1", objective="fire7", backend="torch",
                        backend_reason="", device="cpu", device_reason="", precision="fp32", intensity=0.2,
                        audio_gain=None, frozen=False, asleep=False, headless=True, worker=health, capture=None,
                        source_spec="demo", display_fps=0.0, shown=0, errors=0, last_error=None, notices=(),
                        recording=None, recording_hud=None, uptime_s=1.0, osc=None, demo_by_default=False)  # fmt: skip
    info = status.hud_info(())
    return status.as_json(), [line.text for line in hud_lines(info)] + list(info.notices)


def test_the_default_preset_dreams_with_the_gradient(squeezenet: DreamNet) -> None:
    settings = dream_settings(load_preset(Path("presets/default.yaml")), squeezenet)
    assert (settings.dreamer, settings.student, settings.dreamer_notice) == ("gradient", None, None)


def test_no_student_is_the_gradient_dream_with_a_notice(tmp_path: Path, squeezenet: DreamNet, frames: list[np.ndarray],
                                                        caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    preset = look(tmp_path)
    with caplog.at_level(logging.WARNING):
        settings = dream_settings(preset, squeezenet, students=StudentCache()).replace(process_size=SIZE)
    assert settings.student is None and settings.dreamer == "student"
    notice = settings.dreamer_notice
    assert notice is not None and notice.startswith("preset look: no student for its look (student file not found:")
    assert notice.endswith("dreaming with the gradient") and "\n" not in notice
    assert [r.getMessage() for r in caplog.records if "no student" in r.getMessage()] == [notice]
    steps = Counting(__import__("engine.step", fromlist=["dream_step"]).dream_step)
    health = dream_all(frames, settings, steps)
    assert steps.calls == len(frames) * settings.steps
    assert (health.dreamer, health.dreamer_notice) == ("gradient", notice)
    status, hud = show(health)
    assert status["worker"]["dreamer"] == "gradient" and status["worker"]["student"] is None
    assert notice in hud and not any("one-pass student" in line for line in hud)


def test_a_student_for_the_look_replaces_the_gradient_steps(tmp_path: Path, squeezenet: DreamNet,
                                                            frames: list[np.ndarray]) -> None:  # fmt: skip
    preset = look(tmp_path)
    ship_student(preset)
    settings = dream_settings(preset, squeezenet, students=StudentCache()).replace(process_size=SIZE)
    assert settings.runs_student and settings.dreamer_notice is None
    assert settings.student is not None and settings.student.fidelity == 0.5
    forward = Counting(settings.student.net.forward)
    settings.student.net.forward = forward  # type: ignore[method-assign]
    steps = Counting(lambda *args, **kwargs: pytest.fail("a gradient step ran"))
    health = dream_all(frames, settings, steps)
    assert steps.calls == 0 and forward.calls == len(frames)
    assert (health.dreamer, health.dreamer_notice, health.errors) == ("student", None, 0)
    status, hud = show(health)
    assert status["worker"]["dreamer"] == "student" and status["worker"]["student"] == "torch"
    assert any(line.endswith("· one-pass student, torch") and "backend" not in line for line in hud)


def test_the_dreamer_flag_overrides_the_presets_choice_both_ways(tmp_path: Path, squeezenet: DreamNet) -> None:
    """`live --dreamer student|gradient` reaches every preset through dream_settings."""
    asking, plain = look(tmp_path), look(tmp_path, QUICK.replace("dreamer: student\n", ""), name="plain")
    ship_student(asking)
    ship_student(plain)
    students = StudentCache()
    assert dream_settings(plain, squeezenet, students=students).runs_student is False
    assert dream_settings(plain, squeezenet, students=students, dreamer="student").runs_student is True
    assert dream_settings(asking, squeezenet, students=students, dreamer="gradient").runs_student is False
    assert dream_settings(asking, squeezenet, students=students).runs_student is True


def test_a_misspelt_dreamer_flag_exits_2_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        run.main(["live", "--dreamer", "studnet"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("unknown dreamer 'studnet' (did you mean 'student'?); choose from: gradient, student")


def test_a_preset_on_onnx_dreams_its_student_through_onnx_runtime(tmp_path: Path, squeezenet: DreamNet,
                                                                  frames: list[np.ndarray]) -> None:  # fmt: skip
    preset = look(tmp_path, QUICK + "backend: onnx\n")
    net = ship_student(preset)
    settings = dream_settings(preset, squeezenet, students=StudentCache()).replace(process_size=SIZE)
    assert settings.student is not None and settings.student.backend == "onnx"
    frame = torch.rand(1, 3, SIZE[1], SIZE[0])
    with torch.no_grad():
        torch.testing.assert_close(settings.student.net(frame), net(frame), atol=1e-5, rtol=1e-4)
    health = dream_all(frames, settings, Counting(lambda *args, **kwargs: pytest.fail("a gradient step ran")))
    assert (health.dreamer, health.errors) == ("student", 0)


def test_a_preset_dreaming_in_bf16_runs_its_student_in_bf16(tmp_path: Path, squeezenet: DreamNet,
                                                             frames: list[np.ndarray]) -> None:  # fmt: skip
    """On a CPU where the preset's arithmetic is bf16 (Placement.compute), the student's is too; frames stay fp32."""
    preset = look(tmp_path)
    net = ship_student(preset)
    placement = Placement(torch.device("cpu"), torch.float32, "test", compute="bf16")
    settings = dream_settings(preset, squeezenet, students=StudentCache(), placement=placement)
    assert settings.student is not None and settings.student.backend == "torch bf16"
    assert next(settings.student.net.parameters()).dtype == torch.bfloat16
    assert next(net.parameters()).dtype == torch.float32  # the file's student is left as it was
    frame = torch.rand(1, 3, SIZE[1], SIZE[0])
    with torch.no_grad():
        got, want = settings.student.net(frame), net(frame)
    assert got.dtype == torch.float32 and float((got - want).norm() / want.norm()) < 0.02
    plain = dream_settings(preset, squeezenet, students=StudentCache())
    assert plain.student is not None and plain.student.backend == "torch"
    health = dream_all(frames, settings.replace(process_size=SIZE),
                       Counting(lambda *args, **kwargs: pytest.fail("a gradient step ran")))  # fmt: skip
    assert (health.dreamer, health.errors) == ("student", 0)


def test_another_looks_student_is_refused_with_the_reason(tmp_path: Path, squeezenet: DreamNet) -> None:
    ship_student(look(tmp_path))
    other = look(tmp_path, QUICK + "jitter: 3\n")  # the same name, another look
    settings = dream_settings(other, squeezenet, students=StudentCache())
    assert settings.student is None
    assert "is the student of another look" in (settings.dreamer_notice or "")


def test_a_still_scene_settles_on_strength_times_the_students_detail() -> None:
    torch.manual_seed(1)
    net = StudentNet(TINY).eval()
    torch.nn.init.normal_(net.out.weight, std=0.01)
    source = 0.3 + 0.4 * torch.rand(1, 3, 40, 56)  # no pixel reaches 0 or 1: nothing is clamped
    params = FeedbackParams(feedback=0.8, flow=False)
    temporal, changes = TemporalFeedback(), []
    dreamed = source
    for _ in range(40):
        start = temporal.start(source, params)
        new = student_frame(net, start, source, strength=1.5, feedback=params.feedback)
        changes.append(float((new - dreamed).abs().mean()))
        temporal.remember(source, new)
        dreamed = new
    with torch.no_grad():
        want = 1.5 * student_detail(net, source)
    got = dreamed - source

    def zero_mean(x: torch.Tensor) -> torch.Tensor:  # the feedback carries zero-mean detail (engine.temporal)
        return x - x.mean(dim=(2, 3), keepdim=True)

    assert float((zero_mean(got) - zero_mean(want)).abs().mean()) < 0.01 * float(zero_mean(want).abs().mean())
    assert changes[-1] < 0.01 * changes[0]  # still: the dream stops changing


def test_render_uses_the_student_and_says_so(tmp_path: Path, squeezenet: DreamNet, frames: list[np.ndarray],
                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    preset = look(tmp_path)
    students = StudentCache()
    args = object()
    gradient = render_settings(preset, args, squeezenet, preset.build_objective(squeezenet), SIZE, students=students)
    assert gradient.dreamer == "gradient" and "dreamer" not in gradient.manifest()  # old work folders resume
    ship_student(preset)
    settings = render_settings(preset, args, squeezenet, preset.build_objective(squeezenet), SIZE, students=students)
    assert settings.dreamer == "student" and settings.manifest()["dreamer"] == "student"
    student = render_student(preset, settings, squeezenet, students)
    assert student is not None
    forward = Counting(student.net.forward)
    student.net.forward = forward  # type: ignore[method-assign]
    monkeypatch.setattr(frame_dreamer, "dream_octaves", lambda *a, **k: pytest.fail("the gradient dreamt"))
    dreamer = FrameDreamer(squeezenet, preset.build_objective(squeezenet), settings, student=student)
    shown = [dreamer(index, dreamer.take(rgb))[0] for index, rgb in enumerate(frames)]
    assert forward.calls == len(frames)
    assert shown[-1].shape == (SIZE[1], SIZE[0], 3) and np.abs(shown[-1].astype(int) - frames[-1]).mean() > 0.1


def test_dream_with_a_student_preset_runs_the_student(tmp_path: Path, frames: list[np.ndarray],
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    from installation.commands import dream

    preset = look(tmp_path)
    ship_student(preset)
    picture, out = tmp_path / "in.png", tmp_path / "out.png"
    write_image(picture, frames[0])
    monkeypatch.setattr(dream, "dream_octaves", lambda *a, **k: pytest.fail("the gradient dreamt"))
    monkeypatch.setattr(dream, "select_backend", lambda *a, **k: pytest.fail("a gradient backend was built"))
    with caplog.at_level(logging.INFO, logger=dream.log.name):
        assert run.main(["dream", str(picture), "-o", str(out), "--preset", str(preset.path), "--backend", "onnx"]) == 0
    assert out.is_file()
    assert "the student" in caplog.text and "in torch (the backend is the gradient dream's)" in caplog.text


def test_the_student_lives_where_the_network_lives(tmp_path: Path) -> None:
    preset = look(tmp_path)
    ship_student(preset)
    students = StudentCache()
    student, _ = students.get(preset, "cpu", torch.float64)
    assert student is not None and next(student.net.parameters()).dtype == torch.float64
    assert students.get(preset, "cpu", torch.float64)[0] is student  # loaded once per file, device and dtype
    frame = torch.rand(1, 3, 36, 52, dtype=torch.float64)
    assert student_frame(student.net, frame, frame, 1.0, 0.5).dtype == torch.float64
