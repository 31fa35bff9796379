"""The worker's mode machine on its own: a hand-driven clock, no threads, no network.

A still room turns attract on after `after_s` (only once there is a dream to evolve)
and motion turns it off; no camera frame for `lost_after_s` starts the source-lost
loop at `lost_fps`; coming back to the camera crossfades from the last evolved dream.
"""

from __future__ import annotations

import logging

import pytest
import torch

from engine.attract import AttractParams
from installation.dreaming.modes import ModeMachine
from installation.testing.clocks import HandClock

STILL, MOVING = 0.0, 0.5  # motion levels either side of attract mode's threshold (0.1)


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


def machine(clock: HandClock, attract: AttractParams | None) -> ModeMachine:
    modes = ModeMachine(clock)
    modes.configure(attract)
    return modes


DREAM = torch.zeros(1, 3, 4, 4)
ATTRACT = AttractParams(after_s=30, fade_s=2.0, lost_after_s=2.0, lost_fps=10.0)


def test_a_still_room_turns_attract_on_after_the_delay_and_motion_turns_it_off(clock: HandClock) -> None:
    modes = machine(clock, ATTRACT)
    clock.now += 29.9
    assert modes.choose(ATTRACT, STILL, DREAM, clock.now) == "camera"
    clock.now += 0.1
    assert modes.choose(ATTRACT, STILL, None, clock.now) == "camera"  # nothing to evolve yet
    assert modes.choose(ATTRACT, STILL, DREAM, clock.now) == "attract"
    modes.shown("attract")
    assert modes.choose(ATTRACT, MOVING, DREAM, clock.now) == "camera"
    modes.shown("camera")
    clock.now += 29.0
    assert modes.choose(ATTRACT, STILL, DREAM, clock.now) == "camera"  # the stillness timer started again


def test_attract_off_in_the_settings_never_evolves(clock: HandClock) -> None:
    off = AttractParams(enabled=False, lost_after_s=2.0)
    modes = machine(clock, off)
    clock.now += 3600
    assert modes.choose(off, STILL, DREAM, clock.now) == "camera"
    assert modes.choose(None, STILL, DREAM, clock.now) == "camera"


def test_the_way_back_to_the_camera_crossfades_over_fade_s(clock: HandClock) -> None:
    modes = machine(clock, ATTRACT)
    modes.shown("attract")
    evolved, camera = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    assert modes.choose(ATTRACT, MOVING, evolved, clock.now) == "camera"
    assert float(modes.faded(camera, clock.now).mean()) == 0.0  # starts on the evolved dream
    halfway = modes.faded(camera, clock.now + 0.5)  # a quarter of 2 s: smoothstep(0.25) = 0.15625
    assert float(halfway.mean()) == pytest.approx(0.15625)
    assert torch.equal(modes.faded(camera, clock.now + 2.0), camera)
    assert torch.equal(modes.faded(camera, clock.now + 0.5), camera)  # over for good


def test_no_fade_when_fade_s_is_zero_or_the_mode_did_not_change(clock: HandClock) -> None:
    no_fade = AttractParams(after_s=30, fade_s=0.0)
    modes = machine(clock, no_fade)
    camera = torch.ones(1, 3, 4, 4)
    modes.shown("attract")
    modes.choose(no_fade, MOVING, DREAM, clock.now)
    assert torch.equal(modes.faded(camera, clock.now), camera)
    modes = machine(clock, ATTRACT)
    modes.choose(ATTRACT, MOVING, DREAM, clock.now)  # camera to camera
    assert torch.equal(modes.faded(camera, clock.now), camera)


def test_the_source_counts_as_lost_after_lost_after_s_and_is_paced_at_lost_fps(clock: HandClock) -> None:
    modes = machine(clock, ATTRACT)
    modes.camera_seen()
    assert modes.wait_for(ATTRACT, 0.25, has_dream=True) == 0.25
    clock.now += 1.9
    assert modes.wait_for(ATTRACT, 0.25, has_dream=True) == pytest.approx(0.1)  # wakes up when it is due
    assert not modes.lost_frame_due(ATTRACT, has_dream=True)
    clock.now += 0.1
    assert modes.lost_frame_due(ATTRACT, has_dream=True)
    assert not modes.lost_frame_due(ATTRACT, has_dream=False)  # nothing to evolve
    modes.lost_frame(ATTRACT, clock.now)
    modes.shown("source-lost")
    assert not modes.lost_frame_due(ATTRACT, has_dream=True)
    assert modes.wait_for(ATTRACT, 0.25, has_dream=True) == pytest.approx(0.1)  # 1 / lost_fps
    clock.now += 0.1
    assert modes.lost_frame_due(ATTRACT, has_dream=True)
    modes.camera_seen()
    assert not modes.lost_frame_due(ATTRACT, has_dream=True)


@pytest.mark.parametrize("attract", [None, AttractParams(lost_after_s=0.0)], ids=["no-attract", "never-lost"])
def test_without_a_lost_setting_the_source_is_never_lost(clock: HandClock, attract: AttractParams | None) -> None:
    modes = machine(clock, attract)
    clock.now += 3600
    assert not modes.lost_frame_due(attract, has_dream=True)
    assert modes.wait_for(attract, 0.25, has_dream=True) == 0.25


def test_camera_frames_after_a_lost_spell_say_so_once_and_restart_the_stillness_timer(
    clock: HandClock, caplog: pytest.LogCaptureFixture
) -> None:
    modes = machine(clock, ATTRACT)
    clock.now += 25  # 25 still seconds before the camera went
    with caplog.at_level(logging.INFO, logger="installation.dreaming.modes"):
        assert not modes.camera_returns()
        clock.now += 2.0
        modes.lost_frame(ATTRACT, clock.now)
        modes.shown("source-lost")
        modes.lost_frame(ATTRACT, clock.now + 0.1)  # already lost: said once
        assert modes.camera_returns()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["no camera frame for 27.0 s: the last dream evolves on its own until the camera returns",
                        "camera frames are back: dreaming the camera again"]  # fmt: skip
    clock.now += 10  # 37 s since the room went still, 10 since the camera came back
    assert modes.choose(ATTRACT, STILL, DREAM, clock.now) == "camera"


def test_a_restart_after_a_freeze_counts_neither_the_pause_as_stillness_nor_as_a_lost_camera(
    clock: HandClock,
) -> None:
    modes = machine(clock, ATTRACT)
    clock.now += 3600  # frozen for an hour
    modes.restart()
    assert not modes.lost_frame_due(ATTRACT, has_dream=True)
    assert modes.choose(ATTRACT, STILL, DREAM, clock.now) == "camera"
    clock.now += 30
    assert modes.choose(ATTRACT, STILL, DREAM, clock.now) == "attract"
