"""Renderer, HUD and keyboard under SDL's dummy video driver (no display needed); geometry: test_layout.py."""

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np
import pygame
import pytest

from engine.errors import DreamwallError
from installation.controls.actions import ACTION_KINDS, Action, Dispatcher
from installation.controls.bindings import DEFAULT_BINDINGS, load_bindings
from installation.controls.inputs import Controls, ControlsConfig
from installation.controls.keys import default_keys
from installation.display.crossfade import crossfade
from installation.display.hud import HudInfo, as_hud_info, hud_lines
from installation.display.renderer import action_for_event
from installation.outputs.images import read_image
from installation.outputs.png_settings import read_settings
from installation.presets.hot_reload import HotReloader
from installation.testing.clocks import HandClock

WINDOW = (160, 90)
RED, GREEN, BLUE = (220, 20, 30), (10, 200, 40), (30, 40, 230)


def solid(colour, size=(64, 48)):
    width, height = size
    return np.full((height, width, 3), colour, dtype=np.uint8)


class Feed:
    """A stand-in for the dream worker: tests set what latest() returns."""

    def __init__(self):
        self.item = None
        self.calls = 0

    def set(self, seq, rgb):
        self.item = (seq, rgb)

    def __call__(self):
        self.calls += 1
        return self.item


@pytest.fixture
def recorded():
    dispatcher = Dispatcher()
    got = []
    for kind in ACTION_KINDS:
        dispatcher.on(kind, got.append)
    return dispatcher, got


@pytest.fixture
def make_renderer(recorded, open_renderer):
    def make(**kwargs):
        kwargs.setdefault("latest", Feed())
        kwargs.setdefault("dispatcher", recorded[0])
        kwargs.setdefault("size", WINDOW)
        return open_renderer(**kwargs)

    return make


def screen_pixel(x, y):
    return tuple(pygame.display.get_surface().get_at((x, y)))[:3]


def centre():
    width, height = pygame.display.get_surface().get_size()
    return screen_pixel(width // 2, height // 2)


def key_event(key, unicode=""):
    return pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=unicode, scancode=0)


# ---- keyboard ----------------------------------------------------------------------------

KEY_CASES = [
    (pygame.K_RIGHT, "", Action("next")),
    (pygame.K_LEFT, "", Action("previous")),
    (pygame.K_1, "1", Action("select", 1)),
    (pygame.K_9, "9", Action("select", 9)),
    (pygame.K_SPACE, " ", Action("freeze")),
    (pygame.K_h, "h", Action("hud")),
    (pygame.K_f, "f", Action("fullscreen")),
    (pygame.K_PLUS, "+", Action("intensity_step", 0.1)),
    (pygame.K_EQUALS, "+", Action("intensity_step", 0.1)),  # shift+= on a US keyboard
    (pygame.K_KP_PLUS, "+", Action("intensity_step", 0.1)),
    (pygame.K_MINUS, "-", Action("intensity_step", -0.1)),
    (pygame.K_KP_3, "3", Action("select", 3)),
    (pygame.K_s, "s", Action("screenshot")),
    (pygame.K_r, "r", Action("record")),
    (pygame.K_b, "b", Action("blackout")),
    (pygame.K_q, "q", Action("quit")),
    (pygame.K_ESCAPE, "\x1b", Action("quit")),
]


def test_posted_key_events_become_actions_in_order(make_renderer, recorded):
    dispatcher, got = recorded
    renderer = make_renderer()
    for key, unicode, _ in KEY_CASES:
        pygame.event.post(key_event(key, unicode))
    pygame.event.post(key_event(pygame.K_F12))  # unbound: ignored
    renderer.tick()
    dispatcher.drain()
    assert [(a.kind, a.value) for a in got] == [(e.kind, e.value) for _, _, e in KEY_CASES]
    assert {a.source for a in got} == {"keyboard"}


def test_window_close_posts_quit(make_renderer, recorded):
    dispatcher, got = recorded
    renderer = make_renderer()
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    renderer.tick()
    dispatcher.drain()
    assert [(a.kind, a.source) for a in got] == [("quit", "window")]


def test_injected_key_table_replaces_defaults(make_renderer):
    keys = {"space": Action("blackout", source="test"), "n": Action("next")}
    make_renderer(keys=keys)
    assert action_for_event(key_event(pygame.K_SPACE, " "), keys) == Action("blackout", source="test")
    assert action_for_event(key_event(pygame.K_n, "n"), keys) == Action("next", source="keyboard")
    assert action_for_event(key_event(pygame.K_h, "h"), keys) is None
    assert action_for_event(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(0, 0)), keys) is None


def test_default_keys_cover_the_issue():
    keys = default_keys()
    assert dict(keys) == load_bindings(DEFAULT_BINDINGS).keyboard
    for name in ["right", "left", "space", "h", "f", "+", "-", "s", "r", "b", "q", "escape"]:
        assert name in keys
    assert [keys[str(n)].value for n in range(1, 10)] == list(range(1, 10))


def test_without_a_table_the_renderer_uses_the_shipped_bindings(make_renderer, recorded):
    dispatcher, got = recorded
    renderer = make_renderer()
    pygame.event.post(key_event(pygame.K_l, "l"))  # 'learn' is only in bindings/default.yaml
    renderer.tick()
    dispatcher.drain()
    assert [(a.kind, a.source) for a in got] == [("learn", "keyboard")]


def test_edited_bindings_file_reaches_the_renderer_keys(make_renderer, recorded, tmp_path):
    dispatcher, got = recorded
    path = tmp_path / "bindings.yaml"
    text = DEFAULT_BINDINGS.read_text()
    path.write_text(text)
    controls = Controls(ControlsConfig(bindings=path, midi=False), dispatcher, notify=lambda _: None)
    reloader = HotReloader()
    controls.watch(reloader)
    renderer = make_renderer(keys=controls.keyboard)
    pygame.event.post(key_event(pygame.K_x, "x"))
    renderer.tick()
    dispatcher.drain()
    assert got == []  # 'x' is unbound in the shipped table

    path.write_text(text.replace("keyboard:\n", "keyboard:\n  x: next\n", 1))
    assert reloader.poll(now=1.0) + reloader.poll(now=2.0) == 1  # seen, then settled: applied
    pygame.event.post(key_event(pygame.K_x, "x"))
    renderer.tick()
    dispatcher.drain()
    assert [(a.kind, a.source) for a in got] == [("next", "keyboard")]


# ---- the renderer --------------------------------------------------------------------------


def test_shows_the_newest_frame_and_uploads_only_on_new_seq(make_renderer):
    feed = Feed()
    renderer = make_renderer(latest=feed)
    renderer.tick()  # nothing yet: black, no crash, no wait
    assert centre() == (0, 0, 0) and renderer.shown_seq is None
    feed.set(1, solid(RED))
    renderer.tick()
    assert centre() == RED
    feed.set(2, solid(GREEN))
    renderer.tick()
    assert centre() == GREEN and renderer.shown_seq == 2
    uploads = renderer.uploads
    feed.set(2, solid(BLUE))  # same seq: not a new dream, not re-uploaded
    renderer.tick()
    renderer.tick()
    assert centre() == GREEN and renderer.uploads == uploads
    assert feed.calls == 5


def test_fit_draws_bars_and_fill_and_stretch_do_not(make_renderer):
    feed = Feed()
    feed.set(1, solid(RED, (48, 48)))  # square dream on a 16:9 window
    renderer = make_renderer(latest=feed, fit="fit")
    renderer.tick()
    assert centre() == RED and screen_pixel(2, WINDOW[1] // 2) == (0, 0, 0)
    for mode in ("fill", "stretch"):
        renderer.set_fit(mode)
        renderer.tick()
        assert screen_pixel(2, WINDOW[1] // 2) == RED


def test_hud_toggle_draws_info(make_renderer):
    feed = Feed()
    feed.set(1, solid(BLUE))
    info = {"preset": "melt", "network": "squeezenet1_1", "notices": ["no camera found: showing demo"]}
    renderer = make_renderer(latest=feed, hud_info=lambda: info, size=(640, 360))
    renderer.tick()
    without = pygame.surfarray.array3d(pygame.display.get_surface()).copy()
    renderer.toggle_hud()
    renderer.tick()
    with_hud = pygame.surfarray.array3d(pygame.display.get_surface())
    changed = np.any(with_hud != without, axis=2)
    assert changed[:80, :40].sum() > 100  # text and panel in the top-left corner
    assert not changed[-20:, -20:].any()  # the dream elsewhere is untouched
    renderer.toggle_hud()
    renderer.tick()
    assert np.array_equal(pygame.surfarray.array3d(pygame.display.get_surface()), without)


def test_hud_lines_name_what_matters():
    info = as_hud_info(
        {
            "preset": "melt",
            "backend": "onnxruntime",
            "backend_reason": "auto chose onnxruntime (cpu fp32, layer/channel objectives): fastest available on cpu",
            "placement": "cpu fp32",
            "capture_fps": 29.97,
            "process_size": (320, 180),
            "recording": "out/a.mp4",
            "recording_s": 75,
            "last_error": "preset melt.yaml broken: lr (kept last good)",
        }
    )
    text = "\n".join(line.text for line in hud_lines(info))
    for part in ["melt", "backend onnxruntime · cpu fp32", "capture 30.0", "process 320x180", "out/a.mp4 01:15"]:
        assert part in text
    assert ("error", "preset melt.yaml broken: lr (kept last good)", "error") in hud_lines(info)
    assert [(line.label, line.text) for line in hud_lines(HudInfo())] == [  # an empty app still gets a HUD
        ("preset", "–"),
        ("network", "– · backend –"),
        ("fps", "capture – · dream – · display –"),
        ("size", "process – · screen –"),
        ("source", "–"),
    ]
    with pytest.raises(DreamwallError, match="unknown HUD field 'presett' \\(did you mean 'preset'\\?\\)"):
        as_hud_info({"presett": "x"})


def test_screenshot_is_the_dream_at_screen_size_without_hud(make_renderer, tmp_path):
    feed = Feed()
    feed.set(7, solid(GREEN, (40, 30)))
    renderer = make_renderer(latest=feed, hud_visible=True, hud_info=lambda: {"preset": "x"})
    with pytest.raises(DreamwallError, match="no dream on screen yet"):
        renderer.screenshot(tmp_path / "early.png")
    renderer.tick()
    target = tmp_path / "shot.png"
    target.write_bytes(b"old")
    assert renderer.screenshot(target).result(timeout=10) == target
    image = read_image(target)
    assert image.shape == (WINDOW[1], WINDOW[0], 3)
    assert np.all(image == GREEN)  # the HUD is on screen but not in the file
    assert [p.name for p in tmp_path.iterdir()] == ["shot.png"]  # no temp files left behind
    with_settings = renderer.screenshot(tmp_path / "shot.png", {"preset_name": "x"}).result(timeout=10)
    assert read_settings(with_settings) == {"preset_name": "x"}  # the look goes inside the PNG
    assert np.all(read_image(with_settings) == GREEN)
    failed = renderer.screenshot(tmp_path / "no-such-folder" / "x.png")
    error = failed.exception(timeout=10)  # reported through the future, as the one line a person reads
    assert isinstance(error, DreamwallError) and str(error).startswith("cannot write ")
    renderer.tick()  # and the show goes on


def test_crossfade_blends_old_look_into_new(make_renderer):
    clock = HandClock()
    feed = Feed()
    feed.set(1, solid(RED))
    renderer = make_renderer(latest=feed, now=clock)
    renderer.tick()
    renderer.begin_crossfade(2.0)
    clock.now += 5.0  # the engine is slow: the fade waits for the first new dream
    renderer.tick()
    assert centre() == RED and renderer.crossfading
    feed.set(2, solid(BLUE))
    renderer.tick()
    assert centre() == RED  # fade starts now, weight 0
    clock.now += 1.0
    renderer.tick()
    expected = crossfade(solid(RED, (1, 1)), solid(BLUE, (1, 1)), 0.5)[0, 0]
    assert np.abs(np.array(centre()) - expected).max() <= 3
    clock.now += 1.0
    renderer.tick()
    assert centre() == BLUE and not renderer.crossfading


def test_blackout_and_fullscreen_toggle(make_renderer):
    feed = Feed()
    feed.set(1, solid(RED))
    renderer = make_renderer(latest=feed)
    renderer.set_blackout(True)
    renderer.tick()
    assert centre() == (0, 0, 0) and renderer.blackout
    renderer.set_blackout(False)
    renderer.toggle_fullscreen()
    renderer.tick()
    assert renderer.fullscreen and renderer.screen_size == tuple(pygame.display.get_desktop_sizes()[0])
    assert centre() == RED
    renderer.toggle_fullscreen()
    renderer.tick()
    assert not renderer.fullscreen and renderer.screen_size == WINDOW and centre() == RED


def test_missing_display_is_named(make_renderer):
    with pytest.raises(DreamwallError, match="display 5 not found: this machine has 1 display\\(s\\), choose 0-0"):
        make_renderer(display=5)


def test_grab_copies_the_screen_without_converting_it_on_the_display_thread(make_renderer, monkeypatch):
    feed = Feed()
    feed.set(1, solid(GREEN, (40, 30)))
    renderer = make_renderer(latest=feed, hud_visible=True, hud_info=lambda: {"preset": "x"})
    renderer.tick()
    conversions = []
    real_tobytes = pygame.image.tobytes
    monkeypatch.setattr(pygame.image, "tobytes", lambda *a, **k: conversions.append(1) or real_tobytes(*a, **k))
    grab = renderer.grab()
    assert grab.size == WINDOW and conversions == [] and renderer.grabs == 1
    feed.set(2, solid(RED, (40, 30)))
    renderer.tick()  # the screen moves on; the grab keeps what was shown
    rgb = grab()
    assert conversions == [1] and rgb.shape == (WINDOW[1], WINDOW[0], 3) and np.all(rgb == GREEN)
