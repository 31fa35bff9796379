"""The cameras present: V4L2 discovery (through linuxpy), stable names, and finding a camera again.

An index changes when cables are re-plugged; `/dev/v4l/by-id/...` (the camera's own
name and serial) and `/dev/v4l/by-path/...` (the USB port) do not, nor does the card name
("HD Pro Webcam C920"). A spec is resolved afresh at every open, so a camera that vanished
and came back under another index is found by the same path or name.

Everything that touches the kernel sits behind `DeviceLayer`: the capture and the
commands take one, and the tests inject a fake with recorded calls.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from engine.errors import DreamwallError, did_you_mean
from installation.sources.cameras.modes import Mode, fourcc_text
from installation.sources.openers import NAME_PREFIX

logger = logging.getLogger(__name__)

STABLE_DIRS = ("/dev/v4l/by-id", "/dev/v4l/by-path")
_VIDEO_NODE = re.compile(r"^/dev/video(\d+)$")


@dataclass(frozen=True)
class ControlInfo:
    """One V4L2 control as `cameras` lists it; `kind`: int, bool, menu, button, ..."""

    name: str
    kind: str
    minimum: int
    maximum: int
    step: int
    default: int | None
    value: int | None


@dataclass(frozen=True)
class CameraInfo:
    """A video capture node: /dev/videoN, its stable links, its card name, modes and controls."""

    path: str
    name: str
    stable_paths: tuple[str, ...] = ()
    modes: tuple[Mode, ...] = ()
    controls: tuple[ControlInfo, ...] = ()
    bus: str = ""

    @property
    def index(self) -> int | None:
        match = _VIDEO_NODE.match(self.path)
        return int(match.group(1)) if match else None

    @property
    def stable_path(self) -> str:
        """by-id when there is one (follows the camera to any port), else by-path, else the node."""
        return self.stable_paths[0] if self.stable_paths else self.path


class ControlPort(Protocol):
    """The controls of one open camera, by V4L2 name (`auto_exposure`, `exposure_time_absolute`, ...)."""

    def names(self) -> frozenset[str]: ...

    def get(self, name: str) -> int: ...

    def set(self, name: str, value: int) -> None: ...

    def close(self) -> None: ...


class DeviceLayer(Protocol):
    """What the camera code asks of the kernel."""

    def cameras(self) -> list[CameraInfo]: ...

    def real_path(self, path: str) -> str | None:
        """The /dev/videoN a path (a by-id / by-path link or a node) is now, None when absent."""
        ...

    def open_controls(self, path: str) -> ControlPort: ...


# -- linuxpy ------------------------------------------------------------------------------------


def _control_kind(control: Any) -> str:
    return type(control).__name__.removesuffix("Control").lower() or "control"


class LinuxpyControls:
    """ControlPort over linuxpy's `Device.controls` (names are linuxpy's config names, as v4l2-ctl's)."""

    def __init__(self, path: str) -> None:
        from linuxpy.video.device import Device

        self._device = Device(path)
        self._device.open()
        self._by_name = {control.config_name: control for control in self._device.controls.values()}

    def names(self) -> frozenset[str]:
        return frozenset(self._by_name)

    def get(self, name: str) -> int:
        return int(self._by_name[name].value)

    def set(self, name: str, value: int) -> None:
        self._by_name[name].value = value

    def close(self) -> None:
        self._device.close()


class LinuxpyLayer:
    """The real device layer: /dev/video* capture nodes through linuxpy's V4L2 ioctls."""

    def __init__(self, dev: str = "/dev") -> None:
        self._dev = dev

    def cameras(self) -> list[CameraInfo]:
        links = stable_links(self._dev)
        found = []
        for node in sorted(Path(self._dev).glob("video*"), key=_node_number):
            try:
                info = self._describe(str(node), links.get(str(node), ()))
            except OSError as error:  # busy, permission, gone while listing: say so and go on
                logger.debug("skipping %s: %s", node, error)
                continue
            if info is not None:
                found.append(info)
        return found

    def real_path(self, path: str) -> str | None:
        return os.path.realpath(path) if Path(path).exists() else None

    def open_controls(self, path: str) -> ControlPort:
        return LinuxpyControls(path)

    @staticmethod
    def _describe(path: str, stable: tuple[str, ...]) -> CameraInfo | None:
        from linuxpy.video.device import Capability, Device

        with Device(path) as device:
            info = device.info
            if Capability.VIDEO_CAPTURE not in info.device_capabilities:
                return None  # a UVC camera's metadata node, an output, a codec
            modes = tuple(sorted({_mode(frame_type) for frame_type in info.frame_types}, reverse=True))
            controls = tuple(_control_info(control) for control in device.controls.values())
            return CameraInfo(path=path, name=info.card, stable_paths=stable, modes=modes, controls=controls,
                              bus=info.bus_info)  # fmt: skip


def _mode(frame_type: Any) -> Mode:
    return Mode(int(frame_type.width), int(frame_type.height), round(float(frame_type.max_fps), 2),
                fourcc_text(int(frame_type.pixel_format)))  # fmt: skip


def _control_info(control: Any) -> ControlInfo:
    try:
        value = int(control.value)
    except (OSError, AttributeError, TypeError, ValueError):  # write-only, inactive, a button
        value = None
    default = getattr(control, "default", None)
    return ControlInfo(name=control.config_name, kind=_control_kind(control), minimum=int(control.minimum),
                       maximum=int(control.maximum), step=int(control.step),
                       default=int(default) if isinstance(default, (int, bool)) else None, value=value)  # fmt: skip


def _node_number(path: Path) -> int:
    digits = path.name.removeprefix("video")
    return int(digits) if digits.isdigit() else 1 << 30


def stable_links(dev: str = "/dev") -> dict[str, tuple[str, ...]]:
    """/dev/videoN -> its /dev/v4l/by-id and by-path links (by-id first)."""
    links: dict[str, list[str]] = {}
    for folder in STABLE_DIRS:
        base = Path(dev) / Path(folder).relative_to("/dev")
        if base.is_dir():
            for link in sorted(base.iterdir()):
                links.setdefault(os.path.realpath(link), []).append(str(Path(folder) / link.name))
    return {node: tuple(paths) for node, paths in links.items()}


# -- finding a camera ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CameraSpec:
    """A `--source` that names a camera: an index, a device path, or a card name."""

    text: str
    index: int | None = None
    path: str | None = None
    name: str | None = None

    @classmethod
    def parse(cls, spec: str) -> CameraSpec:
        text = spec.strip()
        if text.isdigit():
            return cls(text, index=int(text))
        if text.lower().startswith(NAME_PREFIX):
            name = text[len(NAME_PREFIX):].strip()
            if not name:
                raise DreamwallError(f"source '{spec}': a camera name after 'name:' is missing (e.g. name:C920)")
            return cls(text, name=name)
        return cls(text, path=text)

    def describe(self) -> str:
        if self.index is not None:
            return f"camera {self.index}"
        return f"camera '{self.name}'" if self.name is not None else f"camera {self.path}"


def matches_name(camera: CameraInfo, name: str) -> bool:
    """Case-insensitive part of the card name ("c920" finds "HD Pro Webcam C920")."""
    return name.casefold() in camera.name.casefold()


def find_camera(spec: CameraSpec, layer: DeviceLayer) -> CameraInfo | None:
    """The camera the spec names, as it is now (after a replug its node may differ); None when absent."""
    if spec.name is not None:
        return next((camera for camera in layer.cameras() if matches_name(camera, spec.name)), None)
    if spec.index is not None and not sys.platform.startswith("linux"):
        return CameraInfo(path=spec.text, name=spec.describe())  # no V4L2: OpenCV opens the index
    path = f"/dev/video{spec.index}" if spec.index is not None else str(spec.path)
    node = layer.real_path(path)
    if node is None:
        return None
    cameras = layer.cameras()
    found = next((camera for camera in cameras if camera.path == node), None)
    # a node that V4L2 discovery does not list (no linuxpy answer, another OS): OpenCV may still open it
    return found or CameraInfo(path=node, name=Path(node).name)


def present(cameras: Sequence[CameraInfo]) -> str:
    return "; ".join(f"{camera.index} '{camera.name}' ({camera.stable_path})" for camera in cameras)


def check_camera_spec(spec: str, layer: DeviceLayer) -> None:
    """At start: a name or path that none of the cameras present answers to is a usage error with the list.

    With no camera plugged in at all the show starts and waits for it (the badge says so): a kiosk
    that boots before its camera is powered must not stay down.
    """
    parsed = CameraSpec.parse(spec)
    if parsed.index is not None:
        return
    cameras = layer.cameras()
    if not cameras or find_camera(parsed, layer) is not None:
        return
    if parsed.name is not None:
        suggestion = did_you_mean(parsed.name, [camera.name for camera in cameras])
        raise DreamwallError(f"no camera named '{parsed.name}'{suggestion}; cameras present: {present(cameras)}")
    known = [path for camera in cameras for path in (camera.path, *camera.stable_paths)]
    raise DreamwallError(f"no camera at {parsed.path}{did_you_mean(str(parsed.path), known)}; "
                         f"cameras present: {present(cameras)}")  # fmt: skip
