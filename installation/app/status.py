"""The show's state as one typed value, built once per tick from the app's parts.

The status file (its JSON form), the HUD (`hud_info`) and systemd (`systemd_line`)
all read this one value, so they cannot drift apart in what they say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from installation.display.hud import HudInfo
from installation.dreaming.worker import WorkerHealth
from installation.ops.sd_notify import status_line
from installation.outputs.ndi_out import NdiOutStats
from installation.sources.cameras.source import CameraReport, camera_report
from installation.sources.capture import CaptureHealth
from installation.sources.openers import DEMO
from installation.tempo.clock import BeatState

if TYPE_CHECKING:
    from installation.app.app import App

NO_CAMERA_NOTICE = "no camera found: showing the built-in demo"
ASLEEP_BADGE = "asleep until opening time"
CAMERA_LOST_BADGE = "camera lost: reconnecting"


@dataclass(frozen=True)
class OscStatus:
    port: int | None
    ignored: int  # malformed messages dropped


@dataclass(frozen=True)
class ShowStatus:
    """What is on, where it runs, how fast, and what went wrong; capture is None while asleep."""

    preset: str
    preset_number: int
    network: str
    objective: str
    backend: str
    backend_reason: str
    device: str
    device_reason: str
    precision: str | None
    intensity: float
    audio_gain: float | None  # None: audio-reactive is off
    frozen: bool
    asleep: bool
    headless: bool
    worker: WorkerHealth
    capture: CaptureHealth | None
    source_spec: str  # what was asked for: the description while asleep
    display_fps: float
    shown: int
    errors: int  # the app's and the worker's
    last_error: str | None
    notices: tuple[str, ...]  # the last five, for the status file
    recording: str | None  # "REC name 01:15"
    recording_hud: tuple[str, float, int] | None  # (file name, seconds, dropped)
    uptime_s: float
    osc: OscStatus | None
    demo_by_default: bool  # no camera answered, so the demo runs
    blackout: bool = False  # the screen is black (B, or asleep): the pad lights and the panel show it
    web_qr: tuple[str, ...] = ()  # the web panel's address + token as QR rows, for the HUD
    precision_reason: str = ""  # why this precision, e.g. "auto bf16: 20.8 vs 39.6 ms/step (avx512_bf16)"
    tempo: BeatState | None = None  # the show's one clock this tick; None: no tempo source, seconds
    ndi: NdiOutStats | None = None  # live --ndi: what is sent, dropped and who receives
    camera: CameraReport | None = None  # a V4L2 camera: which, its mode, its controls as applied

    @property
    def source_state(self) -> str:
        return self.capture.state if self.capture is not None else "asleep"

    @property
    def badge(self) -> str | None:
        """The state the screen owns up to even with the HUD off (see hud.Badge); None clears it."""
        if self.asleep:
            return ASLEEP_BADGE
        if self.worker.mode == "source-lost" or self.source_state in ("reconnecting", "failed"):
            return CAMERA_LOST_BADGE
        return NO_CAMERA_NOTICE if self.demo_by_default else None

    def as_json(self) -> dict[str, Any]:
        """The status file's keys (kiosk monitoring and the README rely on them)."""
        worker, capture = self.worker, self.capture
        return {
            "preset": self.preset, "network": self.network, "objective": self.objective,
            "backend": self.backend, "backend_reason": self.backend_reason,
            "device": self.device, "device_reason": self.device_reason, "precision": self.precision,
            "precision_reason": self.precision_reason,
            "intensity": round(self.intensity, 4),
            "audio_gain": round(self.audio_gain, 3) if self.audio_gain is not None else None,
            "frozen": self.frozen, "asleep": self.asleep,
            "fps": {"capture": round(capture.fps, 2) if capture else 0.0, "dream": round(worker.fps, 2),
                    "display": round(self.display_fps, 2)},
            "frames": {"captured": capture.frames if capture else 0,
                       "capture_dropped": capture.dropped if capture else 0,
                       "dreamed": worker.frames, "shown": self.shown},
            "latency_ms": round(worker.latency_ms, 1) if worker.latency_ms is not None else None,
            "source": {"description": capture.source if capture else self.source_spec, "state": self.source_state,
                       "reconnects": capture.reconnects if capture else 0,
                       "last_error": capture.last_error if capture else None},
            "worker": {"state": worker.state, "errors": worker.errors, "last_error": worker.last_error,
                       "mode": worker.mode, "step_ms": worker.step_ms, "notice": worker.notice,
                       "threads": worker.threads, "dreamer": worker.dreamer,
                       "student": worker.student_runs or None},
            "motion": {"level": round(worker.motion_level, 3), "scale": round(worker.reactive_scale, 3)},
            "process_size": list(worker.process_size) if worker.process_size else None,
            "errors": self.errors, "last_error": self.last_error, "notices": list(self.notices),
            "recording": self.recording, "uptime_s": round(self.uptime_s, 1), "headless": self.headless,
            "osc": {"port": self.osc.port, "ignored": self.osc.ignored} if self.osc is not None else None,
            "blackout": self.blackout,
            "ndi": self.ndi.as_json() if self.ndi is not None else None,
            "camera": self.camera.as_json() if self.camera is not None else None,
            "tempo": self.tempo.as_json() if self.tempo is not None else None,
        }  # fmt: skip

    def hud_info(self, fresh_notices: tuple[str, ...]) -> HudInfo:
        """The HUD's view; `fresh_notices` are the ones posted in the last seconds."""
        mode, state = self.worker.mode, self.source_state
        recording = self.recording_hud
        worker_notice = tuple(n for n in (self.worker.notice, self.worker.dreamer_notice) if n)
        return HudInfo(
            preset=self.preset, preset_number=self.preset_number, network=self.network,
            backend=self.backend, backend_reason=self.backend_reason,
            placement=f"{self.device} {self.precision}" if self.precision else self.device,
            capture_fps=round(self.capture.fps, 2) if self.capture else 0.0, dream_fps=round(self.worker.fps, 2),
            process_size=self.worker.process_size,
            source=self.capture.source if self.capture else self.source_spec,
            source_health=state if mode == "camera" else f"{state} ({mode})",
            intensity=round(self.intensity, 4), frozen=self.frozen,
            recording=recording[0] if recording else None, recording_s=recording[1] if recording else 0.0,
            recording_dropped=recording[2] if recording else 0,
            notices=fresh_notices + worker_notice, last_error=self.last_error or "", badge=self.badge, qr=self.web_qr,
            dreamer=self.worker.dreamer, student_runs=self.worker.student_runs,
            tempo=self.tempo.describe() if self.tempo is not None else "",
        )  # fmt: skip

    def systemd_line(self) -> str:
        return status_line(self.preset, round(self.worker.fps, 2), round(self.display_fps, 2))


def build_status(app: App) -> ShowStatus:
    """Read every part once; only reads, so the soak sampler may call it from its own thread."""
    preset, director, messages = app.programme.current, app.director, app.messages
    worker = app.worker.health()
    capture = app.capture.health() if app.capture is not None else None
    osc = app.controls.osc
    return ShowStatus(
        preset=preset.name, preset_number=app.programme.number, network=preset.network,
        objective=preset.objective_text, backend=app.backends.name, backend_reason=app.backends.reason,
        device=str(app.device), device_reason=app.device_reason,
        precision=director.placement_now.precision if director.placement_now is not None else None,
        intensity=director.intensity, audio_gain=director.audio_gain if app.audio is not None else None,
        frozen=app.worker.frozen, asleep=app.asleep, headless=app.headless, worker=worker, capture=capture,
        source_spec=app.source_spec, display_fps=app.loop.display_fps(), shown=app.loop.shown,
        errors=messages.errors + worker.errors, last_error=messages.last_error or worker.last_error,
        notices=tuple(messages.notices), recording=app.outputs.record.hud_text(),
        recording_hud=app.outputs.record.hud_state(), uptime_s=app.clock() - app.started,
        osc=OscStatus(app.controls.osc_port, osc.router.ignored) if osc is not None else None,
        demo_by_default=app.source_spec == DEMO and app.config.source is None,
        blackout=bool(app.renderer is not None and app.renderer.blackout),
        web_qr=getattr(getattr(app, "web", None), "qr", ()),
        precision_reason=director.placement_now.precision_reason if director.placement_now is not None else "",
        tempo=app.tempo.latest,
        ndi=app.outputs.ndi.stats() if app.outputs.ndi is not None else None,
        camera=camera_report(app.capture.source) if app.capture is not None else None,
    )  # fmt: skip
