"""What the worker dreams next: the camera, the last dream evolving (attract), or the same with no camera.

The rules, in one place and on an injected clock so they are tested without threads:
a still room for the preset's `after_s` turns attract on and the first motion turns
it off; no camera frame for `lost_after_s` starts the source-lost loop at `lost_fps`
until frames return; coming back to the camera from either crossfades from the last
evolved dream over `fade_s`. Only the worker thread uses a ModeMachine; `mode` is one
immutable value, so the health report reads it from any thread.
"""

from __future__ import annotations

import logging

import torch
from torch import Tensor

from engine.attract import AttractMode, AttractParams
from installation.common.rates import Clock
from installation.display.crossfade import ease
from installation.dreaming.settings import DreamMode

logger = logging.getLogger(__name__)


def _loses_camera(attract: AttractParams | None, has_dream: bool) -> bool:
    """Whether a missing camera can start the source-lost loop: it needs the setting and a dream to evolve."""
    return attract is not None and attract.lost_after_s > 0 and has_dream


class ModeMachine:
    """camera / attract / source-lost and the fade back to the camera, timed by `clock`."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.mode: DreamMode = "camera"  # what the newest shown dream shows
        self._attract = AttractMode(0.0, clock)
        self._camera_at = clock()  # when the camera last delivered
        self._next_lost_at = 0.0
        self._fade: tuple[Tensor, float, float] | None = None  # (from image, start, seconds)

    def configure(self, attract: AttractParams | None) -> None:
        """A new preset's stillness delay (the stillness timer keeps running)."""
        self._attract.set_after(attract.still_after_s if attract is not None else 0.0)

    def camera_seen(self) -> None:
        """A camera frame arrived (or the watch starts): the camera counts as present from now."""
        self._camera_at = self._clock()

    def restart(self) -> None:
        """After a freeze (or sleep): neither the pause nor the camera's return counts as stillness."""
        self.camera_seen()
        self._attract.reset()

    def wait_for(self, attract: AttractParams | None, longest: float, has_dream: bool) -> float:
        """How long to wait for a camera frame: until the next source-lost frame is due, `longest` at most."""
        if not _loses_camera(attract, has_dream):
            return longest
        assert attract is not None  # _loses_camera checked it
        due = max(self._camera_at + attract.lost_after_s, self._next_lost_at)
        return min(longest, max(0.0, due - self._clock()))

    def lost_frame_due(self, attract: AttractParams | None, has_dream: bool) -> bool:
        """No camera frame for `lost_after_s` and the last source-lost frame is a `1 / lost_fps` ago."""
        if not _loses_camera(attract, has_dream):
            return False
        assert attract is not None  # _loses_camera checked it
        now = self._clock()
        return now - self._camera_at >= attract.lost_after_s and now >= self._next_lost_at

    def lost_frame(self, attract: AttractParams, now: float) -> None:
        """A source-lost frame begins at `now`: the next is due a `1 / lost_fps` later, even if this one fails."""
        self._next_lost_at = now + 1.0 / attract.lost_fps
        if self.mode != "source-lost":
            logger.warning("no camera frame for %.1f s: the last dream evolves on its own until the camera returns",
                           now - self._camera_at)  # fmt: skip

    def camera_returns(self) -> bool:
        """A camera frame is being dreamt: True when it ends a source-lost spell (motion starts afresh)."""
        if self.mode != "source-lost":
            return False
        logger.info("camera frames are back: dreaming the camera again")
        self._attract.reset()
        return True

    def choose(self, attract: AttractParams | None, level: float, last_dream: Tensor | None, now: float) -> DreamMode:
        """The mode for a camera frame with motion `level`; leaving attract or source-lost begins the fade."""
        if attract is not None and self._attract.update(level) and last_dream is not None:
            if self.mode != "attract":
                logger.info("nobody moved for %.0f s: attract mode", attract.after_s)
            return "attract"
        if self.mode != "camera":  # someone arrived, or the camera came back
            fade_s = attract.fade_s if attract is not None else 0.0
            self._fade = (last_dream, now, fade_s) if last_dream is not None and fade_s > 0 else None
        return "camera"

    def faded(self, dreamed: Tensor, now: float) -> Tensor:
        """Crossfade from the evolved dream back to the camera's (display only)."""
        if self._fade is None:
            return dreamed
        start, began, seconds = self._fade
        progress = (now - began) / seconds
        if progress >= 1.0 or start.shape != dreamed.shape:
            self._fade = None
            return dreamed
        return torch.lerp(start, dreamed, ease(progress))

    def forget_fade(self) -> None:
        """The device changed: the image faded from lives on the old one."""
        self._fade = None

    def shown(self, mode: DreamMode) -> None:
        """A dream in `mode` was published."""
        self.mode = mode
