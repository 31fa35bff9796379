"""The dream worker thread: newest camera frame in, newest dream out, feedback in between.

It never queues: it waits for a frame newer than the last one it dreamt, has it dreamt
(installation.dreaming.dreamer: one octave of a few steps from the frame plus the carried
detail of the previous dream, one upload and one download) and publishes the result
into a newest-dream-wins slot for the renderer. Settings (from presets, keyboard, MIDI)
are swapped as one immutable value, so a frame is always dreamt with one consistent set.
A failing frame is logged with context and skipped; a run of failures is reported as
fatal so the app can exit non-zero and systemd restarts it. Which mode to dream in is
installation.dreaming.modes's to say; running out of GPU memory steps the size down
(installation.dreaming.size_governor) instead of failing.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

import numpy as np

from engine.step import dream_step
from engine.temporal import FlowFn
from installation.common.rates import Clock, RateMeter, RollingMean
from installation.dreaming.dreamer import FrameDreamer, GradientFactory, StepFn, autograd_factory, describe
from installation.dreaming.host_link import HostLink
from installation.dreaming.settings import Dream, DreamMode, DreamSettings, WorkerHealth, WorkerState
from installation.dreaming.size_governor import auto_process_size, is_out_of_memory
from installation.dreaming.stage_timer import StageTimer
from installation.dreaming.thread_tuner import ThreadTuner
from installation.sources.capture import Frame, NewestSlot

__all__ = ["DreamSettings", "DreamWorker", "FrameFeed", "auto_process_size"]  # app, bench, warmup use these

logger = logging.getLogger(__name__)


def look_cost(settings: DreamSettings) -> tuple[object, ...]:
    """What decides a frame's cost: a new value tunes the CPU threads again (installation.dreaming.thread_tuner).
    With a student: its runner, and the builds it has ended (a compiled pass taking over from the eager one, and
    the build no longer taking a core while the tuner measures: installation.dreaming.student_builds)."""
    if settings.student is not None:
        runner = settings.student.net
        return settings.process_size, settings.dtype, id(runner), getattr(runner, "generation", 0)
    return settings.net.name, settings.process_size, settings.steps, settings.dtype, settings.objective.layers


class FrameFeed(Protocol):
    """What the worker needs from capture (installation.sources.capture.Capture has it)."""

    def wait_newer(self, after_seq: int, timeout: float | None = None) -> Frame | None: ...


class DreamWorker:
    """Dreams the newest frame of `feed` on its own thread.

    gradient_factory builds the gradient function for (net, objective, process size):
    autograd by default, an accelerated backend's otherwise (e.g.
    `lambda net, obj, size: select_backend("auto", net, obj, size, device)[0].gradient`).
    It is called on the worker thread, again whenever the settings or the size change.
    step_fn is engine.step.dream_step unless a test wants to watch the steps.
    seed overrides every preset's own seed (None: each settings' `seed`).
    """

    def __init__(self, feed: FrameFeed, settings: DreamSettings, gradient_factory: GradientFactory = autograd_factory,
                 flow_fn: FlowFn | None = None, seed: int | None = None, max_consecutive_errors: int = 10,
                 wait_timeout: float = 0.25, clock: Clock = time.monotonic, join_timeout: float = 5.0,
                 step_fn: StepFn = dream_step, stage_timer: StageTimer | None = None,
                 thread_tuner: ThreadTuner | None = None) -> None:  # fmt: skip
        self._feed = feed
        self._tuner = thread_tuner
        self._max_consecutive = max_consecutive_errors
        self._wait_timeout = wait_timeout
        self._clock = clock
        self._join_timeout = join_timeout
        self._slot: NewestSlot[Dream] = NewestSlot()
        self._rate = RateMeter(clock=clock)
        self._step_ms, self._latency_ms = RollingMean(), RollingMean()
        self._lock = threading.Lock()  # guards the settings, the output size, the state and the error counts
        self._settings, self._settings_version = settings, 0
        self._output_size: tuple[int, int] | None = None
        self._frozen = False
        self._state: WorkerState = "starting"
        self._errors = self._consecutive = 0
        self._last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._dreamer = FrameDreamer(gradient_factory, step_fn, flow_fn, seed, clock, self._publish, stage_timer)

    # -- control (any thread) --------------------------------------------------------

    def set_settings(self, settings: DreamSettings) -> None:
        """Use `settings` from the next frame on (the carried dream detail is kept, for smooth changes)."""
        with self._lock:
            self._settings = settings
            self._settings_version += 1

    @property
    def settings(self) -> DreamSettings:
        with self._lock:
            return self._settings

    def set_output_size(self, size: tuple[int, int] | None) -> None:
        """Compose shown frames for (width, height), the screen's or the video's, under the settings' fit rule
        (at the camera's aspect, cropped or barred by whoever shows them); None = the camera's own size."""
        with self._lock:
            self._output_size = size

    @property
    def host_link(self) -> HostLink | None:
        """The uploads/downloads counters of the current device (None before the first frame)."""
        return self._dreamer.link

    def set_frozen(self, frozen: bool) -> None:
        """Frozen: stop dreaming, the last dream stays the newest (and keeps being shown)."""
        with self._lock:
            self._frozen = frozen
            if self._state in ("running", "frozen"):
                self._state = "frozen" if frozen else "running"

    @property
    def frozen(self) -> bool:
        with self._lock:
            return self._frozen

    # -- output (any thread) -------------------------------------------------------

    def wait_newer(self, after_seq: int, timeout: float | None = None) -> Dream | None:
        return self._slot.wait_newer(after_seq, timeout)

    def latest(self) -> Dream | None:
        return self._slot.latest()

    @property
    def fatal(self) -> bool:
        """True after `max_consecutive_errors` failed frames in a row: the app should exit non-zero."""
        with self._lock:
            return self._state == "fatal"

    def health(self) -> WorkerHealth:
        dreamer, sizes = self._dreamer, self._dreamer.sizes
        with self._lock:
            return WorkerHealth(
                state=self._state, fps=self._rate.rate(), frames=self._slot.published, dropped=self._slot.dropped,
                errors=self._errors, consecutive_errors=self._consecutive, last_error=self._last_error,
                step_ms=self._step_ms.mean(), latency_ms=self._latency_ms.mean(), mode=dreamer.modes.mode,
                motion_level=dreamer.motion_level, reactive_scale=dreamer.reactive_scale,
                process_size=sizes.size, notice=sizes.notice, size_steps=sizes.steps,
                threads=self._tuner.summary if self._tuner is not None else "",
                dreamer=dreamer.dreamer, dreamer_notice=dreamer.dreamer_notice, student_runs=dreamer.student_runs,
            )  # fmt: skip

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> DreamWorker:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="dream", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop after the current frame; idempotent."""
        self._stop.set()
        self._slot.wake_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self._join_timeout)
            if thread.is_alive():
                logger.warning("dream worker did not stop within %.1f s", self._join_timeout)
        with self._lock:
            if self._state != "fatal":
                self._state = "stopped"

    def __enter__(self) -> DreamWorker:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the thread ----------------------------------------------------------------

    def _run(self) -> None:
        with self._lock:
            self._state = "frozen" if self._frozen else "running"
        last_seq, was_frozen, modes = 0, False, self._dreamer.modes
        modes.camera_seen()
        while not self._stop.is_set():
            try:
                frame = self._feed.wait_newer(last_seq, self._wait_for())
            except Exception:  # a broken feed is the capture's to report; do not spin on it
                logger.exception("waiting for a frame failed")
                self._stop.wait(self._wait_timeout)
                continue
            if self._stop.is_set():
                break
            if frame is not None:
                last_seq = frame.seq
            with self._lock:
                settings, version, frozen, output = (self._settings, self._settings_version, self._frozen,
                                                     self._output_size)  # fmt: skip
            if frozen:
                was_frozen = True
                continue
            if was_frozen:
                was_frozen = False
                self._dreamer.restart_timers()
            if frame is not None:
                modes.camera_seen()
            elif not modes.lost_frame_due(settings.attract, self._dreamer.last_output is not None):
                continue
            if not self._attempt(frame, settings, version, output):
                return

    def _wait_for(self) -> float:
        """How long to wait for a camera frame: until the next camera-lost frame is due, at most."""
        with self._lock:
            attract, frozen = self._settings.attract, self._frozen
        has_dream = self._dreamer.last_output is not None and not frozen
        return self._dreamer.modes.wait_for(attract, self._wait_timeout, has_dream)

    def _attempt(self, frame: Frame | None, settings: DreamSettings, version: int,
                 output: tuple[int, int] | None) -> bool:  # fmt: skip
        """Dream the camera frame (None: evolve the last dream, camera lost); False when it is time to give up."""
        began = self._clock()
        try:
            if frame is not None:
                self._dreamer.camera(frame, settings, version, output)
                self._latency_ms.add((self._clock() - frame.timestamp) * 1000)
            else:
                self._dreamer.lost(settings, version, output)
            if self._tuner is not None and settings.device.type == "cpu":
                self._tuner.frame_done(look_cost(settings), (self._clock() - began) * 1000)
        except Exception as error:  # noqa: BLE001 - one bad frame must not end the show
            if is_out_of_memory(error) and (notice := self._dreamer.step_down()) is not None:
                logger.warning("%s", notice)
                return True
            return not self._failed(describe(settings, frame), error)
        with self._lock:
            self._consecutive = 0
        return True

    def _failed(self, context: str, error: Exception) -> bool:
        """Log and count a failed frame; True when it is time to give up."""
        with self._lock:
            self._errors += 1
            self._consecutive += 1
            self._last_error = f"{error.__class__.__name__}: {error}"
            consecutive = self._consecutive
            fatal = consecutive >= self._max_consecutive
            if fatal:
                self._state = "fatal"
        if consecutive == 1:
            logger.error("dreaming %s failed", context, exc_info=error)
        else:
            logger.warning("dreaming %s failed again (%d in a row): %s", context, consecutive, error)
        if fatal:
            logger.critical("dream worker gave up after %d failed frames in a row", consecutive)
            self._slot.wake_all()
        return fatal

    def _publish(self, shown: np.ndarray, frame: Frame | None, label: str, mode: DreamMode, started: float) -> None:
        """The dreamer's shown frame becomes the newest dream; the rate and time per frame count it."""
        now = self._clock()
        source_seq, source_time = (frame.seq, frame.timestamp) if frame is not None else (0, started)
        fit = self._dreamer.fit  # the rule `shown` was composed under (set by the dreamer just before)
        self._slot.publish(lambda seq: Dream(shown, seq, now, source_seq, source_time, label, mode, fit))
        self._rate.tick()
        self._step_ms.add((now - started) * 1000)
