"""The installation: wires source -> capture -> dream worker -> renderer (or headless video).

App is wiring and lifecycle only. What each Action does is in handlers.py, the loops
in loops.py, what the worker dreams in director.py, the outputs in outputs.py and the
one status value in status.py; disk work runs on the housekeeping thread
(installation.ops.housekeeping), never in the 60 Hz loop.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

import torch

from installation.app.config import LiveConfig, display_available
from installation.app.director import LookDirector
from installation.app.handlers import Handlers
from installation.app.loops import ShowLoop
from installation.app.messages import Messages
from installation.app.outputs import Outputs
from installation.app.pauses import Pauses
from installation.app.status import NO_CAMERA_NOTICE, ShowStatus, build_status
from installation.controls.actions import Dispatcher
from installation.controls.audio import AudioReactive
from installation.controls.inputs import Controls
from installation.display.hud import HudInfo
from installation.dreaming.backend_choice import BackendChooser, check_backend_here
from installation.dreaming.export_cache import DiskStore
from installation.dreaming.placement import resolve_device
from installation.dreaming.thread_tuner import ThreadTuner, thread_candidates
from installation.dreaming.worker import DreamWorker
from installation.ops.housekeeping import Housekeeping, Latest
from installation.ops.sd_notify import Notifier
from installation.ops.status import StatusFile
from installation.presets.hot_reload import HotReloader, watch_presets
from installation.presets.loader import Preset, PresetLibrary, check_process_size, environment_presets_dir
from installation.presets.playlist import Beats, Playlist, PlaylistPlayer, load_named_playlist
from installation.presets.snapshot import live_preset, preset_values, settings_record
from installation.sources.capture import Capture
from installation.sources.feed import SwitchableFeed
from installation.sources.openers import DEMO, FrameSource, camera_available, open_source
from installation.sources.orientation import orientation_for
from installation.tempo.show_clock import open_show_clock

log = logging.getLogger(__name__)

__all__ = ["NO_CAMERA_NOTICE", "App", "choose_source"]  # NO_CAMERA_NOTICE: the HUD tests name it here

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C and systemd's stop: the same orderly end


def choose_source(spec: str | None) -> tuple[str, str | None]:
    """(source spec, notice) — camera 0 when present, else the demo with a visible notice."""
    if spec is not None:
        return spec, None
    if camera_available(0):
        return "0", None
    return DEMO, NO_CAMERA_NOTICE


def load_programme(
    config: LiveConfig, library: PresetLibrary, clock: Callable[[], float], beats: Beats | None = None
) -> tuple[PlaylistPlayer, list[Preset]]:
    """The playlist (or the one --preset) and its presets, each checked before the show starts."""
    playlist = (Playlist.of([config.preset], name=config.preset) if config.preset
                else load_named_playlist(config.playlist or "default", library))  # fmt: skip
    presets = library.load_all(playlist.names())
    if config.process_size is not None:  # the override applies to every preset: each network must dream it
        for network in sorted({p.network for p in presets.values()}):
            check_process_size(config.process_size, network, "--process-size:")
    return PlaylistPlayer(playlist, presets, clock=clock, beats=beats), list(presets.values())


class App:
    """Builds the parts in dependency order (every start error, exit 2, before any thread) and closes them."""

    def __init__(
        self,
        config: LiveConfig,
        *,
        source_factory: Callable[[str], FrameSource] | None = None,
        clock: Callable[[], float] = time.monotonic,
        stderr: Any = None,
        stdout: Any = None,  # the headless lines (preset names, the written file): a soak hands a sink
    ) -> None:
        self.config = config
        self.clock = clock
        self.stderr = stderr if stderr is not None else sys.stderr
        self.stdout = stdout if stdout is not None else sys.stdout
        self.started = clock()
        self.headless = config.headless if config.headless is not None else not display_available()
        self.device, self.device_reason = resolve_device(config.device)  # no such GPU: exit 2 before any work
        log.info("dreaming on %s (%s)", self.device, self.device_reason)
        if config.backend is not None:
            check_backend_here(config.backend, self.device)  # an explicit ask that cannot run: exit 2
        self.library = PresetLibrary(config.presets_dir or environment_presets_dir())
        self.tempo, midi_clock = open_show_clock(config.link, config.tempo, config.beats_per_bar, clock)
        self.programme, presets = load_programme(config, self.library, clock, self.tempo.state)
        self.messages = Messages(clock, lambda: self.programme.current)
        self.notify, self.report_error = self.messages.notify, self.messages.report_error
        self.backends = BackendChooser(config.backend, store=DiskStore(), notify=self.notify)
        self.director = LookDirector(self.programme, self.backends, (self.device, self.device_reason),
                                     config.process_size, self.messages)  # fmt: skip
        self.director.mask = config.mask
        self.director.dreamer = config.dreamer
        self.director.panorama = config.panorama
        self.director.fit = config.fit
        self.director.prepare(presets)
        self.director.announce = self._announce
        self.director.tempo = self.tempo
        self.dispatcher = Dispatcher()
        self.controls = Controls(config.controls, self.dispatcher, self.notify,  # bad files fail here, exit 2
                                 on_midi_clock=midi_clock.feed)  # fmt: skip
        self.latest_status: Latest[ShowStatus] = Latest()
        self.status_file = StatusFile(config.status_file, clock=clock)
        self.reloader = self._watch_files()
        spec, notice = choose_source(config.source)
        if notice:
            self.notify(notice)
        self._source_factory = source_factory or partial(open_source, camera=config.camera, notify=self.notify)
        self.source_spec = spec
        self.orientation = orientation_for(spec, config.mirror, config.rotate)  # turned once, in the capture
        log.info("source %s: %s", spec, self.orientation.describe())
        settings = self.director.settings()  # fails on a bad objective before any thread starts
        self.feed = SwitchableFeed(self._open_capture())
        self._torch_threads = torch.get_num_threads()  # given back on close: the tuner changes it
        tuner = ThreadTuner(thread_candidates(self._torch_threads))
        self.worker = DreamWorker(self.feed, settings, gradient_factory=self.backends, seed=config.seed,
                                  thread_tuner=tuner).start()  # fmt: skip
        self.director.worker = self.worker
        self.pauses = Pauses(self.worker)
        self.running = True
        self.asleep = False
        self.outputs = Outputs(config, self.notify)
        self.renderer: Any = None  # the display loop opens it
        self.notifier = Notifier()
        self.loop = ShowLoop(self)
        Handlers(self).register(self.dispatcher)
        self.controls.start()
        self.audio = self._open_audio()
        self.web = self._open_web()

    def _watch_files(self) -> HotReloader:
        """Presets, bindings and schedule, checked on the housekeeping thread and applied on this one."""
        self.housekeeping = Housekeeping([self._poll_files, self._write_status])
        reloader = HotReloader(on_error=lambda message: self.report_error(f"{message} (kept last good)"),
                               clock=self.clock, hand_over=self.housekeeping.hand_over)  # fmt: skip
        watch_presets(reloader, self.library, self.programme.playlist.names(), self.director.on_reloaded,
                      process_size=self.config.process_size)  # fmt: skip
        self.controls.watch(reloader)
        return reloader

    def _poll_files(self) -> None:
        self.reloader.poll()

    def _write_status(self) -> None:
        status = self.latest_status.get()
        if status is not None:
            self.status_file.maybe_write(status.as_json)

    def _open_capture(self) -> Capture:
        return Capture(self._source_factory(self.source_spec), orientation=self.orientation).start()

    def _open_audio(self) -> AudioReactive | None:
        if not self.config.audio:
            return None
        audio = AudioReactive.open(self.config.audio_device)
        if audio is None:
            self.notify("audio-reactive off: no audio input (see the log)")
        return audio

    def _open_web(self) -> Any:
        """The remote control panel (one more control: it only posts Actions and reads the status)."""
        if self.config.web_port is None:
            return None
        from installation.web.service import open_panel, panel_source_for

        return open_panel(panel_source_for(self), self.config.web_host, self.config.web_port, out=self.stderr)

    def _announce(self, preset: Preset) -> None:
        if self.headless:
            print(f"preset: {preset.name}", file=self.stdout, flush=True)
        if self.renderer is not None:
            self.renderer.begin_crossfade(self.programme.transition_seconds)  # '1 beat' at this moment's tempo

    @property
    def capture(self) -> Capture | None:
        """The running capture; None while asleep."""
        return self.feed.capture

    @property
    def notices(self) -> list[str]:
        return self.messages.notices

    @property
    def last_error(self) -> str | None:
        return self.messages.last_error

    # ---- status ------------------------------------------------------------------------------

    def show_status(self) -> ShowStatus:
        return build_status(self)

    def snapshot(self) -> dict[str, Any]:
        """The status file's JSON, now (the soak sampler reads it too)."""
        return self.show_status().as_json()

    def hud_info(self) -> HudInfo:
        self.messages.forget_fixed_error()
        return self.show_status().hud_info(self.messages.fresh())

    # ---- lifecycle ---------------------------------------------------------------------------

    def stop(self) -> None:
        self.running = False

    def sleep(self) -> None:
        """Closed: black screen, camera released, engine idle."""
        if self.asleep:
            return
        self.asleep = True
        self.pauses.set("asleep", True)
        capture = self.feed.detach()
        if capture is not None:
            capture.close()
        if self.renderer is not None:
            self.renderer.set_blackout(True)
        log.info("asleep until opening time")

    def wake(self) -> None:
        if not self.asleep:
            return
        self.feed.attach(self._open_capture())
        self.asleep = False  # only now: awake always has a capture (a status read mid-wake saw none)
        self.pauses.set("asleep", False)
        if self.renderer is not None:
            self.renderer.set_blackout(self.pauses.holds("blackout"))  # a blackout from before the night stays
        log.info("awake")

    def screenshot(self) -> Path | None:
        def newest() -> Any:
            dream = self.worker.latest()
            return dream.image if dream is not None else None

        return self.outputs.screenshot(self.renderer, newest, self.settings_record())

    def settings_record(self) -> dict[str, Any]:
        """What a screenshot carries: the current preset with the knobs' overrides (presets --from-image)."""
        director = self.director
        preset = live_preset(director.programme.current, director.overrides.intensity, director.overrides.feedback)
        return settings_record(preset.name, preset_values(preset), source="live")

    def run(self) -> int:
        """Until quit, Ctrl-C, SIGTERM (systemd stop) or a fatal worker; everything is closed on the way out."""
        with self._stopped_by_signals():
            self.director.apply()
            self.housekeeping.start()
            try:
                return self.loop.run_headless() if self.headless else self.loop.run_display()
            finally:
                self.housekeeping.close()  # before the last word: no older status may overwrite it
                self.status_file.maybe_write(self.snapshot, force=True)  # also after a fatal error
                self.close()

    @contextlib.contextmanager
    def _stopped_by_signals(self) -> Iterator[None]:
        """Ctrl-C ends the show as SIGTERM does: the loop finishes and the recording gets its name. Signals
        reach only the main thread; the handlers there before are put back (a test runner's Ctrl-C)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_stop_signal)
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        """The first one stops the loop; a second Ctrl-C while stopping quits at once (a crash: what was
        recorded is kept as a partial file, and the log says where)."""
        if signum == signal.SIGINT and not self.running:
            raise KeyboardInterrupt
        log.info("%s: stopping the show (Ctrl-C again to quit at once)", signal.Signals(signum).name)
        self.stop()

    def close(self) -> None:
        """Stop everything; safe to call more than once."""
        self.housekeeping.close()
        if self.web is not None:
            self.web.close()
        self.outputs.close()
        self.controls.close()
        if self.audio is not None:
            self.audio.close()
        self.notifier.stopping()
        self.tempo.close()  # leaves the Link session
        self.worker.close()
        torch.set_num_threads(self._torch_threads)
        if self.capture is not None:
            self.capture.close()
        if self.renderer is not None:
            self.renderer.close()
