"""`python run.py cameras`: the cameras plugged in, by index, stable path and name, with modes and controls.

What a technician needs to write `--source`, `--camera-size` and the `camera:` file: the
stable path or the name that survives re-plugging, the modes the camera really lists (the
default picks the largest at 30 fps or more, MJPG where offered), and its controls now.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from typing import TextIO

from installation.sources.cameras.devices import CameraInfo, ControlInfo, DeviceLayer, LinuxpyLayer
from installation.sources.cameras.modes import Mode

HELP = "list the cameras: index, stable path, name, modes (size, fps, format) and controls"
NO_CAMERAS = "no cameras found (no V4L2 video capture device under /dev)"


def configure(parser: argparse.ArgumentParser) -> None:
    del parser  # no options: the list is short enough to read whole


def mode_lines(modes: tuple[Mode, ...]) -> list[str]:
    """'1920x1080 MJPG: 60, 30 fps', largest first, one line per size and format."""
    rates: dict[tuple[int, int, str], list[float]] = defaultdict(list)
    for mode in modes:
        rates[(mode.width, mode.height, mode.fourcc)].append(mode.fps)
    lines = []
    for (width, height, fourcc), fps in sorted(rates.items(), key=lambda item: (-item[0][0] * item[0][1], item[0][2])):
        listed = ", ".join(f"{rate:g}" for rate in sorted(set(fps), reverse=True) if rate) or "?"
        lines.append(f"{width}x{height} {fourcc}: {listed} fps")
    return lines


def control_text(control: ControlInfo) -> str:
    now = "?" if control.value is None else str(control.value)
    span = f"{control.minimum}..{control.maximum}" if control.kind not in ("boolean", "button") else control.kind
    return f"{control.name} = {now} ({span}, default {control.default if control.default is not None else '?'})"


def describe(camera: CameraInfo) -> list[str]:
    index = camera.index if camera.index is not None else "?"
    lines = [f"{index}: {camera.name}", f"   path: {camera.path}"]
    lines += [f"   stable: {path}" for path in camera.stable_paths]
    lines.append(f"   --source \"name:{camera.name}\"  or  --source {camera.stable_path}")
    lines.append("   modes:" if camera.modes else "   modes: none listed")
    lines += [f"     {line}" for line in mode_lines(camera.modes)]
    lines.append("   controls:" if camera.controls else "   controls: none")
    lines += [f"     {control_text(control)}" for control in camera.controls]
    return lines


def list_cameras(layer: DeviceLayer, out: TextIO) -> int:
    cameras = layer.cameras()
    if not cameras:
        print(NO_CAMERAS, file=out)
        return 0
    for camera in cameras:
        print("\n".join(describe(camera)), file=out)
    return 0


def run(args: argparse.Namespace) -> int:
    del args
    return list_cameras(LinuxpyLayer(), sys.stdout)
