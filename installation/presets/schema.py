"""The preset schema: every key one field whose metadata carries its rule (type, range, doc).

Adding a key is one line here plus its default in presets/default.yaml. Numeric ranges
come from engine.bounds, the table the engine's parameter classes and the CLI use too,
so a value that passes here is one the engine accepts. Files, merging and the library
are installation.presets.loader.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from engine.attract import AttractParams
from engine.beats import QUANTIZE_MODES, SHAPES, Span, parse_span
from engine.bounds import BOUNDS, check_bound
from engine.compose import COMPOSE_MODES
from engine.errors import DreamwallError, check_range, did_you_mean
from engine.framing import FIT_MODES
from engine.masks import MASK_MODES, STILL_FADE_S, MaskParams
from engine.networks import NETWORKS, DreamNet
from engine.objectives import GuideLoader, Objective
from engine.post import PostParams
from engine.reactive import MotionParams
from engine.step import OctaveParams, StepParams
from engine.temporal import FeedbackParams
from installation.common.yamlfile import show
from installation.presets.objectives import build_objective

BACKENDS = ("auto", "torch", "compile", "onnx", "tensorrt")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
MOTION_MODES = ("off", "grow-when-still", "grow-when-moving")
MOTION_MEASURES = ("difference", "flow")
PULSE_TARGETS = ("off", "intensity", "feedback", "mix")
DREAMERS = ("gradient", "student")

ObjectiveSpec = str | Mapping[str, Any] | tuple[Any, ...]
"""Preset syntax of an objective (see engine.objectives.parse_objective), made read-only."""


# ---------------------------------------------------------------------------- rules


Check = Callable[[object, str], object]
"""(value, where) -> the value converted; raises DreamwallError starting with `where`."""


@dataclass(frozen=True)
class Rule:
    """How one key is checked, and what to tell a person editing the file."""

    expected: str  # e.g. "number 0-3": shown by `presets --schema`
    check: Check
    doc: str


def _rule(expected: str, check: Check, doc: str) -> Any:
    return field(metadata={"rule": Rule(expected, check, doc)})


def number(name: str, doc: str) -> Any:
    """Any number in the range engine.bounds gives setting `name`."""
    low, high = BOUNDS[name].low, BOUNDS[name].high

    def check(value: object, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DreamwallError(f"{where} must be a number between {low:g} and {high:g}, got {show(value)}")
        return float(check_range(where, float(value), low, high))

    return _rule(f"number {low:g} to {high:g}", check, doc)


def whole(name: str, doc: str) -> Any:
    """A whole number in the range engine.bounds gives setting `name`."""
    low, high = int(BOUNDS[name].low), int(BOUNDS[name].high)

    def check(value: object, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise DreamwallError(f"{where} must be a whole number between {low} and {high}, got {show(value)}")
        return int(check_range(where, value, low, high))

    return _rule(f"whole number {low} to {high}", check, doc)


def flag(doc: str) -> Any:
    def check(value: object, where: str) -> bool:
        if not isinstance(value, bool):
            raise DreamwallError(f"{where} must be true or false, got {show(value)}")
        return value

    return _rule("true/false", check, doc)


def text(doc: str, max_length: int = 200) -> Any:
    def check(value: object, where: str) -> str:
        if not isinstance(value, str):
            raise DreamwallError(f"{where} must be text, got {show(value)}")
        if len(value) > max_length:
            raise DreamwallError(f"{where} must be at most {max_length} characters, got {len(value)}")
        return value

    return _rule("text", check, doc)


def one_of(choices: Sequence[str], doc: str) -> Any:
    def check(value: object, where: str) -> str:
        if isinstance(value, bool) and ("on" if value else "off") in choices:
            value = "on" if value else "off"  # YAML 1.1 reads a bare off/on as false/true
        if not isinstance(value, str) or value not in choices:
            hint = did_you_mean(value, choices) if isinstance(value, str) else ""
            raise DreamwallError(f"{where} must be one of {', '.join(choices)}, got {show(value)}{hint}")
        return value

    return _rule(" | ".join(choices), check, doc)


def _check_size(value: object, where: str) -> tuple[int, int] | None:
    from installation.common.cli import parse_size  # cli imports argparse only; kept local to stay light

    if value == "auto":
        return None
    if isinstance(value, str):
        try:
            return parse_size(value)
        except DreamwallError as error:
            raise DreamwallError(f"{where} must be 'auto' or a size like 640x360: {error}") from None
    raise DreamwallError(f"{where} must be 'auto' or a size like 640x360, got {show(value)}")


def _freeze(value: object) -> object:
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _check_objective_shape(value: object, where: str) -> ObjectiveSpec:
    """Structure only; layer names need the network and are checked by the loader."""
    if isinstance(value, bool) or not isinstance(value, (str, Mapping, list)):
        raise DreamwallError(
            f"{where} must be a layer name like 'fire7', a mapping like {{fire6: 0.5}} or a list, got {show(value)}"
        )
    return _freeze(value)  # type: ignore[return-value]


def span(name: str, doc: str) -> Any:
    """Seconds (a number) or a musical span ('16 bars', '1 beat'), each in its range from engine.bounds."""
    seconds, beats = BOUNDS[name], BOUNDS[f"{name}_beats"]

    def check(value: object, where: str) -> Span:
        return parse_span(value, where, name)

    return _rule(f"seconds {seconds.low:g}-{seconds.high:g} | 'N beats' | 'N bars' ({beats.low:g}-{beats.high:g} "
                 "beats)", check, doc)


def beat_span(name: str, doc: str) -> Any:
    """A musical span only ('1 beat', '2 bars'): something that only has a meaning with a tempo."""
    bound = BOUNDS[f"{name}_beats"]

    def check(value: object, where: str) -> Span:
        return parse_span(value, where, name)  # name has no seconds range: a span in seconds is refused

    return _rule(f"'N beats' | 'N bars' ({bound.low:g}-{bound.high:g} beats)", check, doc)


def size_or_auto(doc: str) -> Any:
    return _rule("auto | WxH", _check_size, doc)


def objective_spec(doc: str) -> Any:
    return _rule("layer | {layer: weight} | list", _check_objective_shape, doc)


# ---------------------------------------------------------------------------- the schema


@dataclass(frozen=True)
class Post:
    """Colour grading of the dream before display."""

    saturation: float = number("saturation", "colour saturation multiplier; 1 = unchanged")
    contrast: float = number("contrast", "contrast around mid-grey; 1 = unchanged")
    brightness: float = number("brightness", "added to every channel; 0 = unchanged")
    gamma: float = number("gamma", "gamma applied after contrast; 1 = unchanged")
    mix: float = number("mix", "share of the dream against the raw camera frame; 1 = all dream")


@dataclass(frozen=True)
class Motion:
    """How visitors' movement drives intensity and feedback (issue 6)."""

    mode: str = one_of(MOTION_MODES, "off, or which way movement scales lr and feedback")
    measure: str = one_of(MOTION_MEASURES, "frame difference, or the magnitude of the optical flow")
    sensitivity: float = number("motion_sensitivity", "how little movement counts as movement; 1 = the slightest")
    smoothing: float = number("motion_smoothing", "seconds of exponential smoothing of the motion level")
    floor: float = number("motion_floor", "smallest multiplier of lr and feedback while the dream melts")


@dataclass(frozen=True)
class Attract:
    """What happens when nobody moves for a while (issue 6): the classic infinite zoom."""

    enabled: bool = flag("evolve the last dream when the scene is still")
    after: float = number("attract_after", "seconds without motion before attract mode starts")
    zoom: float = number("attract_zoom", "zoom factor per second; 1 = none, above 1 = into the picture")
    rotate: float = number("attract_rotate", "degrees per second")
    fade: float = number("attract_fade", "seconds to blend back to the camera when someone arrives")


@dataclass(frozen=True)
class Pulse:
    """The dream breathes with the music: a setting swells on each beat or bar (issue 23)."""

    target: str = one_of(PULSE_TARGETS, "what swells on the beat: off, intensity, feedback or mix (only while a "
                         "tempo source is present)")
    shape: str = one_of(SHAPES, "the swell's shape over one period: 1 on the beat, falling to 1 - depth")
    every: Span = beat_span("pulse_every", "the period: '1 beat', '1 bar', '2 beats', '0.5 beat'")  # noqa: RUF009
    depth: float = number("pulse_depth", "how far the setting dips between swells, as a share of its value")


@dataclass(frozen=True)
class Render:
    """Offline / still quality (`run.py render`, `run.py dream`): octaves and steps."""

    octaves: int = whole("octaves", "number of scales, smallest first")
    octave_scale: float = number("octave_scale", "size ratio between octaves")
    steps: int = whole("render_steps", "steps per octave")


@dataclass(frozen=True)
class Preset:
    """A validated preset. `name` and `path` come from the file, all else from the schema."""

    name: str = field(metadata={})
    path: Path = field(metadata={})
    objective_text: str = field(metadata={})  # the objective's description, for the HUD
    description: str = text("one line for the HUD and `run.py presets`")
    network: str = one_of(NETWORKS, "which embedded network dreams")
    objective: ObjectiveSpec = objective_spec(  # noqa: RUF009 - returns a dataclasses.field
        "what to amplify: fire7, fire7:42, {fire6: 0.5}, class:tabby, guide"
    )
    lr: float = number("lr", "intensity: step size per dream step")
    lr_max: float = number("lr_max", "lr at intensity 1 (the +/- keys, MIDI and OSC span 0-lr_max)")
    steps: int = whole("steps", "dream steps per camera frame")
    jitter: int = whole("jitter", "largest random roll in pixels per step")
    jitter_walk: int = whole("jitter_walk", "steps over which the roll drifts to its next random offset, so the "
                             "pattern is reinforced across frames instead of re-drawn; 0 = a fresh roll every step")
    smooth: float = number("smooth", "Gaussian sigma of gradient smoothing in pixels; 0 = off")
    tv: float = number("tv", "total-variation penalty weight; 0 = off")
    feedback: float = number("feedback", "how much of the previous dream detail carries into the next frame")
    flow: bool = flag("warp the carried detail with optical flow (off: add it in place)")
    process_size: tuple[int, int] | None = size_or_auto("dreaming resolution; auto = by device (smaller on CPU)")
    duration: Span = span(  # noqa: RUF009 - returns a dataclasses.field
        "duration", "time on screen in a playlist: seconds, or '16 bars' / '32 beats' on the show's tempo (120 BPM "
        "without one)"
    )
    transition: Span = span("transition", "crossfade into this preset: seconds, or '1 beat' / '2 bars'")  # noqa: RUF009
    quantize: str = one_of(QUANTIZE_MODES, "a change to another preset asked by any control waits for the next "
                           "beat or bar (with a tempo source); off = at once")
    seed: int = whole("seed", "seed of the jitter generator")
    dreamer: str = one_of(DREAMERS, "gradient = the gradient-ascent dream (the reference); student = the look's "
                          "one-pass student (presets/students/NAME.student), the gradient dream when it has none")
    backend: str = one_of(BACKENDS, "which engine backend runs the step")
    precision: str = one_of(PRECISIONS, "arithmetic: auto = fp16 on CUDA; on the CPU bf16 if native and faster")
    compose: str = one_of(COMPOSE_MODES, "shown frame: camera at output size + dream detail, or the dream upscaled")
    fit: str = one_of(FIT_MODES, "how the frame meets the screen, a video's or render's size: fill = crop to "
                      "cover, fit = whole frame between black bars, stretch = change the aspect (people look fat "
                      "or thin)")
    mask: str = one_of(MASK_MODES, "who dreams: visitors = only what moves in front of a still camera, room = all "
                       f"but that (a visitor standing still fades into the room over about {STILL_FADE_S:g} s)")
    mask_strength: float = number("mask_strength", "0 = the mask changes nothing, 1 = the rest shows the camera")
    mask_feather: float = number("mask_feather", "softness of the mask's edge in processing pixels")
    panorama: bool = flag("the input is a 360-degree equirectangular (2:1) panorama: dream it without a seam")
    post: Post = field(metadata={"section": Post})
    motion: Motion = field(metadata={"section": Motion})
    attract: Attract = field(metadata={"section": Attract})
    pulse: Pulse = field(metadata={"section": Pulse})
    render: Render = field(metadata={"section": Render})

    def step_params(self) -> StepParams:
        return StepParams(lr=self.lr, jitter=self.jitter, smooth=self.smooth, tv=self.tv,
                          jitter_walk=self.jitter_walk)  # fmt: skip

    def mask_params(self) -> MaskParams:
        return MaskParams(mode=self.mask, strength=self.mask_strength, feather=self.mask_feather)

    def feedback_params(self) -> FeedbackParams:
        return FeedbackParams(feedback=self.feedback, flow=self.flow)

    def post_params(self) -> PostParams:
        post = self.post
        return PostParams(saturation=post.saturation, contrast=post.contrast, brightness=post.brightness,
                          gamma=post.gamma, mix=post.mix)  # fmt: skip

    def motion_params(self) -> MotionParams:
        m = self.motion
        return MotionParams(mode=m.mode, measure=m.measure, sensitivity=m.sensitivity, smoothing_s=m.smoothing,
                            floor=m.floor)  # fmt: skip

    def attract_params(self) -> AttractParams:
        a = self.attract
        return AttractParams(enabled=a.enabled, after_s=a.after, zoom_per_s=a.zoom, rotate_deg_per_s=a.rotate,
                             fade_s=a.fade)  # fmt: skip

    def octave_params(self) -> OctaveParams:
        return OctaveParams(octaves=self.render.octaves, scale=self.render.octave_scale, steps=self.render.steps)

    def build_objective(self, net: DreamNet, load_guide: GuideLoader | None = None) -> Objective:
        """The objective for the real network (guide images are read here, not at load)."""
        if net.name != self.network:
            raise DreamwallError(f"preset {self.name} is for {self.network}, got a {net.name} network")
        return build_objective(net, thaw(self.objective), load_guide)

    def objective_on(self, net: DreamNet, layers: object = None) -> Objective:
        """What a command dreams with this preset: `layers` (a --layers override) if given; on
        another network than the preset's, that network's classic layer; else the preset's own."""
        if layers is not None or net.name != self.network:
            return build_objective(net, layers)
        return self.build_objective(net)

    @property
    def intensity(self) -> float:
        """lr as a share of lr_max, for the intensity controls (0-1)."""
        return self.lr / self.lr_max if self.lr_max > 0 else 0.0

    def with_intensity(self, intensity: float) -> Preset:
        check_bound("intensity", intensity)
        return dataclasses.replace(self, lr=intensity * self.lr_max)

    def summary(self) -> str:
        """One line for the HUD, logs and `run.py presets`."""
        return (
            f"{self.name}: {self.network} {self.objective_text}, lr {self.lr:g} x{self.steps}, "
            f"feedback {self.feedback:g}"
        )


def thaw(value: object) -> object:
    if isinstance(value, Span):
        return value.to_data()
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


def schema(section: type = Preset, prefix: str = "") -> Iterator[tuple[str, Rule]]:
    """Every key path with its rule, in file order: the one table the docs print."""
    for item in dataclasses.fields(section):
        sub = item.metadata.get("section")
        if sub is not None:
            yield from schema(sub, f"{prefix}{item.name}.")
        elif "rule" in item.metadata:
            yield f"{prefix}{item.name}", item.metadata["rule"]


SCHEMA: dict[str, Rule] = dict(schema())
"""key path ('post.saturation') -> rule."""


def section_keys(section: type) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(section) if f.metadata}
