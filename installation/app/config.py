"""What `run.py live` was asked for, and the defaults a gallery expects when it was not.

Defaults: camera 0 if one answers, else the built-in demo (with a notice); fullscreen
if there is a display, else headless to out/dreamwall-<timestamp>.mp4 for 10 s.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from installation.controls.inputs import ControlsConfig
from installation.sources.cameras.settings import CameraSettings

HEADLESS_DEFAULT_SECONDS = 10.0
OUT_DIR = Path("out")


@dataclass(frozen=True)
class LiveConfig:
    source: str | None = None            # None: camera 0 if present, else demo
    preset: str | None = None            # a single preset (overrides the playlist)
    playlist: str | None = None          # None: the default playlist
    windowed: bool = False
    display: int = 0
    headless: bool | None = None         # None: headless when there is no display
    frames: int | None = None            # headless: stop after this many dreamed frames
    seconds: float | None = None         # headless: stop after this long (default 10 s without --frames)
    out: Path | None = None              # headless output video
    size: tuple[int, int] | None = None  # window size (windowed) / headless video size
    process_size: tuple[int, int] | None = None
    status_file: Path | None = None
    presets_dir: Path | None = None
    backend: str | None = None           # None: the preset's choice
    device: str = "auto"                 # auto (CUDA when present) | cpu | cuda | cuda:N
    seed: int | None = None              # overrides every preset's seed; None: each preset's own
    dreamer: str | None = None           # gradient | student for every preset; None: each preset's own
    mask: str | None = None              # overrides every preset's mask (none | visitors | room); None: its own
    panorama: bool = False               # every preset dreams the input as a 360 panorama; False: each its own
    fit: str | None = None               # fill | fit | stretch for every preset; None: each preset's own
    mirror: bool | None = None           # mirror the source left-right; None: cameras yes, files and streams no
    rotate: int = 0                      # turn the source clockwise: 0 | 90 | 180 | 270 degrees
    hud: bool = False
    screenshots_dir: Path = OUT_DIR
    recordings_dir: Path = OUT_DIR
    controls: ControlsConfig = field(default_factory=ControlsConfig)
    virtual_camera: bool = False
    virtual_camera_device: str | None = None
    audio: bool = False                  # audio-reactive intensity (optional: sounddevice)
    audio_device: str | None = None
    web_port: int | None = None          # the remote control panel (installation.web); None: off
    web_host: str = "127.0.0.1"          # anything else needs the token
    ndi: str | None = None               # send the shown frame as this NDI source (live --ndi); None: off
    link: bool = False                   # join the Ableton Link session (installation.tempo)
    tempo: float | None = None           # the show's own tempo until a tempo source leads; None: seconds
    beats_per_bar: int = 4               # the bar of quantize, pulses and 'N bars' (Link's quantum)
    camera: CameraSettings = field(default_factory=CameraSettings)  # a camera's mode and controls (kiosk config)


def display_available() -> bool:
    """Whether a window can be opened: an X11/Wayland session, or SDL told to use a real driver."""
    driver = os.environ.get("SDL_VIDEODRIVER", "")
    if driver in ("dummy", "offscreen"):
        return False
    if driver:
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
