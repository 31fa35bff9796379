"""The main loops: the display loop (pygame window) and the headless loop (a video file).

Both share one tick: controls and actions, what housekeeping handed back, the audio
gain, the playlist clock, and one ShowStatus that the status file, the HUD and systemd
read. Neither loop waits on the engine or on the disk: they show (or record) whatever
dream is newest, and the housekeeping thread does the file work.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.framing import frame_into
from installation.app.config import HEADLESS_DEFAULT_SECONDS
from installation.app.status import ShowStatus
from installation.display.hud import HudInfo
from installation.outputs.recorder import Recorder, recording_name

if TYPE_CHECKING:
    from installation.app.app import App

EXIT_FATAL = 1
AUDIO_CHECK_S = 0.1  # the audio gain follows the room 10 times a second
SYSTEMD_STATUS_S = 1.0


class ShowLoop:
    def __init__(self, app: App) -> None:
        self.app = app
        self.shown = 0
        self.status: ShowStatus | None = None  # this tick's
        self.audio_checked: float | None = None
        self._headless_started: float | None = None
        self._progress_written: float | None = None
        self._ready_sent = False
        self._status_sent: float | None = None
        self._screen_output: tuple[int, int] | None = None
        self.recorder: Recorder | None = None  # the headless run's video

    def display_fps(self) -> float:
        app = self.app
        if app.renderer is not None:
            return float(app.renderer.display_fps)
        if self._headless_started is None or self.shown == 0:
            return 0.0
        return self.shown / max(app.clock() - self._headless_started, 1e-9)

    def tick(self) -> int | None:
        """Work shared by both loops; an exit code when the app must end."""
        app = self.app
        app.controls.poll()
        app.dispatcher.drain()
        app.housekeeping.run_handed()  # reloaded presets apply here, where the dispatcher runs
        app.messages.forget_fixed_error()  # headless runs and the status file too, not only the HUD
        self._follow_audio()
        app.director.follow_tempo(app.clock())  # a cued change lands on its beat; the pulse moves
        if app.programme.update():
            app.director.show_new_preset()
        self.status = app.show_status()
        app.latest_status.put(self.status)  # the housekeeping thread writes it to the status file
        app.controls.show(self.status)  # pad lights follow the status, whichever control changed it
        self._tell_systemd(self.status)
        if app.worker.fatal:
            app.messages.report_error("dream worker failed repeatedly; exiting so the service restarts")
            return EXIT_FATAL
        return None

    def _follow_audio(self) -> None:
        """At most 10 times a second, let the input level and onsets scale the step size."""
        app = self.app
        if app.audio is None:
            return
        now = app.clock()
        if self.audio_checked is not None and now - self.audio_checked < AUDIO_CHECK_S:
            return
        self.audio_checked = now
        gain = app.audio.intensity()
        if abs(gain - app.director.audio_gain) >= 0.02:
            app.director.set_audio_gain(gain)

    def _tell_systemd(self, status: ShowStatus) -> None:
        """READY once a dream is out, WATCHDOG only while dreams advance, STATUS about once a second."""
        app = self.app
        if not app.notifier.enabled:
            return
        dream = app.worker.latest()
        if dream is None:
            return
        if not self._ready_sent:
            self._ready_sent = app.notifier.ready(f"showing {status.preset}")
        app.notifier.heartbeat(dream.seq, idle=status.asleep or status.frozen)
        now = app.clock()
        if self._status_sent is None or now - self._status_sent >= SYSTEMD_STATUS_S:
            self._status_sent = now
            app.notifier.status(status.systemd_line())

    # ---- the window --------------------------------------------------------------------------

    def _hud_info(self) -> HudInfo:
        """The renderer asks during its tick: this tick's status, fresh notices."""
        app = self.app
        status = self.status if self.status is not None else app.show_status()
        return status.hud_info(app.messages.fresh())

    def run_display(self) -> int:
        from installation.display.renderer import Renderer

        app, config = self.app, self.app.config

        def latest() -> tuple[int, np.ndarray] | None:
            dream = app.worker.latest()
            return (dream.seq, dream.image) if dream is not None else None

        app.renderer = Renderer(latest, app.controls, hud_info=self._hud_info, keys=app.controls.keyboard,  # type: ignore[arg-type]
                                size=config.size, windowed=config.windowed, display=config.display,
                                fit=app.worker.settings.fit, hud_visible=config.hud)  # fmt: skip
        renderer: Any = app.renderer
        sent_seq = 0
        while app.running:
            self._follow_screen(renderer)
            renderer.tick()
            self.shown = renderer.shown_seq or 0
            dream = app.worker.latest()
            if dream is not None and dream.seq != sent_seq:
                sent_seq = dream.seq
                app.outputs.shown_frame(dream.image)
            if renderer.shown_seq is not None:
                app.outputs.record.capture(renderer.grab)  # at most 25 grabs/s; converted on the recorder thread
            code = self.tick()
            if code is not None:
                return code
        return 0

    def _follow_screen(self, renderer: Any) -> None:
        """Compose for the screen (its size changes with fullscreen) and frame it with the dream's fit rule.

        The worker composes at the camera's aspect, covering the screen (fill) or inside it (fit),
        and the renderer crops or bars it with the same rule (engine.framing), so nothing on the
        way is resized to another aspect unless the rule is stretch.
        """
        dream = self.app.worker.latest()
        if dream is not None and dream.fit != renderer.fit:
            renderer.set_fit(dream.fit)
        size = renderer.screen_size
        if size != self._screen_output:
            self._screen_output = size
            self.app.worker.set_output_size(size)

    # ---- headless ----------------------------------------------------------------------------

    def run_headless(self) -> int:
        app, config = self.app, self.app.config
        app.worker.set_output_size(config.size)  # None: the camera's own resolution
        seconds = config.seconds if config.seconds is not None else (
            None if config.frames is not None else HEADLESS_DEFAULT_SECONDS)
        path = config.out or config.recordings_dir / recording_name()
        if config.out is None:  # only the default out/ folder is created; --out was checked by live.check_arguments
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            code = self._record_headless(path, seconds)
        except BaseException:  # a crash or a second Ctrl-C: keep what was recorded, say where, and go on failing
            self._keep_partial()
            raise
        if code is not None:
            self._keep_partial()
            return code
        if self._stderr_is_terminal:
            app.stderr.write("\n")
        written = self.recorder.close() if self.recorder is not None else None
        if written is None:
            app.stderr.write("error: no video written (no frame was dreamt)\n")
            return EXIT_FATAL
        print(f"wrote {written} ({self.shown} dreamed frames, {self.display_fps():.1f} dream fps)", file=app.stdout,
              flush=True)
        return 0

    def _keep_partial(self) -> None:
        if self.recorder is not None:
            self.recorder.close_partial()

    def _record_headless(self, path: Path, seconds: float | None) -> int | None:
        """Until the frames or seconds are done or quit; an exit code when the app must end at once."""
        app, config = self.app, self.app.config
        last_seq = 0
        self._headless_started = app.clock()
        while app.running:
            code = self.tick()
            if code is not None:
                return code
            cue = app.director.seconds_to_cue(app.clock())  # wake for a change cued on the beat
            dream = app.worker.wait_newer(last_seq, timeout=0.25 if cue is None else min(0.25, cue))
            if dream is not None:
                last_seq = dream.seq
                frame = dream.image  # composed at the camera's aspect for --size (see the worker's output size)
                if config.size is not None:
                    frame = frame_into(frame, config.size, dream.fit)  # cropped or barred, never squeezed
                if self.recorder is None:
                    self.recorder = Recorder(path, fps=12.0 if seconds is None else 25.0,
                                             size=(frame.shape[1], frame.shape[0]), realtime=seconds is not None,
                                             on_error=app.messages.report_error, fit=dream.fit)  # fmt: skip
                self.recorder.write(frame, block=seconds is None)
                app.outputs.headless_frame(frame)
                self.shown += 1
                self._progress(seconds)
            elapsed = app.clock() - self._headless_started
            if (config.frames is not None and self.shown >= config.frames) or (
                seconds is not None and elapsed >= seconds
            ):
                break
        return None

    @property
    def _stderr_is_terminal(self) -> bool:
        return bool(getattr(self.app.stderr, "isatty", lambda: False)())

    def _progress(self, seconds: float | None) -> None:
        """A live counter on a terminal; in a log (no terminal) one line every 5 s at most."""
        app = self.app
        terminal = self._stderr_is_terminal
        now = app.clock()
        if not terminal and self._progress_written is not None and now - self._progress_written < 5.0:
            return
        self._progress_written = now
        total = f"/{app.config.frames}" if app.config.frames is not None else ""
        text = f"headless: {self.shown}{total} frames, {self.display_fps():.1f} fps"
        app.stderr.write(f"\r{text} " if terminal else f"{text}\n")
        app.stderr.flush()
