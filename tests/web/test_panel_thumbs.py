"""Thumbnails come from the show itself once a preset has settled, are cached, and retaken when edited."""

from __future__ import annotations

import os
import time

import numpy as np

from installation.web.thumbs import SETTLE_S, Thumbnails

FRAME = (7, np.full((360, 640, 3), 200, np.uint8))


def make(tmp_path, clock):
    preset = tmp_path / "melt.yaml"
    preset.write_text("network: squeezenet1_1\n")
    os.utime(preset, (1000, 1000))
    files = {"melt": preset}
    return Thumbnails(tmp_path / "thumbs", files.get, clock=lambda: clock[0]), preset


def test_a_thumbnail_is_taken_only_after_the_preset_settled_and_is_cached_on_disk(tmp_path):
    clock = [0.0]
    thumbs, _ = make(tmp_path, clock)
    showing = {"preset": "melt"}
    assert not thumbs.follow(showing, FRAME)
    clock[0] = SETTLE_S - 0.1
    assert not thumbs.follow(showing, FRAME) and thumbs.get("melt") is None
    clock[0] = SETTLE_S + 0.1
    assert thumbs.follow(showing, FRAME)
    assert thumbs.get("melt")[:2] == b"\xff\xd8"
    assert not thumbs.follow(showing, FRAME)  # once is enough
    again = Thumbnails(tmp_path / "thumbs", lambda name: None)  # a restart reads the cache
    assert again.get("melt") == thumbs.get("melt") and "melt" in again.versions(["melt", "eyes"])


def test_a_blackout_or_a_switch_restarts_the_wait(tmp_path):
    clock = [0.0]
    thumbs, _ = make(tmp_path, clock)
    thumbs.follow({"preset": "melt"}, FRAME)
    clock[0] = 3.0
    thumbs.follow({"preset": "melt", "blackout": True}, FRAME)
    thumbs.follow({"preset": "eyes"}, FRAME)
    clock[0] = 6.0
    assert not thumbs.follow({"preset": "melt"}, FRAME)  # melt shown again only now
    clock[0] = 6.0 + SETTLE_S
    assert thumbs.follow({"preset": "melt"}, FRAME)


def test_an_edited_preset_is_photographed_again(tmp_path):
    clock = [0.0]
    thumbs, preset = make(tmp_path, clock)
    thumbs.follow({"preset": "melt"}, FRAME)
    clock[0] = SETTLE_S
    assert thumbs.follow({"preset": "melt"}, FRAME)
    clock[0] += 1
    assert not thumbs.follow({"preset": "melt"}, FRAME)
    future = time.time() + 60  # the file is now newer than the thumbnail
    os.utime(preset, (future, future))
    assert thumbs.follow({"preset": "melt"}, FRAME)
