"""A camera as a FrameSource: found by index, path or name at every open, in its negotiated mode, with its controls.

Each open (the first, and every reconnect after the camera vanished) resolves the spec
afresh, so a camera re-plugged under another index is found by its by-id path or its name;
the mode is negotiated again and the controls written again (the values a lock held, once
locked: a replugged camera forgot them). Reads deliver the newest frame the driver has.
Nothing here raises past `open()` / `read()` for what a camera does: a refused mode, a
missing control or a failed write is a notice, and the capture reconnects on ConnectionError.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from installation.common.rates import Clock
from installation.sources.cameras.controls import ControlWriter
from installation.sources.cameras.devices import (
    CameraInfo,
    CameraSpec,
    ControlPort,
    DeviceLayer,
    LinuxpyLayer,
    find_camera,
)
from installation.sources.cameras.modes import Mode, VideoCaptureLike, negotiate
from installation.sources.cameras.settings import CameraSettings
from installation.sources.openers import SharedCapture, newest_frame, to_rgb

logger = logging.getLogger(__name__)

OpenCapture = Callable[[str | int], VideoCaptureLike]


def open_v4l2(target: str | int) -> VideoCaptureLike:
    capture: VideoCaptureLike = cv2.VideoCapture(target, cv2.CAP_V4L2)
    return capture


@dataclass(frozen=True)
class CameraReport:
    """What the status file and the panel show: which camera, its mode, the controls as applied."""

    name: str
    path: str
    mode: str
    controls: dict[str, int | str] = field(default_factory=dict)
    locked: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "mode": self.mode, "controls": dict(self.controls),
                "locked": self.locked}  # fmt: skip


class CameraSource:
    """The read hook for a V4L2 camera (DESIGN.md rule 7); the device layer and OpenCV are injectable."""

    def __init__(
        self,
        spec: str,
        settings: CameraSettings | None = None,
        *,
        layer: DeviceLayer | None = None,
        open_capture: OpenCapture = open_v4l2,
        notify: Callable[[str], None] | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.spec = CameraSpec.parse(spec)
        self.description = self.spec.describe()
        self.settings = settings or CameraSettings()
        self._layer: DeviceLayer = layer or LinuxpyLayer()
        self._open_capture = open_capture
        self._notify_to = notify
        self._clock = clock
        self._told: set[str] = set()
        self._held = SharedCapture()
        self._port: ControlPort | None = None
        self._writer: ControlWriter | None = None
        self._opened_at = 0.0
        self._locked: dict[str, int] | None = None
        self.camera: CameraInfo | None = None
        self.mode: Mode | None = None

    # -- the read hook -------------------------------------------------------------------------

    def open(self) -> None:
        self.close()
        camera = find_camera(self.spec, self._layer)
        if camera is None:
            raise ConnectionError(f"{self.description} is not plugged in")
        target: str | int = int(camera.path) if camera.path.isdigit() else camera.path
        capture = self._open_capture(target)
        if not capture.isOpened():
            capture.release()
            raise ConnectionError(f"cannot open {self.description} ({camera.path})")
        label = self._label(camera)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the driver keeps no queue of old frames where it can
        self.mode = negotiate(capture, label, camera.modes, self.settings.mode, self.settings.output, self._notify)
        self._held.hold(capture)
        self.camera = camera
        self._opened_at = self._clock()
        self._apply_controls(camera, label)

    def read(self) -> np.ndarray | None:
        fps = self.mode.fps if self.mode is not None else 0.0
        frame = self._held.read(lambda capture: newest_frame(capture, fps), self.description)
        if frame is None:
            return None
        self._maybe_lock()
        return to_rgb(frame)

    def close(self) -> None:
        self._held.release()
        port, self._port, self._writer = self._port, None, None
        if port is not None:
            try:
                port.close()
            except OSError as error:  # a vanished device's file descriptor
                logger.debug("closing the controls of %s: %s", self.description, error)

    # -- what the status shows -----------------------------------------------------------------

    def report(self) -> CameraReport | None:
        camera = self.camera
        if camera is None:
            return None
        controls = self._writer.applied if self._writer is not None else {}
        return CameraReport(name=camera.name, path=camera.stable_path, mode=str(self.mode or "?"),
                            controls=dict(controls), locked=self._locked is not None)  # fmt: skip

    # -- controls ------------------------------------------------------------------------------

    def _apply_controls(self, camera: CameraInfo, label: str) -> None:
        controls = self.settings.controls
        if controls.empty:
            return
        try:
            self._port = self._layer.open_controls(camera.path)
        except (OSError, ImportError) as error:
            self._notify(f"{label}: its controls cannot be opened ({error}); exposure and the rest left as they are")
            return
        self._writer = ControlWriter(self._port, label, self._notify)
        applied = self._writer.apply(controls, held=self._locked)
        logger.info("%s: controls %s%s", label, applied or "unchanged", " (held values)" if self._locked else "")

    def _maybe_lock(self) -> None:
        lock_after = self.settings.controls.lock_after
        if lock_after is None or self._locked is not None or self._writer is None:
            return
        if self._clock() - self._opened_at >= lock_after:
            self._locked = self._writer.lock(self.settings.controls)

    def _label(self, camera: CameraInfo) -> str:
        return f"{self.description} ({camera.name}, {camera.path})" if camera.name else self.description

    def _notify(self, text: str) -> None:
        """Each notice once per source: a camera that reconnects all night must not repeat itself."""
        if text in self._told:
            logger.debug("%s", text)
            return
        logger.warning("%s", text)
        self._told.add(text)
        if self._notify_to is not None:
            self._notify_to(text)


def camera_report(source: object) -> CameraReport | None:
    """The camera part of the status: a CameraSource's report, None for any other source."""
    return source.report() if isinstance(source, CameraSource) else None
