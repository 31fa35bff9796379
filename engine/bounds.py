"""Every numeric setting's range, in one table.

The engine's parameter classes, the preset schema (`presets --schema` prints these
ranges) and the command-line options all check against this table, so a setting
cannot be 0-100 in one place and 1-50 in another. A per-frame live count and a
per-octave render count are different settings and have different names here.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from engine.errors import check_range


@dataclass(frozen=True)
class Bound:
    """The closed range [low, high] of one setting; `label` names it in error texts."""

    low: float
    high: float
    label: str
    doc: str

    def check(self, value: float) -> float:
        """`value` when inside the range, else a DreamwallError like 'lr must be between 0 and 1, got 5'."""
        return check_range(self.label, value, self.low, self.high)


def _table(**bounds: tuple[float, float, str, str]) -> MappingProxyType[str, Bound]:
    return MappingProxyType({name: Bound(*entry) for name, entry in bounds.items()})


BOUNDS = _table(
    # the dream step (engine.step)
    lr=(0.0, 1.0, "lr", "step size in pixel units per step, after the gradient is normalised"),
    lr_max=(0.0, 1.0, "lr max", "lr at intensity 1"),
    intensity=(0.0, 1.0, "intensity", "lr as a share of lr_max"),
    jitter=(0, 512, "jitter", "largest random roll in pixels"),
    jitter_walk=(0, 10_000, "jitter walk", "steps between two random roll offsets"),
    smooth=(0.0, 20.0, "smooth", "Gaussian sigma of gradient smoothing in pixels"),
    tv=(0.0, 10.0, "tv", "total-variation penalty weight"),
    steps=(1, 50, "steps", "live dream steps per camera frame"),
    panorama_pad=(0, 4096, "panorama pad", "circular padding in pixels each side of a 360-degree panorama"),
    # stills and offline renders (engine.step.OctaveParams)
    octaves=(1, 12, "octaves", "number of scales"),
    octave_scale=(1.0, 4.0, "octave scale", "size ratio between octaves"),
    render_steps=(1, 1000, "steps", "steps per octave"),
    # the channel atlas (engine.featurevis)
    atlas_size=(32, 512, "atlas size", "side of one atlas picture in pixels"),
    scale_jitter=(0.0, 0.5, "scale jitter", "largest random rescale per step, as a share"),
    decay=(0.0, 0.5, "decay", "share of the distance to grey removed per step (L2 decay)"),
    blur_every=(0, 1000, "blur every", "steps between two blurs of the image; 0 = never"),
    # feedback between frames (engine.temporal)
    feedback=(0.0, 1.0, "feedback", "share of the previous dream detail carried into the next frame"),
    occlusion=(0.0, 1.0, "occlusion threshold", "mean RGB difference above which a pixel restarts"),
    max_detail=(0.0, 1.0, "max detail", "cap on the RMS of the carried detail"),
    # who dreams (engine.masks)
    mask_strength=(0.0, 1.0, "mask strength", "0 = the mask changes nothing, 1 = masked-out pixels show the camera"),
    mask_feather=(0.0, 50.0, "mask feather", "Gaussian sigma of the mask's edge in processing pixels"),
    # colour grading (engine.post)
    saturation=(0.0, 3.0, "saturation", "colour saturation factor; 1 = unchanged"),
    contrast=(0.0, 3.0, "contrast", "contrast factor around mid-grey; 1 = unchanged"),
    brightness=(-0.5, 0.5, "brightness", "added to every channel; 0 = unchanged"),
    gamma=(0.2, 5.0, "gamma", "gamma after contrast; 1 = unchanged"),
    mix=(0.0, 1.0, "mix", "share of the dream against the raw camera frame"),
    # visitors' motion (engine.reactive)
    motion_sensitivity=(0.0, 1.0, "motion sensitivity", "1 = the slightest movement counts"),
    motion_smoothing=(0.0, 10.0, "motion smoothing", "seconds of smoothing of the motion level"),
    motion_floor=(0.0, 1.0, "motion floor", "smallest multiplier of lr and feedback"),
    # attract mode and the camera-lost loop (engine.attract)
    attract_after=(5.0, 3600.0, "attract after", "seconds without motion before attract mode"),
    attract_zoom=(0.8, 1.25, "attract zoom", "zoom factor per second"),
    attract_rotate=(-30.0, 30.0, "attract rotate", "degrees per second"),
    attract_fade=(0.0, 10.0, "attract fade", "seconds to blend back to the camera"),
    attract_threshold=(0.0, 1.0, "attract threshold", "motion level that counts as someone moving"),
    frame_zoom=(0.5, 2.0, "attract zoom", "zoom of one frame of the infinite zoom"),
    frame_rotate=(-45.0, 45.0, "attract rotate_deg", "degrees of one frame of the infinite zoom"),
    source_lost_after=(0.0, 3600.0, "source lost after", "seconds without camera frames; 0 = never"),
    source_lost_fps=(0.5, 60.0, "source lost fps", "frame rate of the camera-lost loop"),
    # a preset in a playlist
    duration=(1.0, 86400.0, "duration", "seconds on screen in a playlist"),
    transition=(0.0, 60.0, "transition", "crossfade seconds into a preset"),
    # musical time (engine.beats, installation.tempo): spans in beats, a bar counted as 4 beats
    duration_beats=(1.0, 100_000.0, "duration", "beats on screen in a playlist"),
    transition_beats=(0.0, 256.0, "transition", "crossfade beats into a preset"),
    pulse_every_beats=(0.25, 64.0, "pulse every", "beats between two swells of a pulse"),
    pulse_depth=(0.0, 1.0, "pulse depth", "share the pulsed setting dips between swells"),
    tempo=(20.0, 999.0, "tempo", "beats per minute"),
    beats_per_bar=(1, 16, "beats per bar", "beats in one bar (Link's quantum)"),
    # randomness, pictures and commands
    seed=(0, 2**31 - 1, "seed", "seed of the jitter generator"),
    width=(16, 7680, "width", "picture width in pixels (8K UHD at most)"),
    height=(16, 4320, "height", "picture height in pixels (8K UHD at most)"),
    fps=(1.0, 240.0, "fps", "frame rate of an image folder"),
    display=(0, 16, "display", "monitor index"),
    run_frames=(1, 10_000_000, "frames", "headless: dreamed frames before stopping"),
    run_seconds=(1, 10_000_000, "seconds", "headless: seconds before stopping"),
    osc_port=(0, 65535, "OSC port", "UDP port"),
    web_port=(0, 65535, "web port", "TCP port of the remote control panel (0: any free port)"),
    # controller lights (installation.controls.lights)
    midi_number=(0, 127, "MIDI note/CC number", "the note or controller number of a pad's light"),
    midi_value=(0, 127, "MIDI velocity/value", "a light's velocity or CC value (its colour on most pads)"),
    midi_channel=(1, 16, "MIDI channel", "the channel a light is sent on"),
)
"""setting name -> its range; names are the preset keys where a preset has the setting."""


def check_bound(name: str, value: float) -> float:
    """Check `value` against the table's range for `name` (a KeyError names a setting missing here)."""
    return BOUNDS[name].check(value)
