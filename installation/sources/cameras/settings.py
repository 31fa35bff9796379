"""The camera's settings: mode and controls, from the kiosk's camera file, the environment and the flags.

They belong to the device and the room (this webcam, this gallery's light), not to a look:
a preset that changed the exposure would make a playlist's looks fight over the camera.
So they live in the kiosk's configuration (`--camera-config FILE` or $DREAMWALL_CAMERA_CONFIG,
a YAML file with a `camera:` section), and the mode also in the flags and the environment
file ($DREAMWALL_CAMERA_SIZE / _FPS / _FORMAT); a flag beats the environment, which beats
the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.errors import DreamwallError, check_range
from installation.common.cli import choice_arg, float_in, parse_size
from installation.common.yamlfile import display_path, read_yaml_mapping, reject_unknown, show
from installation.sources.cameras.controls import AUTO, ControlSettings, Setting
from installation.sources.cameras.modes import FORMATS, ModeRequest, parse_format

SECTION = "camera"
FPS_RANGE = (1.0, 240.0)
RANGES = {  # V4L2 units: exposure in 100 us, white balance in kelvin; the camera clamps within these
    "exposure": (1, 100_000),
    "gain": (0, 1_000),
    "white_balance": (1_000, 15_000),
    "focus": (0, 1_023),
}
LOCK_RANGE = (0.0, 3600.0)
KEYS = ("size", "fps", "format", "exposure", "gain", "white_balance", "focus", "lock_after")
ENVIRONMENT = {"size": "DREAMWALL_CAMERA_SIZE", "fps": "DREAMWALL_CAMERA_FPS", "format": "DREAMWALL_CAMERA_FORMAT"}
CONFIG_ENVIRONMENT = "DREAMWALL_CAMERA_CONFIG"


@dataclass(frozen=True)
class CameraSettings:
    """Everything a camera source is told; `output` bounds the default mode (None: 1920x1080)."""

    mode: ModeRequest = field(default_factory=ModeRequest)
    controls: ControlSettings = field(default_factory=ControlSettings)
    output: tuple[int, int] | None = None


def parse_fps(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DreamwallError(f"camera fps must be a number between 1 and 240, got '{text}'") from None
    return check_range("camera fps", value, *FPS_RANGE)


def _control(where: str, key: str, value: Any) -> Setting:
    if value is None:
        return None
    if value == AUTO and key != "gain":
        return AUTO
    low, high = RANGES[key]
    if isinstance(value, bool) or not isinstance(value, int):
        allowed = f"'auto' or a whole number from {low} to {high}" if key != "gain" else f"{low} to {high}"
        raise DreamwallError(f"{where}.{key} must be {allowed}, got {show(value)}")
    return int(check_range(f"{where}.{key}", value, low, high))


def _text(where: str, key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DreamwallError(f"{where}.{key} must be a value like those of --camera-{key}, got {show(value)}")
    return str(value)


def parse_section(data: Any, where: str) -> CameraSettings:
    """A `camera:` mapping -> CameraSettings (unknown keys, types and ranges refused in one line)."""
    if not isinstance(data, dict):
        raise DreamwallError(f"{where} must be a mapping of {', '.join(KEYS)}, got {show(data)}")
    reject_unknown(where.split(":")[0], SECTION, data.keys(), KEYS)
    size = parse_size(_text(where, "size", data["size"])) if data.get("size") is not None else None
    fps = parse_fps(_text(where, "fps", data["fps"])) if data.get("fps") is not None else None
    fmt = parse_format(_text(where, "format", data["format"])) if data.get("format") is not None else "auto"
    lock = data.get("lock_after")
    if lock is not None and (isinstance(lock, bool) or not isinstance(lock, (int, float))):
        raise DreamwallError(f"{where}.lock_after must be seconds ({LOCK_RANGE[0]:g} to {LOCK_RANGE[1]:g}), "
                             f"got {show(lock)}")  # fmt: skip
    controls = ControlSettings(
        **{key: _control(where, key, data.get(key)) for key in RANGES},
        lock_after=float(check_range(f"{where}.lock_after", lock, *LOCK_RANGE)) if lock is not None else None,
    )
    return CameraSettings(mode=ModeRequest(size, fps, fmt), controls=controls)


def load_camera_file(path: Path) -> CameraSettings:
    """The kiosk's camera file: one `camera:` section."""
    data = read_yaml_mapping(path, "camera file")
    shown = display_path(path)
    reject_unknown(shown, "", data.keys(), (SECTION,))
    if SECTION not in data:
        raise DreamwallError(f"{shown}: no 'camera:' section")
    return parse_section(data[SECTION], f"{shown}: {SECTION}")


def combine(file: CameraSettings | None, size: tuple[int, int] | None, fps: float | None, fmt: str | None,
            output: tuple[int, int] | None) -> CameraSettings:  # fmt: skip
    """The file's settings with what the flags (or the environment) said on top."""
    base = file or CameraSettings()
    mode = base.mode
    mode = ModeRequest(size if size is not None else mode.size, fps if fps is not None else mode.fps,
                       fmt if fmt is not None else mode.format)  # fmt: skip
    return replace(base, mode=mode, output=output)


def from_options(config: Path | None, size: tuple[int, int] | None, fps: float | None, fmt: str | None,
                 output: tuple[int, int] | None) -> CameraSettings:  # fmt: skip
    """`run.py live`'s camera options (flags, else the environment file) over the camera file, if any."""
    return combine(load_camera_file(config) if config is not None else None, size, fps, fmt, output)


fps_arg = float_in(*FPS_RANGE, "camera fps")
format_arg = choice_arg("camera format", FORMATS)
