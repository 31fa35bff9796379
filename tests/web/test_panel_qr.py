"""The QR code on the HUD carries the panel's address and token, and a phone's reader can decode it."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pygame
import pytest

from installation.display.hud import Hud, HudInfo
from installation.web.service import panel_url, qr_rows

URL = "http://192.168.1.20:8080/?token=Xe5OLCw_HDXjyRoXBk7OTRfoOZctBWaR"


@pytest.fixture
def screen():
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    pygame.init()
    yield pygame.Surface((1920, 1080))
    pygame.quit()


def test_the_hud_qr_decodes_to_the_panel_url_with_its_token(screen):
    hud = Hud()
    hud.update(HudInfo(preset="melt", qr=qr_rows(URL)), screen.get_size())
    screen.fill((40, 40, 40))
    area = hud.draw(screen)
    assert area is not None
    pixels = np.transpose(pygame.surfarray.array3d(screen), (1, 0, 2))[area.top:area.bottom, area.left:area.right]
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(np.ascontiguousarray(pixels[:, :, ::-1]))
    assert text == URL


def test_no_qr_without_a_token_and_a_wildcard_bind_names_the_lan_address():
    hud_without = HudInfo(preset="melt")
    assert hud_without.qr == ()
    assert panel_url("127.0.0.1", 8080, None) == "http://127.0.0.1:8080/"
    wildcard = panel_url("0.0.0.0", 8080, "abc")
    assert wildcard.endswith(":8080/?token=abc") and "0.0.0.0" not in wildcard
