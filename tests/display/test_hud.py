"""What the technician sees (issue 10, 15-17): HUD size and wording, the badge, blackout, fullscreen."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np
import pygame
import pytest

from installation.controls.actions import Dispatcher
from installation.display.hud import Badge, Hud, HudInfo, backend_text, font_size_for, fresh_notices, hud_lines
from installation.display.layout import place_on_display
from installation.testing.clocks import HandClock

WINDOW = (640, 360)
GREY = (90, 90, 90)


def solid(colour, size=(64, 36)):
    return np.full((size[1], size[0], 3), colour, dtype=np.uint8)


@pytest.fixture
def make_renderer(open_renderer):
    dream = solid(GREY)

    def make(**kwargs):
        kwargs.setdefault("latest", lambda: (1, dream))
        kwargs.setdefault("dispatcher", Dispatcher())
        kwargs.setdefault("size", WINDOW)
        return open_renderer(**kwargs)

    return make


def screen() -> np.ndarray:
    """The window as (width, height, 3)."""
    return pygame.surfarray.array3d(pygame.display.get_surface()).copy()


def changed_box(before: np.ndarray, after: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the pixels that differ, None when none do."""
    xs, ys = np.nonzero(np.any(before != after, axis=2))
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


# ---- 16: size and wording ------------------------------------------------------------------


def test_font_size_follows_the_screen_height_with_a_floor():
    assert font_size_for(1080) == 24 and font_size_for(2160) == 48
    assert font_size_for(360) == 14 and font_size_for(100) == 14  # never unreadably small


def test_hud_panel_scales_with_the_screen():
    hud = Hud()
    target_small, target_big = pygame.Surface((640, 360)), pygame.Surface((1920, 1080))
    info = HudInfo(preset="melt")
    hud.update(info, (640, 360))
    small = hud.draw(target_small)
    hud.update(info, (1920, 1080))
    big = hud.draw(target_big)
    assert hud.font_size == 24
    assert big.height >= 1.5 * small.height  # 24 px text at 1080p, not the 12 px it was
    assert big.right < 0.7 * 1920  # and still only a corner of the art


def test_backend_line_names_the_choice_and_where_it_runs_not_why():
    assert backend_text("torch", "cpu fp32") == "torch · cpu fp32"
    assert backend_text("tensorrt", "cuda:0 fp16") == "tensorrt · cuda:0 fp16"
    assert backend_text("torch", "") == "torch"
    reason = "auto chose torch (cpu fp32, any objective): fastest available on cpu"
    info = HudInfo(network="squeezenet1_1", backend="torch", backend_reason=reason, placement="cpu fp32")
    assert hud_lines(info)[1].text == "squeezenet1_1 · backend torch · cpu fp32"


def test_rec_line_reads_rec_name_time():
    lines = hud_lines(HudInfo(recording="dreamwall-1.mp4", recording_s=3.7))
    assert ("REC", "dreamwall-1.mp4 00:03", "error") in lines
    lines = hud_lines(HudInfo(recording="dreamwall-1.mp4", recording_s=75, recording_dropped=4))
    assert ("REC", "dreamwall-1.mp4 01:15 · 4 dropped", "error") in lines


def test_an_error_or_a_state_is_said_once():
    error = "preset melt.yaml broken: lr (kept last good)"
    info = HudInfo(notices=(error, "reloaded preset ghost", "no camera"), last_error=error, badge="no camera")
    texts = [line.text for line in hud_lines(info)]
    assert texts.count(error) == 1 and texts.count("no camera") == 1
    assert ("notice", "reloaded preset ghost", "notice") in hud_lines(info)


def test_notices_expire_after_ten_seconds():
    posted = [(100.0, "reloaded preset melt"), (105.0, "screenshot a.png"), (106.0, "screenshot a.png")]
    assert fresh_notices(posted, now=109.9) == ("reloaded preset melt", "screenshot a.png")
    assert fresh_notices(posted, now=110.0) == ("screenshot a.png",)
    assert fresh_notices(posted, now=116.0) == ()


def test_long_lines_are_cut_not_spread_over_the_art():
    hud = Hud()
    hud.update(HudInfo(last_error="x" * 500), WINDOW)
    assert hud.draw(pygame.Surface(WINDOW)).width <= 0.7 * WINDOW[0] + 12


# ---- 15: the badge -------------------------------------------------------------------------


def test_badge_stays_until_acknowledged_then_fades():
    clock = HandClock()
    badge = Badge(now=clock, fade_s=1.0)
    assert badge.alpha() == 0  # nothing to say
    badge.show("no camera")
    clock.now += 3600
    assert badge.alpha() == 255  # an unattended wall keeps saying it
    badge.acknowledge()
    clock.now += 0.5
    assert 0 < badge.alpha() < 255
    clock.now += 0.5
    assert badge.alpha() == 0 and not badge.visible
    badge.show("no camera")  # the same state: stays acknowledged
    assert badge.alpha() == 0
    badge.show("camera lost: reconnecting")  # a new state shows again
    assert badge.alpha() == 255


def test_badge_shows_with_the_hud_off_and_a_key_acknowledges_it(make_renderer):
    clock = HandClock()
    info = {"badge": None}
    renderer = make_renderer(hud_info=lambda: info, now=clock)
    renderer.tick()
    plain = screen()
    info["badge"] = "no camera found: showing the built-in demo"
    clock.now += 1.0  # the next info poll
    renderer.tick()
    x0, y0, x1, y1 = changed_box(plain, screen())
    assert x1 > WINDOW[0] - 20 and y1 > WINDOW[1] - 20  # bottom-right corner
    assert (x1 - x0) < 0.7 * WINDOW[0] and (y1 - y0) < 0.15 * WINDOW[1]  # small
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_F12, mod=0, unicode="", scancode=0))
    renderer.tick()  # an unbound key still counts as "seen"
    clock.now += 1.0
    renderer.tick()
    assert changed_box(plain, screen()) is None


def test_hud_toggle_acknowledges_the_badge_and_shows_the_state_as_a_line(make_renderer):
    clock = HandClock()
    renderer = make_renderer(hud_info=lambda: {"badge": "asleep until opening time"}, now=clock)
    renderer.tick()
    assert renderer.badge.visible
    renderer.toggle_hud()
    renderer.tick()
    renderer.toggle_hud()
    clock.now += 1.0
    renderer.tick()
    assert not renderer.badge.visible
    assert ("state", "asleep until opening time", "notice") in hud_lines(HudInfo(badge="asleep until opening time"))


# ---- 16: blackout --------------------------------------------------------------------------


def test_blackout_hides_the_hud_panel_but_shows_a_small_blackout_word(make_renderer):
    renderer = make_renderer(hud_info=lambda: {"preset": "melt", "notices": ["a", "b", "c"]}, hud_visible=True)
    renderer.tick()
    with_hud = changed_box(np.zeros_like(screen()), screen())
    renderer.set_blackout(True)
    renderer.tick()
    x0, y0, x1, y1 = changed_box(np.zeros_like(screen()), screen())  # against pure black
    assert (y1 - y0) < 30 and (x1 - x0) < 200  # one short word, not the panel
    red = screen()[x0:x1, y0:y1]
    assert red[..., 0].max() > 200 and red[..., 1].max() < 160  # in the error colour
    renderer.toggle_hud()
    renderer.tick()
    assert changed_box(np.zeros_like(screen()), screen()) is None  # HUD off: pure black
    assert with_hud is not None  # the panel was drawn, and it is larger than the word both ways
    assert with_hud[2] - with_hud[0] > x1 - x0 and with_hud[3] - with_hud[1] > y1 - y0


# ---- 17: fullscreen again after F, F -------------------------------------------------------


class FakeWindow:
    def __init__(self) -> None:
        self.size, self.position = (1280, 720), (320, 180)
        self.calls: list[str] = []

    def __setattr__(self, name, value):
        if name in ("size", "position") and hasattr(self, "calls"):
            self.calls.append(name)
        super().__setattr__(name, value)


def test_place_on_display_sizes_then_centres_on_the_chosen_display():
    window = FakeWindow()
    place_on_display(window, 1, (1920, 1080))
    assert window.calls == ["size", "position"]  # resized first, so centring lands on the origin
    assert window.size == (1920, 1080) and window.position == (0x2FFF0001, 0x2FFF0001)  # CENTERED_DISPLAY(1)
    window = FakeWindow()
    place_on_display(window, 0)
    assert window.calls == ["position"] and window.size == (1280, 720)


CHILD = """
import os, subprocess, sys
import numpy as np
from installation.controls.actions import Dispatcher
from installation.display.layout import place_on_display
from installation.display.renderer import Renderer

def geometry():
    out = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True, check=True).stdout
    return next(line.split()[-2] for line in out.splitlines() if '"Dreamwall"' in line)

image = np.full((90, 160, 3), 100, np.uint8)
renderer = Renderer(lambda: (1, image), Dispatcher(), fps=0)
for _ in range(3):
    renderer.tick()
print("start", geometry())
for step in ("windowed", "fullscreen"):
    renderer.toggle_fullscreen()
    for _ in range(3):
        renderer.tick()
    print(step, geometry())
renderer.close()
"""


@pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xwininfo")),
                    reason="needs Xvfb and xwininfo (apt-get install -y xvfb x11-utils)")
def test_f_f_on_a_bare_x_server_comes_back_at_the_display_origin(tmp_path):
    """A kiosk without a window manager: Xvfb, no WM; SDL's real X11 driver in a child process."""
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        env = {**os.environ, "DISPLAY": f":{number}", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        env.pop("SDL_VIDEODRIVER", None)
        result = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60)
    finally:
        server.terminate()
        server.wait(10)
    assert result.returncode == 0, result.stderr
    steps = dict(line.split() for line in result.stdout.splitlines() if line.startswith(("start", "windowed", "full")))
    assert steps == {
        "start": "1920x1080+0+0",
        "windowed": "1280x720+320+180",  # centred on the display
        "fullscreen": "1920x1080+0+0",  # was 1920x1080+320+180: a quarter of the picture off screen
    }
