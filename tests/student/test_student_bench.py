"""`run.py bench --student` runs end to end (tiny sizes and clips here) and reports both dreamers side by side."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
import torch

import run
from engine.networks import DreamNet
from engine.student import StudentNet
from installation.benchmarks import student as bench
from installation.dreaming.students import LookStudent
from installation.presets.schema import Preset
from tests.student.helpers import TINY


def tiny_student(preset: Preset) -> tuple[LookStudent, None]:
    torch.manual_seed(0)
    net = StudentNet(TINY).eval()
    torch.nn.init.normal_(net.out.weight, std=0.05)
    return LookStudent(net, preset.lr, Path("tiny.student")), None


def test_the_student_bench_reports_speed_fidelity_and_flicker(monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str],
                                                              one_torch_thread: None) -> None:  # fmt: skip
    monkeypatch.setattr(bench, "_student", tiny_student)
    monkeypatch.setattr(bench, "SIZES", ((64, 36),))
    monkeypatch.setattr(bench, "WINDOW_S", 0.05)
    monkeypatch.setattr(bench, "MIN_FRAMES", 1)
    monkeypatch.setattr(bench, "FIDELITY_SIZE", (96, 54))
    monkeypatch.setattr(bench, "CLIP_SIZE", (64, 36))
    monkeypatch.setattr(bench, "CLIP_FRAMES", 18)
    monkeypatch.setattr(bench.temporal, "SKIP", 14)
    monkeypatch.setattr(bench.temporal, "GIF_SCALE", 3)
    monkeypatch.setattr(bench.show_cost, "SHOW_ROWS", (((64, 36), "demo", ("gradient", "student")),
                                                       ((96, 54), "demo", ("student", "student bf16")),
                                                       ((96, 54), "mjpeg", ("student",))))  # fmt: skip
    monkeypatch.setattr(bench.show_cost, "CLIP_S", 1.0)
    monkeypatch.setattr(bench, "native_bf16", lambda: "amx_bf16")  # its rows, whatever this CPU (emulated: slower)
    monkeypatch.setattr(bench.compiled, "missing", lambda device: "no compiler")  # compile's rows: test below
    monkeypatch.setattr(bench.show_cost, "SHOW_OUTPUT", (128, 72))
    monkeypatch.setattr(bench.show_cost, "SHOW_PAIRS", 2)
    shows = []  # each show's figures: its camera, as the capture thread named it, and the frames it published
    measure = bench.show_cost.measure_pipeline
    monkeypatch.setattr(bench.show_cost, "measure_pipeline", lambda preset, spec: shows.append(
        measure(preset, spec)) or shows[-1])  # fmt: skip
    assert run.main(["bench", "--student", "--json", "--repeats", "2"]) == 0
    # the mjpeg row read a real server's stream through the app's own stream source, a server per show
    assert [show.camera.split(" ")[0] for show in shows] == ["demo"] * 8 + ["stream"] * 2
    assert all(show.camera_frames > 0 for show in shows)
    assert shows[-1].camera.startswith("stream http://127.0.0.1:") and shows[-1].camera != shows[-2].camera
    result = json.loads(capsys.readouterr().out)
    assert [(r["size"], r["dreamer"], len(r["fps_runs"])) for r in result["speed"]] == [
        ("64x36", "gradient", 2), ("64x36", "student", 2), ("64x36", "student onnx", 2),
        ("64x36", "student bf16", 2)]  # fmt: skip
    assert all(r["fps"] > 0 for r in result["speed"])
    assert {r["picture"] for r in result["fidelity"]} == {"coffee", "clock"}
    assert all(r["teacher_gain"] > 0 for r in result["fidelity"])
    assert {(r["dreamer"]) for r in result["flicker"]} == {"gradient", "student"}
    assert len(result["flicker"]) == 2 * 5 and all(r["strength"] > 0 for r in result["flicker"])
    assert [(r["size"], r["camera"], r["dreamer"]) for r in result["show"]] == [
        ("64x36", "demo", "gradient"), ("64x36", "demo", "student"), ("96x54", "demo", "student"),
        ("96x54", "demo", "student bf16"), ("96x54", "mjpeg", "student")]  # fmt: skip
    for row in result["show"]:  # the dream stage timed in the show and alone, pair by pair, and their ratio
        assert row["dream_fps"] > 0 and row["dream_ms_show"] > 0 and row["dream_ms_alone"] > 0
        assert row["threads"] == [1, 1]  # the show's tuner chose among one thread; the worker alone ran on it
        assert len(row["ratios"]) == 2 and all(r > 0 for r in row["ratios"])
        assert row["ratio"] == pytest.approx(statistics.median(row["ratios"]))
    bench._print(result, [bench.SpeedRow(**r) for r in result["speed"]],
                 [bench.FidelityRow(**r) for r in result["fidelity"]],
                 [bench.FlickerRow(**r) for r in result["flicker"]],
                 [bench.ShowRow(**r) for r in result["show"]])  # fmt: skip
    table = capsys.readouterr().out
    assert "gradient" in table and "student" in table and "mean fidelity" in table and "mean student" in table
    assert "inside the show" in table and "student bf16" in table and "mjpeg" in table


def test_without_native_bf16_the_bench_has_no_bf16_row(squeezenet: DreamNet) -> None:
    from installation.presets.loader import PresetLibrary

    preset = PresetLibrary().load("default")
    student, _ = tiny_student(preset)
    assert "student bf16" not in bench._dreamers(preset, squeezenet, student, bf16=False, compiler=False)
    with_bf16 = bench._dreamers(preset, squeezenet, student, bf16=True, compiler=False)["student bf16"].student
    assert with_bf16 is not None and with_bf16.backend == "torch bf16"


def test_compiled_students_are_built_for_a_size_before_it_is_timed(
        squeezenet: DreamNet, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from installation.presets.loader import PresetLibrary

    preset = PresetLibrary().load("default")
    student, _ = tiny_student(preset)
    dreamers = bench._dreamers(preset, squeezenet, student, bf16=True, compiler=True)
    assert list(dreamers) == ["gradient", "student", "student onnx", "student bf16", "student compile",
                              "student compile bf16"]  # fmt: skip
    assert dreamers["student compile bf16"].student.backend == "compile (torch bf16)"  # type: ignore[union-attr]
    runner = dreamers["student compile"].student.net  # type: ignore[union-attr]
    prepared = []
    monkeypatch.setattr(runner, "prepare", lambda shape: prepared.append(shape))
    monkeypatch.setattr(bench, "WINDOW_S", 0.05)
    monkeypatch.setattr(bench, "MIN_FRAMES", 1)
    bench._worker_fps(dreamers["student compile"], (64, 36), 1)
    assert prepared == [(1, 3, 36, 64)]
