"""The installation: wires source -> capture -> dream worker -> renderer (or headless video).

Controls only post Actions; this module applies them in one place (`_on_*` handlers)
on the main thread. The main loop never waits on the engine: it shows (or records)
whatever dream is newest.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from engine.compose import cover_size
from engine.errors import DreamwallError
from engine.networks import DreamNet
from engine.objectives import Objective
from installation.app.config import HEADLESS_DEFAULT_SECONDS, LiveConfig, display_available
from installation.controls.actions import Action, Dispatcher
from installation.controls.audio import AudioReactive
from installation.controls.inputs import Controls
from installation.display.hud import fresh_notices
from installation.dreaming.backend_choice import BackendChooser, check_backend_here
from installation.dreaming.export_cache import DiskStore
from installation.dreaming.looks import NetworkCache, Overrides, dream_settings
from installation.dreaming.placement import Placement, resolve_device, resolve_precision
from installation.dreaming.worker import DreamSettings, DreamWorker
from installation.ops.sd_notify import Notifier, status_line
from installation.ops.status import StatusFile
from installation.outputs.recorder import Recorder, RecordToggle, recording_name
from installation.outputs.virtual_camera import VirtualCamera
from installation.presets.hot_reload import HotReloader, watch_presets
from installation.presets.loader import Preset, PresetLibrary, check_process_size, environment_presets_dir
from installation.presets.playlist import Playlist, PlaylistPlayer, load_named_playlist
from installation.sources.capture import Capture, Frame
from installation.sources.openers import DEMO, FrameSource, camera_available, open_source

log = logging.getLogger(__name__)

NO_CAMERA_NOTICE = "no camera found: showing the built-in demo"
EXIT_FATAL = 1


class SwitchableFeed:
    """The worker's view of the camera; the capture behind it can be closed (sleep) and replaced (wake)."""

    def __init__(self, capture: Capture | None) -> None:
        self.capture = capture

    def wait_newer(self, after_seq: int, timeout: float | None = None) -> Frame | None:
        capture = self.capture
        if capture is None:
            time.sleep(timeout or 0.1)
            return None
        return capture.wait_newer(after_seq, timeout)


def choose_source(spec: str | None) -> tuple[str, str | None]:
    """(source spec, notice) — camera 0 when present, else the demo with a visible notice."""
    if spec is not None:
        return spec, None
    if camera_available(0):
        return "0", None
    return DEMO, NO_CAMERA_NOTICE


class App:
    def __init__(
        self,
        config: LiveConfig,
        *,
        source_factory: Callable[[str], FrameSource] | None = None,
        clock: Callable[[], float] = time.monotonic,
        stderr: Any = None,
        stdout: Any = None,  # the headless lines (preset names, the written file); None: sys.stdout
    ) -> None:
        self.config = config
        self._clock = clock
        self._stderr = stderr if stderr is not None else sys.stderr
        self._stdout = stdout if stdout is not None else sys.stdout
        self.started = clock()
        self.notices: list[str] = []
        self.last_error: str | None = None
        self.errors = 0
        self.headless = config.headless if config.headless is not None else not display_available()
        self.device, self.device_reason = resolve_device(config.device)  # no such GPU: exit 2 before any work
        log.info("dreaming on %s (%s)", self.device, self.device_reason)
        if config.backend is not None:
            check_backend_here(config.backend, self.device)  # an explicit ask that cannot run: exit 2

        self.library = PresetLibrary(config.presets_dir or environment_presets_dir())
        playlist = (Playlist.of([config.preset], name=config.preset) if config.preset
                    else load_named_playlist(config.playlist or "default", self.library))  # fmt: skip
        presets = self.library.load_all(playlist.names())
        if config.process_size is not None:  # the override applies to every preset: each network must dream it
            for network in sorted({p.network for p in presets.values()}):
                check_process_size(config.process_size, network, "--process-size:")
        self.programme = PlaylistPlayer(playlist, presets, clock=clock)
        self.networks = NetworkCache()
        self._placements: dict[int, tuple[Preset, Placement]] = {}
        for preset in presets.values():  # fp16 asked on a CPU: exit 2 now, while someone is looking
            placement = self.placement(preset, strict=True)
            self.networks.get(preset.network, placement.device, placement.dtype)  # loaded before the show starts
        self.reloader = HotReloader(on_error=lambda message: self.report_error(f"{message} (kept last good)"),
                                    clock=clock)  # fmt: skip
        watch_presets(self.reloader, self.library, playlist.names(), self._on_reloaded,
                      process_size=config.process_size)  # fmt: skip
        self.overrides = Overrides()
        self.dispatcher = Dispatcher()
        self.controls = Controls(config.controls, self.dispatcher, self.notify)  # bad files fail here, exit 2
        self.controls.watch(self.reloader)

        spec, notice = choose_source(config.source)
        if notice:
            self.notify(notice)
        self._source_factory = source_factory or open_source
        self.source_spec = spec
        self.audio_gain = 1.0
        self._objective_of: tuple[Preset, Objective, DreamNet] | None = None
        self.placement_now: Placement | None = None
        self.audio: AudioReactive | None = None
        self._audio_checked: float | None = None
        self.backends = BackendChooser(config.backend, store=DiskStore(), notify=self.notify)
        settings = self._settings()  # fails on a bad objective before any thread starts
        self.feed = SwitchableFeed(Capture(self._source_factory(spec)).start())
        self.worker = DreamWorker(self.feed, settings, gradient_factory=self.backends, seed=config.seed).start()

        self._running = True
        self._asleep = False
        self.record = RecordToggle(config.recordings_dir, fps=25.0, on_message=self.notify)
        self.status = StatusFile(config.status_file, clock=clock)
        self.renderer: Any = None
        self.notifier = Notifier()
        self._ready_sent = False
        self._status_sent: float | None = None
        self.virtual_camera: VirtualCamera | None = None
        self._virtual_camera_wanted = config.virtual_camera
        self._register_handlers()
        self.controls.start()
        if config.audio:
            self.audio = AudioReactive.open(config.audio_device)
            if self.audio is None:
                self.notify("audio-reactive off: no audio input (see the log)")

    @property
    def capture(self) -> Capture | None:
        """The running capture; None while asleep."""
        return self.feed.capture

    # ---- looks -------------------------------------------------------------------------------

    def placement(self, preset: Preset, strict: bool = False) -> Placement:
        """Device and dtype for `preset`, once per preset version; a reloaded fp16-on-CPU preset is a notice."""
        cached = self._placements.get(id(preset))
        if cached is not None and cached[0] is preset:
            return cached[1]
        dtype, notice = resolve_precision(preset.precision, self.device, f"preset {preset.name}", strict)
        if notice is not None:
            self.notify(notice)
        placement = Placement(self.device, dtype, self.device_reason)
        self._placements[id(preset)] = (preset, placement)
        return placement

    def _settings(self) -> DreamSettings:
        preset = self.programme.current
        placement = self.placement(preset)
        net = self.networks.get(preset.network, placement.device, placement.dtype)
        self.placement_now = placement
        self.backends.wanted = preset.backend
        if self._objective_of is None or self._objective_of[0] is not preset or self._objective_of[2] is not net:
            objective = preset.build_objective(net)  # once per preset version, not per knob move
            self._objective_of = (preset, objective, net)
        return dream_settings(preset, net, self.overrides, self.config.process_size, lr_gain=self.audio_gain,
                              objective=self._objective_of[1], placement=placement)  # fmt: skip

    def apply_look(self, announce: bool = True) -> None:
        """Send the current preset (with overrides) to the worker; announce a change."""
        try:
            self.worker.set_settings(self._settings())
        except DreamwallError as error:
            self.report_error(f"preset {self.programme.current.name}: {error}")
            return
        if announce:
            preset = self.programme.current
            log.info("preset: %s", preset.summary())
            if self.headless:
                print(f"preset: {preset.name}", file=self._stdout, flush=True)
            if self.renderer is not None:
                self.renderer.begin_crossfade(preset.transition)

    def change_preset(self, move: Callable[[], object]) -> None:
        """Run a playlist move (next, previous, select) and show its preset."""
        move()
        self._show_new_preset()

    def _show_new_preset(self) -> None:
        """A new preset starts from its own values: live overrides are cleared."""
        self.overrides = Overrides()
        self.apply_look()

    def _on_reloaded(self, preset: Preset) -> None:
        """A checked edit: build what the show needs first, so a failure keeps the last good preset on screen."""
        showing = preset.name == self.programme.current.name
        if showing:
            placement = self.placement(preset)
            net = self.networks.get(preset.network, placement.device, placement.dtype)
            try:
                self._objective_of = (preset, preset.build_objective(net), net)
            except DreamwallError as error:
                self.report_error(f"preset {preset.name}: {error} (kept last good)")
                return
        self.programme.replace_preset(preset)
        if showing:
            self.notify(f"reloaded preset {preset.name}")
            self.apply_look(announce=False)

    # ---- messages ----------------------------------------------------------------------------

    _notices_at: tuple[tuple[float, str], ...] = ()  # (posted at, text): the HUD shows the fresh ones
    _error_preset: Preset | None = None  # the preset version on show when last_error was reported

    def notify(self, text: str) -> None:
        self._remember(text)
        self._notices_at = (*self._notices_at[-4:], (self._clock(), text))

    def _remember(self, text: str) -> None:
        """The log and the status file's last five notices."""
        log.warning("%s", text)
        self.notices = [*self.notices[-4:], text]

    def report_error(self, text: str) -> None:
        """Not a HUD notice as well: the HUD says an error once, on its red line."""
        self.errors += 1
        self.last_error = text
        self._error_preset = self.programme.current
        self._remember(text)

    def _forget_fixed_error(self) -> None:
        """The red line goes when its preset reloaded fine or another preset is on (the log keeps it)."""
        if self.last_error is not None and self.programme.current is not self._error_preset:
            self.last_error = None

    # ---- actions -----------------------------------------------------------------------------

    def _register_handlers(self) -> None:
        on = self.dispatcher.on
        on("next", lambda a: self.change_preset(self.programme.next))
        on("previous", lambda a: self.change_preset(self.programme.previous))
        on("select", self._on_select)
        on("intensity", lambda a: self._set_intensity(float(a.value or 0.0)))
        on("intensity_step", lambda a: self._set_intensity(self.intensity + float(a.value or 0.0)))
        on("feedback", self._on_feedback)
        on("freeze", lambda a: self._toggle_freeze())
        on("record", lambda a: self.record.toggle())
        on("screenshot", lambda a: self.screenshot())
        on("sleep", lambda a: self.sleep())
        on("wake", lambda a: self.wake())
        on("quit", lambda a: self.stop())
        on("learn", lambda a: self.controls.arm_learn())
        on("hud", lambda a: self.renderer and self.renderer.toggle_hud())
        on("fullscreen", lambda a: self.renderer and self.renderer.toggle_fullscreen())
        on("blackout", lambda a: self._toggle_blackout())

    _frozen_before_blackout = False

    def _toggle_freeze(self) -> None:
        """During a blackout the dream is paused anyway: a freeze then applies once the picture is back."""
        if self.renderer is not None and self.renderer.blackout and not self._asleep:
            self._frozen_before_blackout = not self._frozen_before_blackout
        else:
            self.worker.set_frozen(not self.worker.frozen)

    def _toggle_blackout(self) -> None:
        """Black screen and a paused dream (no CPU/GPU spent on a picture nobody sees); a freeze
        set before the blackout is still there after it. Asleep, sleep() owns the freeze."""
        if self.renderer is None:
            return
        on = not self.renderer.blackout
        self.renderer.set_blackout(on)
        if self._asleep:
            return
        if on:
            self._frozen_before_blackout = self.worker.frozen
            self.worker.set_frozen(True)
        else:
            self.worker.set_frozen(self._frozen_before_blackout)

    def _on_select(self, action: Action) -> None:
        value = action.value
        try:
            if isinstance(value, (int, float)):
                self.change_preset(lambda: self.programme.select(int(value)))
            else:
                self.change_preset(lambda: self.programme.select_name(str(value)))
        except DreamwallError as error:
            self.report_error(str(error))

    @property
    def intensity(self) -> float:
        if self.overrides.intensity is not None:
            return self.overrides.intensity
        return self.programme.current.intensity

    def _set_intensity(self, value: float) -> None:
        self.overrides = Overrides(min(1.0, max(0.0, value)), self.overrides.feedback)
        self.apply_look(announce=False)

    def _on_feedback(self, action: Action) -> None:
        value = min(1.0, max(0.0, float(action.value or 0.0)))
        self.overrides = Overrides(self.overrides.intensity, value)
        self.apply_look(announce=False)

    def stop(self) -> None:
        self._running = False

    def sleep(self) -> None:
        """Closed: black screen, camera released, engine idle."""
        if self._asleep:
            return
        self._asleep = True
        self.worker.set_frozen(True)
        capture, self.feed.capture = self.feed.capture, None
        if capture is not None:
            capture.close()
        if self.renderer is not None:
            self.renderer.set_blackout(True)
        log.info("asleep until opening time")

    def wake(self) -> None:
        if not self._asleep:
            return
        self._asleep = False
        self.feed.capture = Capture(self._source_factory(self.source_spec)).start()
        self.worker.set_frozen(False)
        if self.renderer is not None:
            self.renderer.set_blackout(False)
        log.info("awake")

    def screenshot(self) -> Path | None:
        folder = self.config.screenshots_dir
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / recording_name(prefix="screenshot", suffix=".png")
        if self.renderer is not None:
            self.renderer.screenshot(path)
            return path
        dream = self.worker.latest()
        if dream is None:
            return None
        from installation.outputs.images import write_image

        write_image(path, dream.image)
        self.notify(f"screenshot {path}")
        return path

    # ---- status ------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        preset = self.programme.current
        worker = self.worker.health()
        capture = self.capture.health() if self.capture is not None else None
        display_fps = self.renderer.display_fps if self.renderer is not None else self._headless_fps()
        return {
            "preset": preset.name,
            "network": preset.network,
            "objective": preset.objective_text,
            "backend": self.backends.name,
            "backend_reason": self.backends.reason,
            "device": str(self.device),
            "device_reason": self.device_reason,
            "precision": self.placement_now.precision if self.placement_now is not None else None,
            "intensity": round(self.intensity, 4),
            "audio_gain": round(self.audio_gain, 3) if self.audio is not None else None,
            "frozen": self.worker.frozen,
            "asleep": self._asleep,
            "fps": {
                "capture": round(capture.fps, 2) if capture else 0.0,
                "dream": round(worker.fps, 2),
                "display": round(display_fps, 2),
            },
            "frames": {
                "captured": capture.frames if capture else 0,
                "capture_dropped": capture.dropped if capture else 0,
                "dreamed": worker.frames,
                "shown": self._shown,
            },
            "latency_ms": round(worker.latency_ms, 1) if worker.latency_ms is not None else None,
            "source": {
                "description": capture.source if capture else self.source_spec,
                "state": capture.state if capture else "asleep",
                "reconnects": capture.reconnects if capture else 0,
                "last_error": capture.last_error if capture else None,
            },
            "worker": {"state": worker.state, "errors": worker.errors, "last_error": worker.last_error,
                       "mode": worker.mode, "step_ms": worker.step_ms, "notice": worker.notice},
            "motion": {"level": round(worker.motion_level, 3), "scale": round(worker.reactive_scale, 3)},
            "process_size": list(worker.process_size) if worker.process_size else None,
            "errors": self.errors + worker.errors,
            "last_error": self.last_error or worker.last_error,
            "notices": list(self.notices),
            "recording": self.record.hud_text(),
            "uptime_s": round(self._clock() - self.started, 1),
            "headless": self.headless,
            "osc": {"port": self.controls.osc_port, "ignored": self.controls.osc.router.ignored}
            if self.controls.osc is not None else None,
        }

    def hud_info(self) -> dict[str, Any]:
        self._forget_fixed_error()
        s = self.snapshot()
        mode = s["worker"]["mode"]
        source_health = s["source"]["state"] if mode == "camera" else f"{s['source']['state']} ({mode})"
        recording = self.record.hud_state()
        worker_notice = (s["worker"]["notice"],) if s["worker"]["notice"] else ()
        return {
            "preset": s["preset"],
            "preset_number": self.programme.number,
            "network": s["network"],
            "backend": s["backend"],
            "backend_reason": s["backend_reason"],
            "placement": f"{s['device']} {s['precision']}" if s["precision"] else s["device"],
            "capture_fps": s["fps"]["capture"],
            "dream_fps": s["fps"]["dream"],
            "process_size": tuple(s["process_size"]) if s["process_size"] else None,
            "source": s["source"]["description"],
            "source_health": source_health,
            "intensity": s["intensity"],
            "frozen": s["frozen"],
            "recording": recording[0] if recording else None,
            "recording_s": recording[1] if recording else 0.0,
            "recording_dropped": recording[2] if recording else 0,
            "notices": fresh_notices(self._notices_at, self._clock()) + worker_notice,
            "last_error": s["last_error"] or "",
            "badge": self._badge(mode, s["source"]["state"]),
        }

    def _badge(self, mode: str, source_state: str) -> str | None:
        """The state the screen owns up to even with the HUD off (see hud.Badge); None clears it."""
        if self._asleep:
            return "asleep until opening time"
        if mode == "source-lost" or source_state in ("reconnecting", "failed"):
            return "camera lost: reconnecting"
        if self.source_spec == DEMO and self.config.source is None:
            return NO_CAMERA_NOTICE
        return None

    # ---- main loops --------------------------------------------------------------------------

    _shown = 0
    _headless_started: float | None = None

    def _headless_fps(self) -> float:
        if self._headless_started is None or self._shown == 0:
            return 0.0
        return self._shown / max(self._clock() - self._headless_started, 1e-9)

    def _tick_common(self) -> int | None:
        """Work shared by both loops; an exit code when the app must end."""
        self.controls.poll()
        self.dispatcher.drain()
        self._forget_fixed_error()  # headless runs and the status file too, not only the HUD
        self._follow_audio()
        if self.programme.update():
            self._show_new_preset()
        self.reloader.poll()
        self.status.maybe_write(self.snapshot)
        self._tell_systemd()
        if self.worker.fatal:
            self.report_error("dream worker failed repeatedly; exiting so the service restarts")
            return EXIT_FATAL
        return None

    def _follow_audio(self) -> None:
        """At most 10 times a second, let the input level and onsets scale the step size."""
        if self.audio is None:
            return
        now = self._clock()
        if self._audio_checked is not None and now - self._audio_checked < 0.1:
            return
        self._audio_checked = now
        gain = self.audio.intensity()
        if abs(gain - self.audio_gain) >= 0.02:
            self.audio_gain = gain
            self.apply_look(announce=False)

    def _tell_systemd(self) -> None:
        """READY once a dream is out, WATCHDOG only while dreams advance, STATUS about once a second."""
        if not self.notifier.enabled:
            return
        dream = self.worker.latest()
        if dream is None:
            return
        if not self._ready_sent:
            self._ready_sent = self.notifier.ready(f"showing {self.programme.current.name}")
        self.notifier.heartbeat(dream.seq, idle=self._asleep or self.worker.frozen)
        now = self._clock()
        if self._status_sent is None or now - self._status_sent >= 1.0:
            self._status_sent = now
            snapshot = self.snapshot()
            self.notifier.status(status_line(snapshot["preset"], snapshot["fps"]["dream"], snapshot["fps"]["display"]))

    def _send_to_virtual_camera(self, frame: np.ndarray) -> None:
        if not self._virtual_camera_wanted:
            return
        if self.virtual_camera is None:
            self.virtual_camera = VirtualCamera.open((frame.shape[1], frame.shape[0]), 30.0,
                                                     device=self.config.virtual_camera_device)  # fmt: skip
            if self.virtual_camera is None:
                self.notify("virtual camera off (see the log); the show goes on")
                self._virtual_camera_wanted = False
                return
        self.virtual_camera.send(frame)

    def run(self) -> int:
        """Until quit, SIGTERM (systemd stop) or a fatal worker; everything is closed on the way out."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: self.stop())
        self.apply_look()
        try:
            return self._run_headless() if self.headless else self._run_display()
        finally:
            self.status.maybe_write(self.snapshot, force=True)  # the last word, also after a fatal error
            self.close()

    def _run_display(self) -> int:
        from installation.display.renderer import Renderer

        def latest() -> tuple[int, np.ndarray] | None:
            dream = self.worker.latest()
            return (dream.seq, dream.image) if dream is not None else None

        self.renderer = Renderer(latest, self.controls, hud_info=self.hud_info, keys=self.controls.keyboard,  # type: ignore[arg-type]
                                 size=self.config.size,
                                 windowed=self.config.windowed, display=self.config.display,
                                 scale_mode=self.config.scale_mode, hud_visible=self.config.hud)  # fmt: skip
        sent_seq = 0
        while self._running:
            self._follow_screen()
            self.renderer.tick()
            self._shown = self.renderer.shown_seq or 0
            dream = self.worker.latest()
            if dream is not None and dream.seq != sent_seq:
                sent_seq = dream.seq
                self._send_to_virtual_camera(dream.image)
            if self.renderer.shown_seq is not None:
                self.record.capture(self.renderer.grab)  # at most 25 grabs/s; converted on the recorder thread
            code = self._tick_common()
            if code is not None:
                return code
        return 0

    _screen_output: tuple[int, int] | None = None

    def _follow_screen(self) -> None:
        """Compose at the size the screen shows the dream at (it changes with fullscreen and the process size)."""
        process = self.worker.health().process_size
        if process is None or self.renderer is None:
            return
        size = cover_size(process, self.renderer.screen_size, letterbox=self.renderer.scale_mode == "letterbox")
        if size != self._screen_output:
            self._screen_output = size
            self.worker.set_output_size(size)

    def _run_headless(self) -> int:
        config = self.config
        self.worker.set_output_size(config.size)  # None: the camera's own resolution
        seconds = config.seconds if config.seconds is not None else (
            None if config.frames is not None else HEADLESS_DEFAULT_SECONDS)
        path = config.out or config.recordings_dir / recording_name()
        if config.out is None:  # only the default out/ folder is created; --out was checked by live.check_arguments
            path.parent.mkdir(parents=True, exist_ok=True)
        recorder: Recorder | None = None
        last_seq = 0
        self._headless_started = self._clock()
        while self._running:
            code = self._tick_common()
            if code is not None:
                return code
            dream = self.worker.wait_newer(last_seq, timeout=0.25)
            if dream is not None:
                last_seq = dream.seq
                frame = dream.image
                if config.size is not None and (frame.shape[1], frame.shape[0]) != config.size:
                    frame = cv2.resize(frame, config.size, interpolation=cv2.INTER_CUBIC)
                if recorder is None:
                    recorder = Recorder(path, fps=12.0 if seconds is None else 25.0,
                                        size=(frame.shape[1], frame.shape[0]), realtime=seconds is not None,
                                        on_error=self.report_error)  # fmt: skip
                recorder.write(frame, block=seconds is None)
                self._send_to_virtual_camera(frame)
                self._shown += 1
                self._progress(seconds)
            elapsed = self._clock() - self._headless_started
            if (config.frames is not None and self._shown >= config.frames) or (
                seconds is not None and elapsed >= seconds
            ):
                break
        if self._stderr_is_terminal:
            self._stderr.write("\n")
        written = recorder.close() if recorder is not None else None
        fps = self._headless_fps()
        if written is None:
            self._stderr.write("error: no video written (no frame was dreamt)\n")
            return EXIT_FATAL
        print(f"wrote {written} ({self._shown} dreamed frames, {fps:.1f} dream fps)", file=self._stdout, flush=True)
        return 0

    _progress_written: float | None = None

    @property
    def _stderr_is_terminal(self) -> bool:
        return bool(getattr(self._stderr, "isatty", lambda: False)())

    def _progress(self, seconds: float | None) -> None:
        """A live counter on a terminal; in a log (no terminal) one line every 5 s at most."""
        terminal = self._stderr_is_terminal
        now = self._clock()
        if not terminal and self._progress_written is not None and now - self._progress_written < 5.0:
            return
        self._progress_written = now
        total = f"/{self.config.frames}" if self.config.frames is not None else ""
        text = f"headless: {self._shown}{total} frames, {self._headless_fps():.1f} fps"
        self._stderr.write(f"\r{text} " if terminal else f"{text}\n")
        self._stderr.flush()

    def close(self) -> None:
        """Stop everything; safe to call more than once."""
        self.record.stop()
        self.controls.close()
        if self.audio is not None:
            self.audio.close()
        if self.virtual_camera is not None:
            self.virtual_camera.close()
        self.notifier.stopping()
        self.worker.close()
        if self.capture is not None:
            self.capture.close()
        if self.renderer is not None:
            self.renderer.close()
