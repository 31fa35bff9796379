"""`--virtual-camera`: the dreamed frames as a webcam for OBS, Resolume or a video call.

pyvirtualcam is optional and imported here only, when the output is opened. A missing
package or loopback device is reported in one log line and the installation carries
on without this output; so does a device that disappears while running.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from engine.framing import frame_into

log = logging.getLogger(__name__)

SETUP_HINT = (
    "on Linux: sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=Dreamwall "
    "(see README, 'Virtual camera')"
)


class CameraBackend(Protocol):
    """The part of pyvirtualcam.Camera this module uses (fakes in tests)."""

    device: str

    def send(self, frame: np.ndarray) -> None: ...

    def close(self) -> None: ...


CameraFactory = Callable[..., CameraBackend]


def _import_pyvirtualcam() -> Any:
    import pyvirtualcam

    return pyvirtualcam


def camera_factory() -> CameraFactory | None:
    """pyvirtualcam.Camera, or None (with one log line) when the package is not installed."""
    try:
        module = _import_pyvirtualcam()
    except ImportError:
        log.warning("virtual camera off: pyvirtualcam is not installed (pip install pyvirtualcam==0.15.0; %s)",
                    SETUP_HINT)  # fmt: skip
        return None
    return module.Camera


class VirtualCamera:
    """Sends RGB frames to a virtual camera of a fixed size; frames of another size meet it by the fit rule
    (`fit`, engine.framing: fill crops, fit bars, stretch changes the aspect).

    Use `VirtualCamera.open(...)`: it returns None instead of raising when no backend
    or device is there. `send` never raises: a failing device switches the output off.
    """

    def __init__(self, camera: CameraBackend, size: tuple[int, int]) -> None:
        self._camera: CameraBackend | None = camera
        self.size = size
        self.fit = "fill"
        self.frames_sent = 0

    @classmethod
    def open(
        cls,
        size: tuple[int, int],
        fps: float,
        device: str | None = None,
        factory: CameraFactory | None = None,
    ) -> VirtualCamera | None:
        make = factory if factory is not None else camera_factory()
        if make is None:
            return None
        width, height = size
        try:
            camera = make(width=width, height=height, fps=fps, device=device)
        except (RuntimeError, OSError, ValueError) as error:  # pyvirtualcam reports a missing device as RuntimeError
            log.warning("virtual camera off: %s (%s)", str(error).splitlines()[0] if str(error) else error, SETUP_HINT)
            return None
        log.info("virtual camera on: %s (%dx%d, %g fps)", getattr(camera, "device", "?"), width, height, fps)
        return cls(camera, size)

    @property
    def active(self) -> bool:
        return self._camera is not None

    def send(self, rgb: np.ndarray) -> None:
        if self._camera is None:
            return
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            rgb = frame_into(rgb, self.size, self.fit)
        try:
            self._camera.send(np.ascontiguousarray(rgb, dtype=np.uint8))
        except (RuntimeError, OSError, ValueError) as error:
            log.warning("virtual camera off: sending failed: %s", error)
            self.close()
            return
        self.frames_sent += 1

    def close(self) -> None:
        """Idempotent."""
        camera, self._camera = self._camera, None
        if camera is None:
            return
        try:
            camera.close()
        except (RuntimeError, OSError) as error:
            log.debug("closing the virtual camera: %s", error)
