"""The panel's web server: Starlette on uvicorn in a daemon thread, never in the show's loop.

The server only reads (the newest status, the newest dream) and posts Actions to the
dispatcher, like the OSC listener: the page is one more control, not a second way in.
The preview is encoded here, on the web thread, from the worker's newest dream; the
show's loop pays nothing for it.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from engine.bounds import check_bound
from engine.errors import DreamwallError, did_you_mean
from installation.common.logtext import EscapingFormatter, printable
from installation.controls.actions import ACTION_KINDS, Action

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
BODY_CAP = 4096  # an action is a few dozen bytes
PREVIEW_WIDTH = 320
PREVIEW_FPS = 8.0
EVENTS_S = 0.5
LOG_LINES = 50
PANEL_ACTIONS = ("next", "previous", "select", "intensity", "feedback", "freeze", "blackout", "record",
                 "screenshot", "sleep", "wake", "hud")  # fmt: skip
NUMBER_ACTIONS = ("intensity", "feedback")
MAX_NESTING = 4  # an action is one object of plain values; a little room, never a parser's recursion
ECHO = 40  # at most this much of a client's text is repeated in an answer
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}  # fmt: skip


class LogRing(logging.Handler):
    """The last lines of the log, for the page (a deque append: cheap on any thread)."""

    def __init__(self, size: int = LOG_LINES) -> None:
        super().__init__(logging.INFO)
        self.lines: deque[str] = deque(maxlen=size)
        self.setFormatter(EscapingFormatter(datefmt="%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except (TypeError, ValueError):  # a bad format argument must never break the caller
            self.handleError(record)


@dataclass(frozen=True)
class PanelSource:
    """What the server may do with the show: post actions and read its newest values."""

    post: Callable[[Action], None]
    status: Callable[[], dict[str, Any] | None]
    frame: Callable[[], tuple[int, np.ndarray] | None]  # (seq, RGB uint8)
    presets: Callable[[], list[str]]
    screenshots: Path
    preset_file: Callable[[str], Path | None] = lambda name: None  # a newer file: its thumbnail is retaken
    thumbnails: Path | None = None  # the thumbnails' disk cache; None: memory only


class BadRequest(ValueError):
    """One line saying what was wrong; the client gets it with a 400."""


def nesting(text: str) -> int:
    """How deep JSON text nests its arrays and objects (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif in_string:
            escaped = char == "\\"
            in_string = char != '"'
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_action(body: bytes, presets: list[str]) -> Action:
    """A panel request as an Action, or BadRequest naming what is wrong (and the range)."""
    try:
        text = (body or b"{}").decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest('body must be UTF-8 JSON like {"kind": "next"}') from None
    depth = nesting(text)
    if depth > MAX_NESTING:  # checked before parsing: 4000 '[' made json.loads raise RecursionError (a 500)
        raise BadRequest(f"body nests {depth} levels deep; an action nests at most {MAX_NESTING}")
    try:
        data = json.loads(text)
    except ValueError:
        raise BadRequest('body must be JSON like {"kind": "next"}') from None
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        raise BadRequest("body must be a JSON object with a string 'kind'")
    kind, value = data["kind"], data.get("value")
    if kind not in ACTION_KINDS:
        raise BadRequest(f"unknown action '{printable(kind, ECHO)}'{did_you_mean(kind, PANEL_ACTIONS)}")
    if kind not in PANEL_ACTIONS:
        raise BadRequest(f"action '{kind}' is not offered by the panel; it offers {', '.join(PANEL_ACTIONS)}")
    if kind in NUMBER_ACTIONS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadRequest(f"{kind} needs a number value")
        try:
            check_bound(kind, float(value))
        except DreamwallError as error:
            raise BadRequest(str(error)) from None
        return Action(kind, float(value), source="web")
    if kind == "select":
        return Action(kind, _preset_choice(value, presets), source="web")
    if value is not None:
        raise BadRequest(f"{kind} takes no value")
    return Action(kind, source="web")


def _preset_choice(value: Any, presets: list[str]) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= len(presets):
            raise BadRequest(f"preset number must be between 1 and {len(presets)}, got {value}")
        return value
    if isinstance(value, str) and value in presets:
        return value
    if isinstance(value, str):
        raise BadRequest(f"unknown preset '{printable(value, ECHO)}'{did_you_mean(value, presets)}")
    raise BadRequest("select needs a preset number or name")


def preview_jpeg(rgb: np.ndarray, width: int = PREVIEW_WIDTH) -> bytes:
    """The small preview: downscaled with area averaging, JPEG quality 70."""
    height = max(1, round(rgb.shape[0] * width / rgb.shape[1]))
    small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 70])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()


BLACK = preview_jpeg(np.zeros((180, 320, 3), np.uint8))
