"""The director picks each preset's precision: bf16 where the injected CPU has it and probes faster.

The chooser learns the arithmetic with the preset, so the backend runs what the HUD says.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from engine.errors import DreamwallError
from installation.app.director import LookDirector
from installation.app.messages import Messages
from installation.dreaming.backend_choice import BackendChooser
from installation.dreaming.cpu_precision import Bf16Probe
from installation.presets.loader import PresetLibrary
from installation.presets.playlist import Playlist, PlaylistPlayer


def _director(precision: str, native: str | None, timings: tuple[float, float]) -> LookDirector:
    preset = dataclasses.replace(PresetLibrary().load("default"), precision=precision, process_size=(96, 64))
    programme = PlaylistPlayer(Playlist.of(["default"]), {"default": preset}, now=0.0)
    messages = Messages(lambda: 0.0, lambda: programme.current)
    probe = Bf16Probe(None, native=lambda: native, measure=lambda net, size: timings)
    return LookDirector(programme, BackendChooser(), (torch.device("cpu"), "cpu as asked"), None, messages, probe)


def test_auto_dreams_in_bf16_where_native_and_faster_and_the_backend_runs_it() -> None:
    director = _director("auto", "avx512_bf16", (39.6, 20.8))
    settings = director.settings()
    placement = director.placement_now
    assert placement is not None and placement.describe() == "cpu bf16"
    assert placement.precision_reason == "auto bf16: 20.8 vs 39.6 ms/step (avx512_bf16)"
    assert settings.dtype == torch.float32  # frames stay fp32
    director.backends(settings.net, settings.objective, (96, 64))
    assert director.backends.reason.startswith("auto chose torch (cpu bf16")


@pytest.mark.parametrize(("native", "timings"), [(None, (39.6, 20.8)), ("avx512_bf16", (20.0, 45.0))])
def test_auto_stays_fp32_where_bf16_is_missing_or_slower(native: str | None, timings: tuple[float, float]) -> None:
    director = _director("auto", native, timings)
    director.settings()
    assert director.placement_now is not None and director.placement_now.describe() == "cpu fp32"


def test_bf16_asked_without_it_exits_at_start_and_is_a_notice_on_reload() -> None:
    director = _director("bf16", None, (1.0, 1.0))
    with pytest.raises(DreamwallError, match="precision bf16 needs a CPU with native bfloat16"):
        director.prepare([director.programme.current])
    director.settings()  # a reload: fp32 and a notice, the show goes on
    assert director.placement_now is not None and director.placement_now.describe() == "cpu fp32"
    assert any("dreaming in fp32" in notice for notice in director.messages.notices)
