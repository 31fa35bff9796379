"""Which mode a camera runs in (size, frame rate, pixel format), and asking the driver for it.

A USB webcam opens at whatever its driver starts with (usually 640x480 YUYV), and above
640x480 YUYV a USB 2 camera drops to a few frames per second: the mode has to be chosen
from what the camera lists and asked for in OpenCV's V4L2 order (FOURCC first, then width,
height, fps; a FOURCC set after the size is ignored). `set()` returning true proves
nothing, the driver clamps: what it gave is read back, and a refused ask falls back to the
nearest mode the camera has, with a notice, never an exception.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from engine.errors import DreamwallError, did_you_mean

logger = logging.getLogger(__name__)

FORMATS = ("auto", "mjpg", "yuyv")
MIN_DEFAULT_FPS = 30.0
DEFAULT_OUTPUT = (1920, 1080)
"""The bound on the default mode when the output size is not known (fullscreen before the window opens)."""
_FPS_SLACK = 0.5  # a listed 29.97 answers an ask for 30


class VideoCaptureLike(Protocol):
    """The part of cv2.VideoCapture a camera uses (a test injects a recording fake)."""

    def isOpened(self) -> bool: ...

    def set(self, prop: int, value: float) -> bool: ...

    def get(self, prop: int) -> float: ...

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def grab(self) -> bool: ...

    def retrieve(self) -> tuple[bool, np.ndarray | None]: ...

    def release(self) -> None: ...


@dataclass(frozen=True, order=True)
class Mode:
    """One mode: `fourcc` as V4L2 names it ("MJPG", "YUYV"); fps 0 when unknown."""

    width: int
    height: int
    fps: float
    fourcc: str

    def __str__(self) -> str:
        rate = f" {self.fps:g} fps" if self.fps else ""
        return f"{self.width}x{self.height}{rate} {self.fourcc or '?'}"

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


@dataclass(frozen=True)
class ModeRequest:
    """What was asked (`--camera-size`, `--camera-fps`, `--camera-format`); None / "auto": the default rule."""

    size: tuple[int, int] | None = None
    fps: float | None = None
    format: str = "auto"

    @property
    def fourcc(self) -> str | None:
        return None if self.format == "auto" else self.format.upper()

    def describe(self) -> str:
        parts = [f"{self.size[0]}x{self.size[1]}" if self.size else "", f"{self.fps:g} fps" if self.fps else "",
                 self.fourcc or ""]  # fmt: skip
        return " ".join(part for part in parts if part) or "the default mode"


def parse_format(text: str) -> str:
    """'MJPG' / 'mjpeg' / 'yuyv' / 'auto' -> one of FORMATS."""
    word = text.strip().lower()
    word = {"mjpeg": "mjpg", "yuy2": "yuyv"}.get(word, word)
    if word not in FORMATS:
        raise DreamwallError(
            f"camera format must be one of {', '.join(FORMATS)}, got '{text}'{did_you_mean(word, FORMATS)}"
        )
    return word


def _fits(mode: Mode, bound: tuple[int, int]) -> bool:
    return mode.width <= bound[0] and mode.height <= bound[1]


def default_mode(modes: Sequence[Mode], output: tuple[int, int] | None, fourcc: str | None = None) -> Mode | None:
    """The largest mode not larger than the output that reaches 30 fps, MJPG where offered (None: nothing listed).

    Without a mode that small and that fast: the fastest of those that fit, else the smallest there is.
    """
    if fourcc is not None:
        modes = [m for m in modes if m.fourcc == fourcc] or list(modes)
    if not modes:
        return None
    bound = output or DEFAULT_OUTPUT
    fitting = [m for m in modes if _fits(m, bound)]
    fast = [m for m in fitting if m.fps >= MIN_DEFAULT_FPS - _FPS_SLACK]
    if fast:
        return max(fast, key=lambda m: (m.width * m.height, m.fourcc == "MJPG", m.fps))
    if fitting:
        return max(fitting, key=lambda m: (m.fps, m.width * m.height, m.fourcc == "MJPG"))
    return min(modes, key=lambda m: (m.width * m.height, -m.fps, m.fourcc != "MJPG"))


def distance(mode: Mode, wanted: Mode) -> tuple[float, float, float, bool]:
    """How far `mode` is from `wanted`: size (log of the pixel ratio), aspect, frame rate, format."""
    area = math.log((mode.width * mode.height) / max(1, wanted.width * wanted.height))
    aspect = math.log((mode.width / mode.height) / (wanted.width / wanted.height))
    fps = abs(mode.fps - wanted.fps) if wanted.fps and mode.fps else 0.0
    return round(abs(area) + abs(aspect), 6), abs(aspect), fps, mode.fourcc != wanted.fourcc


def nearest_mode(modes: Iterable[Mode], wanted: Mode) -> Mode | None:
    return min(modes, key=lambda m: distance(m, wanted), default=None)


def _same_rate(a: float, b: float) -> bool:
    return abs(a - b) <= _FPS_SLACK


def choose_mode(
    modes: Sequence[Mode], request: ModeRequest, output: tuple[int, int] | None
) -> tuple[Mode | None, str | None]:
    """(the mode to ask for, a notice when the request is not among the camera's modes).

    `modes` empty (not listed, e.g. not a V4L2 device): the request as it is, or None for "leave it".
    """
    fourcc = request.fourcc
    if not modes:
        if request.size is None and request.fps is None and fourcc is None:
            return None, None
        width, height = request.size or (0, 0)
        return Mode(width, height, request.fps or 0.0, fourcc or ""), None
    if request.size is None and request.fps is None:
        return default_mode(modes, output, fourcc), None
    matching = [m for m in modes
                if (request.size is None or m.size == request.size)
                and (request.fps is None or _same_rate(m.fps, request.fps))
                and (fourcc is None or m.fourcc == fourcc)]  # fmt: skip
    if matching:
        return default_mode(matching, None if request.size else output), None
    base = default_mode(modes, output, fourcc) or modes[0]
    wanted = Mode(*(request.size or base.size), request.fps or base.fps, fourcc or base.fourcc)
    nearest = nearest_mode(modes, wanted)
    return nearest, f"camera has no {request.describe()} mode: using the nearest, {nearest}"


# -- the driver --------------------------------------------------------------------------------


def fourcc_text(code: float) -> str:
    value = int(code)
    return "".join(chr((value >> 8 * i) & 0xFF) for i in range(4)).strip("\x00 ")


def read_mode(capture: VideoCaptureLike) -> Mode:
    """What the driver really runs now."""
    return Mode(int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                round(capture.get(cv2.CAP_PROP_FPS), 2), fourcc_text(capture.get(cv2.CAP_PROP_FOURCC)))  # fmt: skip


def ask_mode(capture: VideoCaptureLike, mode: Mode) -> Mode:
    """Ask in OpenCV's V4L2 order (FOURCC, width, height, fps) and return what the driver gave."""
    if mode.fourcc:
        capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*mode.fourcc.ljust(4)[:4]))
    if mode.width and mode.height:
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, mode.width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, mode.height)
    if mode.fps:
        capture.set(cv2.CAP_PROP_FPS, mode.fps)
    return read_mode(capture)


def gave(asked: Mode, got: Mode) -> bool:
    """Whether the driver gave what was asked (parts not asked for, 0 or '', count as given)."""
    return ((not asked.width or got.size == asked.size) and (not asked.fps or _same_rate(got.fps, asked.fps))
            and (not asked.fourcc or got.fourcc == asked.fourcc))  # fmt: skip


def negotiate(
    capture: VideoCaptureLike,
    camera: str,
    modes: Sequence[Mode],
    request: ModeRequest,
    output: tuple[int, int] | None,
    notify: Callable[[str], None],
) -> Mode:
    """Choose, ask, read back, log asked vs got in one line; a refusal falls back to the nearest listed mode."""
    wanted, notice = choose_mode(modes, request, output)
    if notice:
        notify(f"{camera}: {notice}")
    if wanted is None:
        got = read_mode(capture)
        logger.info("%s: asked nothing (no modes listed), got %s", camera, got)
        return got
    got = ask_mode(capture, wanted)
    logger.info("%s: asked %s, got %s", camera, wanted, got)
    if gave(wanted, got):
        return got
    fallback = nearest_mode([m for m in modes if m != wanted], wanted)
    if fallback is not None and fallback != got:
        got = ask_mode(capture, fallback)
        logger.info("%s: asked %s (fallback), got %s", camera, fallback, got)
    notify(f"{camera}: the driver refused {wanted}: running {got}")
    return got
