"""Does each wake-up bring the camera back? Watched from the worker's newest dream, judged per wake.

After a night asleep the camera is reopened; the show may still dream without it (issue 20:
a capture numbering its frames from 1 again was ignored by the worker for as long as the old
one had run, while the status said the source was ok). The status cannot tell, so the
watch reads what the worker dreamt: a dream made from a camera frame taken after the wake
must appear within a few seconds. Time frozen (a freeze from the panel) does not count:
a frozen show dreams nothing on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

WakeEnd = Literal["camera", "asleep", "end"]


@dataclass(frozen=True)
class DreamSeen:
    """The worker's newest dream as the sampler saw it; times are soak seconds."""

    mode: str           # "camera", "attract" or "source-lost" (installation.dreaming.settings.DreamMode)
    source_t: float     # when the camera frame it was made from was taken
    published_t: float  # when it was dreamt


@dataclass(frozen=True)
class Wake:
    """One wake-up: `at` is the last moment the show was seen asleep (the wake came after it).

    camera_after_s: from `at` to the first dream of a camera frame taken after `at` (None: none
    came); awake_s: how long it was watched; frozen_s: of that, time frozen; ended: what closed
    the watch; last_mode / source_state: what the worker dreamt and the status said meanwhile.
    """

    at: float
    camera_after_s: float | None
    awake_s: float
    frozen_s: float
    ended: WakeEnd
    last_mode: str | None = None
    source_state: str | None = None


@dataclass
class _Open:
    at: float
    last_t: float
    awake_s: float = 0.0
    frozen_s: float = 0.0
    last_mode: str | None = None
    source_state: str | None = None


@dataclass
class WakeWatch:
    """Fed every poll (asleep, frozen, the newest dream); closes one Wake per wake-up."""

    wakes: list[Wake] = field(default_factory=list)
    _asleep_at: float | None = None
    _open: _Open | None = None

    def update(self, t: float, asleep: bool, frozen: bool, dream: DreamSeen | None, source_state: str = "") -> None:
        if asleep:
            self._close(t, "asleep")
            self._asleep_at = t
            return
        if self._asleep_at is not None:
            self._open = _Open(at=self._asleep_at, last_t=self._asleep_at)
            self._asleep_at = None
        watch = self._open
        if watch is None:
            return
        step = t - watch.last_t
        watch.last_t = t
        watch.awake_s += step
        if frozen:
            watch.frozen_s += step
        watch.source_state = source_state or watch.source_state
        if dream is None:
            return
        watch.last_mode = dream.mode
        if dream.mode != "source-lost" and dream.source_t > watch.at:
            self._close(t, "camera", camera_after_s=dream.published_t - watch.at)

    def finish(self, t: float) -> list[Wake]:
        """The soak ended: a wake still waiting is closed as it stands; all wakes, oldest first."""
        self._close(t, "end")
        return self.wakes

    def _close(self, t: float, ended: WakeEnd, camera_after_s: float | None = None) -> None:
        watch = self._open
        if watch is None:
            return
        self._open = None
        self.wakes.append(Wake(at=watch.at, camera_after_s=camera_after_s, awake_s=round(t - watch.at, 2),
                               frozen_s=round(watch.frozen_s, 2), ended=ended, last_mode=watch.last_mode,
                               source_state=watch.source_state))  # fmt: skip


@dataclass(frozen=True)
class WakeJudgement:
    failures: list[str]
    notes: list[str]
    figures: dict[str, float | int | None]


def judge_wakes(wakes: Sequence[Wake], limit_s: float, expected: int | None = None) -> WakeJudgement:
    """Every wake must reach a camera dream within `limit_s` of awake, unfrozen time.

    A wake cut short (asleep again, or the soak ended) before `limit_s` is not judged. `expected`:
    wake-ups the schedule must have made by the end (None: not checked).
    """
    failures: list[str] = []
    notes: list[str] = []
    judged = [w for w in wakes if w.ended == "camera" or w.awake_s - w.frozen_s > limit_s]
    for wake in judged:
        waited = (wake.camera_after_s if wake.camera_after_s is not None else wake.awake_s) - wake.frozen_s
        if wake.camera_after_s is not None and waited <= limit_s:
            continue
        what = (f"first camera dream after {waited:.1f} s" if wake.camera_after_s is not None
                else f"no camera frame dreamt in {waited:.1f} s awake")  # fmt: skip
        failures.append(f"after the wake at {wake.at:.0f} s: {what} (limit {limit_s:g} s); the worker dreamt "
                        f"'{wake.last_mode or 'nothing'}' while the source said '{wake.source_state or '?'}'")
    short = len(wakes) - len(judged)
    if short:
        notes.append(f"{short} wake(s) ended (asleep again or the soak's end) before {limit_s:g} s: not judged")
    delays = [w.camera_after_s - w.frozen_s for w in judged if w.camera_after_s is not None]
    figures: dict[str, float | int | None] = {"wakes": len(wakes), "wakes_judged": len(judged),
                                              "slowest_wake_camera_s": round(max(delays), 2) if delays else None}
    if expected is not None:
        figures["expected_wakes"] = expected
        if len(wakes) < expected:
            failures.append(f"the show woke {len(wakes)} time(s), the opening hours should have woken it "
                            f"{expected} time(s)")  # fmt: skip
    return WakeJudgement(failures, notes, figures)
