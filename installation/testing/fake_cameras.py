"""A fake V4L2 world for tests: cameras that can be unplugged and re-plugged, a driver, and controls.

No camera exists on the machines the tests run on, so the device layer
(installation.sources.cameras.devices.DeviceLayer) and OpenCV's capture are replaced by
these, and every call they receive is recorded: the tests check the order (FOURCC before
the size, the automatic off before the value), what the driver gave and what was held.
The driver behaves as uvcvideo does where it matters: it answers only modes it lists (a
refused ask leaves the mode it had), and refuses a manual value while its automatic is on.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from installation.sources.cameras.devices import CameraInfo, ControlInfo
from installation.sources.cameras.modes import Mode, fourcc_text

C920_MODES = (
    Mode(640, 480, 30, "YUYV"), Mode(1280, 720, 10, "YUYV"), Mode(1920, 1080, 5, "YUYV"),
    Mode(640, 480, 30, "MJPG"), Mode(1280, 720, 30, "MJPG"), Mode(1920, 1080, 30, "MJPG"),
    Mode(1920, 1080, 60, "MJPG"),
)  # fmt: skip
C920_CONTROLS = {
    "auto_exposure": 3, "exposure_time_absolute": 250, "exposure_dynamic_framerate": 1, "gain": 0,
    "white_balance_automatic": 1, "white_balance_temperature": 4000, "focus_automatic_continuous": 1,
    "focus_absolute": 0, "brightness": 128,
}  # fmt: skip
OLD_NAMES = {
    "auto_exposure": "exposure_auto", "exposure_time_absolute": "exposure_absolute",
    "exposure_dynamic_framerate": "exposure_auto_priority",
    "white_balance_automatic": "white_balance_temperature_auto", "focus_automatic_continuous": "focus_auto",
}  # fmt: skip


def old_kernel_controls(controls: dict[str, int]) -> dict[str, int]:
    """The same controls under the names kernels before 5.x used."""
    return {OLD_NAMES.get(name, name): value for name, value in controls.items()}


def _automatic_of(name: str, controls: dict[str, int]) -> tuple[str, int] | None:
    candidates = {
        "exposure_time_absolute": [("auto_exposure", 3)], "exposure_absolute": [("exposure_auto", 3)],
        "white_balance_temperature": [("white_balance_automatic", 1), ("white_balance_temperature_auto", 1)],
        "focus_absolute": [("focus_automatic_continuous", 1), ("focus_auto", 1)],
    }.get(name, [])  # fmt: skip
    return next(((switch, on) for switch, on in candidates if switch in controls), None)


@dataclass
class FakeControls:
    """A camera's controls; while an automatic is on, `room` decides its value (the light changing)."""

    values: dict[str, int]
    room: dict[str, int] = field(default_factory=dict)
    calls: list[tuple[str, str, int | None]] = field(default_factory=list)
    closed: bool = False

    def names(self) -> frozenset[str]:
        return frozenset(self.values)

    def automatic_on(self, name: str) -> bool:
        automatic = _automatic_of(name, self.values)
        return automatic is not None and self.values[automatic[0]] == automatic[1]

    def get(self, name: str) -> int:
        if self.automatic_on(name) and name in self.room:
            self.values[name] = self.room[name]  # the automatic follows the room
        self.calls.append(("get", name, None))
        return self.values[name]

    def set(self, name: str, value: int) -> None:
        self.calls.append(("set", name, value))
        if name not in self.values:
            raise OSError(errno.EINVAL, f"no control {name}")
        if self.automatic_on(name):
            raise OSError(errno.EACCES, f"{name} is inactive while its automatic is on")
        self.values[name] = int(value)

    def close(self) -> None:
        self.closed = True

    def info(self) -> tuple[ControlInfo, ...]:
        return tuple(ControlInfo(name, "integer", 0, 10_000, 1, None, value) for name, value in self.values.items())

    def writes(self) -> list[tuple[str, int | None]]:
        return [(name, value) for kind, name, value in self.calls if kind == "set"]


@dataclass
class FakeDriver:
    """One camera's driver state: the modes it lists, the one it runs, those it refuses although listed."""

    modes: tuple[Mode, ...]
    current: Mode
    refuses: tuple[Mode, ...] = ()

    def select(self, wanted: Mode) -> None:
        listed = next((m for m in self.modes if m.size == wanted.size and m.fourcc == wanted.fourcc
                       and (not wanted.fps or m.fps == wanted.fps)), None)  # fmt: skip
        if listed is not None and listed not in self.refuses:
            self.current = listed


class FakeCapture:
    """cv2.VideoCapture over a FakeDriver: set() records and takes effect as the driver allows (a mode is
    selected when the height and again when the fps is set; a FOURCC after the size is ignored, as in OpenCV)."""

    def __init__(self, driver: FakeDriver | None, target: str | int, calls: list[tuple[str, object]],
                 frames: Callable[[Mode], np.ndarray] | None = None,
                 plugged: Callable[[], bool] = lambda: True) -> None:  # fmt: skip
        self._driver = driver
        self._plugged = plugged
        self.target = target
        self.calls = calls
        self._pending: dict[int, float] = {}
        self._frames = frames or (lambda mode: np.zeros((mode.height, mode.width, 3), np.uint8))
        self.released = False
        self.grabs = 0

    def isOpened(self) -> bool:
        return self._driver is not None and not self.released

    def set(self, prop: int, value: float) -> bool:
        self.calls.append(("set", (prop, value)))
        if prop == cv2.CAP_PROP_FOURCC and cv2.CAP_PROP_FRAME_WIDTH in self._pending:
            return True  # OpenCV's V4L2 backend ignores a FOURCC set after the size
        self._pending[prop] = value
        if self._driver is not None and prop in (cv2.CAP_PROP_FPS, cv2.CAP_PROP_FRAME_HEIGHT):
            current = self._driver.current
            fourcc = fourcc_text(self._pending.get(cv2.CAP_PROP_FOURCC, 0)) or current.fourcc
            width = int(self._pending.get(cv2.CAP_PROP_FRAME_WIDTH, current.width))
            height = int(self._pending.get(cv2.CAP_PROP_FRAME_HEIGHT, current.height))
            fps = float(self._pending.get(cv2.CAP_PROP_FPS, 0.0)) if prop == cv2.CAP_PROP_FPS else 0.0
            self._driver.select(Mode(width, height, fps, fourcc))
        return True  # as V4L2 drivers do: true proves nothing

    def get(self, prop: int) -> float:
        mode = self._driver.current if self._driver is not None else Mode(0, 0, 0, "")
        fourcc = cv2.VideoWriter.fourcc(*mode.fourcc) if mode.fourcc else 0
        return {cv2.CAP_PROP_FRAME_WIDTH: mode.width, cv2.CAP_PROP_FRAME_HEIGHT: mode.height,
                cv2.CAP_PROP_FPS: mode.fps, cv2.CAP_PROP_FOURCC: fourcc}.get(prop, 0.0)  # fmt: skip

    def read(self) -> tuple[bool, np.ndarray | None]:
        if not self.grab():
            return False, None
        return self.retrieve()

    def grab(self) -> bool:
        self.grabs += 1
        return self.isOpened() and self._plugged()  # an unplugged camera's reads fail

    def retrieve(self) -> tuple[bool, np.ndarray | None]:
        if self._driver is None or self.released:
            return False, None
        return True, self._frames(self._driver.current)

    def release(self) -> None:
        self.calls.append(("release", self.target))
        self.released = True


@dataclass
class FakeCamera:
    """A camera to plug into a FakeLayer."""

    name: str
    by_id: str
    by_path: str
    driver: FakeDriver
    controls: FakeControls

    @classmethod
    def c920(cls, serial: str = "A1B2C3", port: str = "1", controls: dict[str, int] | None = None,
             room: dict[str, int] | None = None) -> FakeCamera:  # fmt: skip
        return cls(
            name="HD Pro Webcam C920",
            by_id=f"/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920_{serial}-video-index0",
            by_path=f"/dev/v4l/by-path/pci-0000:00:14.0-usb-0:{port}:1.0-video-index0",
            driver=FakeDriver(C920_MODES, C920_MODES[0]),
            controls=FakeControls(dict(controls or C920_CONTROLS), room=dict(room or {})),
        )


class FakeLayer:
    """DeviceLayer over FakeCameras plugged at /dev/videoN; plug/unplug as a person with a cable would."""

    def __init__(self) -> None:
        self.plugged: dict[int, FakeCamera] = {}
        self.calls: list[tuple[str, object]] = []
        self.capture_calls: list[tuple[str, object]] = []
        self.captures: list[FakeCapture] = []

    def plug(self, camera: FakeCamera, index: int) -> None:
        self.plugged[index] = camera

    def unplug(self, camera: FakeCamera) -> None:
        self.plugged = {i: c for i, c in self.plugged.items() if c is not camera}

    def cameras(self) -> list[CameraInfo]:
        self.calls.append(("cameras", None))
        return [CameraInfo(path=f"/dev/video{i}", name=c.name, stable_paths=(c.by_id, c.by_path),
                           modes=c.driver.modes, controls=c.controls.info(), bus=c.by_path)
                for i, c in sorted(self.plugged.items())]  # fmt: skip

    def real_path(self, path: str) -> str | None:
        self.calls.append(("real_path", path))
        for index, camera in self.plugged.items():
            if path in (f"/dev/video{index}", camera.by_id, camera.by_path):
                return f"/dev/video{index}"
        return None

    def open_controls(self, path: str) -> FakeControls:
        self.calls.append(("open_controls", path))
        return self._camera_at(path).controls

    def open_capture(self, target: str | int) -> FakeCapture:
        """The `open_capture` a CameraSource takes: OpenCV opening a node (or finding nothing there)."""
        self.capture_calls.append(("open", target))
        camera = self._camera_at(str(target)) if str(target).startswith("/dev/video") else None
        capture = FakeCapture(camera.driver if camera else None, target, self.capture_calls,
                              plugged=lambda: camera in self.plugged.values())  # fmt: skip
        self.captures.append(capture)
        return capture

    def _camera_at(self, path: str) -> FakeCamera:
        index = int(path.removeprefix("/dev/video"))
        if index not in self.plugged:
            raise OSError(errno.ENODEV, f"no device at {path}")
        return self.plugged[index]


def refusing(camera: FakeCamera, *modes: Mode) -> FakeCamera:
    """The camera with a driver that lists `modes` but will not run them."""
    return replace(camera, driver=replace(camera.driver, refuses=modes))
