"""In a window the worker composes at the size the screen shows the dream at, not at the processing size."""

import threading

import pygame

from installation.testing.waiting import wait_until


def test_the_window_sets_the_composed_frame_size(presets_dir, tmp_path, make_app):
    app = make_app(presets_dir, tmp_path, headless=False, windowed=True, size=(160, 90))  # dreams at 64x36

    def shown_at_window_size() -> bool:
        dream = app.worker.latest()
        return dream is not None and dream.image.shape[:2] == (90, 160)

    def stop_when_composed() -> None:
        wait_until(shown_at_window_size, timeout=60)
        app.stop()

    try:
        pygame.display.init()  # the renderer opens its window on this same (dummy) video system
        stopper = threading.Thread(target=stop_when_composed, daemon=True)
        stopper.start()
        assert app.run() == 0
        stopper.join(5)
    finally:
        app.close()
    assert app.worker.health().process_size == (64, 36)
    assert shown_at_window_size()  # 160x90: the window's size at the dream's aspect
