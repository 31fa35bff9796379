"""Where the show goes besides the screen: the record toggle, the virtual camera, NDI, screenshots."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from installation.app.config import LiveConfig
from installation.common.ndi import NdiUnavailable
from installation.outputs.ndi_out import NdiOutput
from installation.outputs.recorder import RecordToggle, recording_name
from installation.outputs.virtual_camera import VirtualCamera

log = logging.getLogger(__name__)


class Outputs:
    """A virtual camera that cannot open is one notice and then off: the show goes on without it."""

    def __init__(self, config: LiveConfig, notify: Callable[[str], None]) -> None:
        self._config = config
        self._notify = notify
        self.record = RecordToggle(config.recordings_dir, fps=25.0, on_message=notify)
        self.virtual_camera: VirtualCamera | None = None
        self._virtual_camera_wanted = config.virtual_camera
        self.ndi: NdiOutput | None = None
        if config.ndi is not None:
            try:
                self.ndi = NdiOutput.open(config.ndi)
            except NdiUnavailable as error:  # `live` refuses this at its start; an App made otherwise goes on
                notify(f"NDI out off: {error}")

    def shown_frame(self, frame: np.ndarray) -> None:
        """A newly dreamt frame as shown, at the output size: to the virtual camera and NDI."""
        if self.ndi is not None:
            self.ndi.offer(frame)
        self.send_to_virtual_camera(frame)

    def send_to_virtual_camera(self, frame: np.ndarray) -> None:
        if not self._virtual_camera_wanted:
            return
        if self.virtual_camera is None:
            self.virtual_camera = VirtualCamera.open((frame.shape[1], frame.shape[0]), 30.0,
                                                     device=self._config.virtual_camera_device)  # fmt: skip
            if self.virtual_camera is None:
                self._notify("virtual camera off (see the log); the show goes on")
                self._virtual_camera_wanted = False
                return
        self.virtual_camera.send(frame)

    def headless_frame(self, frame: np.ndarray) -> None:
        """A frame a headless show made: to the virtual camera and NDI, and to the record control's recording while it
        is on (with no window there is no screen to grab, so it takes the frames themselves)."""
        self.shown_frame(frame)
        self.record.capture(lambda: frame)

    def screenshot(
        self, renderer: Any, dream_image: Callable[[], np.ndarray | None], settings: Mapping[str, Any] | None = None
    ) -> Path | None:
        """The shown frame (no HUD) in a window, else the newest dream: what visitors see, with its settings."""
        folder = self._config.screenshots_dir
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / recording_name(prefix="screenshot", suffix=".png")
        if renderer is not None:
            renderer.screenshot(path, settings)
            return path
        image = dream_image()
        if image is None:
            return None
        from installation.outputs.images import write_image

        write_image(path, image, settings)
        self._notify(f"screenshot {path}")
        return path

    def close(self) -> None:
        self.record.stop()
        if self.ndi is not None:
            self.ndi.close()
        if self.virtual_camera is not None:
            self.virtual_camera.close()
