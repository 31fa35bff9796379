"""The size governor on its own: the device's size, and the step-down on running out of memory.

Sizes are (width, height); the figures are worked out by hand (x0.75 a step, never
below 64 px on the short side), not with the governor's own formula.
"""

from __future__ import annotations

import pytest
import torch

from installation.dreaming.size_governor import SizeGovernor, auto_process_size, is_out_of_memory


def test_auto_size_is_small_on_a_cpu_and_larger_on_a_gpu() -> None:
    assert auto_process_size("cpu") == (320, 180)
    assert auto_process_size(torch.device("cuda", 0)) == (960, 540)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
        (RuntimeError("CUDA error: out of memory"), True),
        (RuntimeError("[TensorRT] Out Of Memory"), True),
        (RuntimeError("shape mismatch"), False),
        (ValueError("out of memory"), False),
    ],
)
def test_out_of_memory_is_cudas_error_or_a_runtime_error_saying_so(error: Exception, expected: bool) -> None:
    assert is_out_of_memory(error) is expected


def test_the_asked_size_or_the_devices_is_dreamt_until_memory_runs_out() -> None:
    sizes = SizeGovernor()
    assert sizes.size is None
    assert sizes.follow(None, torch.device("cpu")) == (320, 180)
    assert sizes.follow((160, 120), torch.device("cpu")) == (160, 120)
    assert sizes.size == (160, 120) and sizes.steps == 0 and sizes.notice is None


def test_each_step_down_is_three_quarters_until_64_px_on_the_short_side(monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: events.append("empty cache"))
    sizes = SizeGovernor()
    sizes.follow((160, 120), torch.device("cuda"))
    notices = []
    while (notice := sizes.step_down(release=lambda: events.append("release"))) is not None:
        notices.append(notice)
    # 160x120 -> 120x90 -> 90x67.5 (68) -> 64 px short side: 120 * 64/120 = 64, 160 * 64/120 = 85.3 (85)
    assert notices == [
        "out of GPU memory at 160x120: dreaming at 120x90 now",
        "out of GPU memory at 120x90: dreaming at 90x68 now",
        "out of GPU memory at 90x68: dreaming at 85x64 now",
    ]
    assert sizes.size == (85, 64) and sizes.steps == 3 and sizes.notice == notices[-1]
    assert events == ["release", "empty cache"] * 3  # what the old size held goes before the cache is emptied


def test_the_step_down_carries_over_to_the_next_presets_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    sizes = SizeGovernor()
    sizes.follow((160, 120), torch.device("cpu"))
    sizes.step_down(release=lambda: None)
    assert sizes.follow((200, 100), torch.device("cpu")) == (150, 75)


def test_nothing_to_step_down_before_the_first_frame_or_at_the_smallest_size() -> None:
    released: list[int] = []
    assert SizeGovernor().step_down(release=lambda: released.append(1)) is None
    smallest = SizeGovernor()
    smallest.follow((96, 64), torch.device("cpu"))
    assert smallest.step_down(release=lambda: released.append(1)) is None
    assert smallest.size == (96, 64) and smallest.steps == 0 and released == []


@pytest.mark.parametrize(
    ("asked", "camera", "expected"),
    [
        # worked out by hand: width = sqrt(pixels * aspect), height = sqrt(pixels / aspect), rounded
        (None, (640, 480), (277, 208)),  # 57,600 px at 4:3: sqrt(76,800) = 277.1, sqrt(43,200) = 207.8
        (None, (2560, 1080), (370, 156)),  # 21:9 (64:27): sqrt(136,533) = 369.504, sqrt(24,300) = 155.9
        (None, (1080, 1920), (180, 320)),  # a camera turned to portrait: the same budget, upright
        (None, (1280, 720), (320, 180)),  # the setting's own aspect: exactly the setting
        (None, (854, 480), (320, 180)),  # not quite 16:9: rounding does not move the size by a pixel
        ((640, 360), (640, 480), (554, 416)),  # an explicit size is a budget too: 230,400 px at 4:3
    ],
)
def test_the_size_is_a_pixel_budget_at_the_cameras_aspect(asked, camera, expected) -> None:
    sizes = SizeGovernor()
    assert sizes.follow(asked, torch.device("cpu"), camera) == expected
    assert sizes.follow(asked, torch.device("cpu")) == expected  # no frame (camera lost): the last one's aspect


def test_a_step_down_keeps_the_cameras_aspect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    sizes = SizeGovernor()
    sizes.follow((160, 120), torch.device("cpu"), (1920, 1080))  # 19,200 px at 16:9: 185x104 (184.8, 103.9)
    assert sizes.size == (185, 104)
    sizes.step_down(release=lambda: None)
    assert sizes.follow((160, 120), torch.device("cpu"), (1920, 1080)) == (139, 78)  # x0.75
