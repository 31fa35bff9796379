"""Presets: YAML files that say how the installation dreams, loaded into frozen values.

`presets/default.yaml` defines every key; any other preset overrides parts of it
(nested sections merge key by key). The schema is the dataclasses below: every key is
one field whose metadata carries its rule (type, range, doc), so adding a key is one
line here plus its default in default.yaml. Errors name the file and the key path.

Layer names are checked against a catalogue built on the "meta" device (shapes only,
no weights), so validation never loads a network.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from engine.attract import AttractParams
from engine.compose import COMPOSE_MODES
from engine.errors import DreamwallError, check_range, did_you_mean, unknown_name
from engine.networks import NETWORKS, DreamNet
from engine.networks.shapes import architecture, min_input_side
from engine.objectives import GuideLoader, Objective, parse_objective
from engine.post import PostParams
from engine.reactive import MotionParams
from engine.sizes import min_dream_side
from engine.step import OctaveParams, StepParams
from installation import HOME
from installation.common.yamlfile import display_path, read_yaml_mapping, show

PRESETS_DIR = HOME / "presets"
DEFAULT_NAME = "default"
SUFFIX = ".yaml"
MAX_GUIDE_SIDE = 4096  # a guide is matched feature by feature: more pixels add memory, not likeness

BACKENDS = ("auto", "torch", "compile", "onnx", "tensorrt")
PRECISIONS = ("auto", "fp32", "fp16")
MOTION_MODES = ("off", "grow-when-still", "grow-when-moving")
MOTION_MEASURES = ("difference", "flow")

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


def number(low: float, high: float, doc: str) -> Any:
    def check(value: object, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DreamwallError(f"{where} must be a number between {low:g} and {high:g}, got {show(value)}")
        return float(check_range(where, float(value), low, high))

    return _rule(f"number {low:g} to {high:g}", check, doc)


def whole(low: int, high: int, doc: str) -> Any:
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


def size_or_auto(doc: str) -> Any:
    return _rule("auto | WxH", _check_size, doc)


def objective_spec(doc: str) -> Any:
    return _rule("layer | {layer: weight} | list", _check_objective_shape, doc)


# ---------------------------------------------------------------------------- the schema


@dataclass(frozen=True)
class Post:
    """Colour grading of the dream before display."""

    saturation: float = number(0.0, 3.0, "colour saturation multiplier; 1 = unchanged")
    contrast: float = number(0.0, 3.0, "contrast around mid-grey; 1 = unchanged")
    brightness: float = number(-0.5, 0.5, "added to every channel; 0 = unchanged")
    gamma: float = number(0.2, 5.0, "gamma applied after contrast; 1 = unchanged")
    mix: float = number(0.0, 1.0, "share of the dream against the raw camera frame; 1 = all dream")


@dataclass(frozen=True)
class Motion:
    """How visitors' movement drives intensity and feedback (issue 6)."""

    mode: str = one_of(MOTION_MODES, "off, or which way movement scales lr and feedback")
    measure: str = one_of(MOTION_MEASURES, "frame difference, or the magnitude of the optical flow")
    sensitivity: float = number(0.0, 1.0, "how little movement counts as movement; 1 = the slightest")
    smoothing: float = number(0.0, 10.0, "seconds of exponential smoothing of the motion level")
    floor: float = number(0.0, 1.0, "smallest multiplier of lr and feedback while the dream melts")


@dataclass(frozen=True)
class Attract:
    """What happens when nobody moves for a while (issue 6): the classic infinite zoom."""

    enabled: bool = flag("evolve the last dream when the scene is still")
    after: float = number(5.0, 3600.0, "seconds without motion before attract mode starts")
    zoom: float = number(0.8, 1.25, "zoom factor per second; 1 = none, above 1 = into the picture")
    rotate: float = number(-30.0, 30.0, "degrees per second")
    fade: float = number(0.0, 10.0, "seconds to blend back to the camera when someone arrives")


@dataclass(frozen=True)
class Render:
    """Offline / still quality (`run.py render`, `run.py dream`): octaves and steps."""

    octaves: int = whole(1, 12, "number of scales, smallest first")
    octave_scale: float = number(1.0, 4.0, "size ratio between octaves")
    steps: int = whole(1, 1000, "steps per octave")


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
    lr: float = number(0.0, 1.0, "intensity: step size per dream step")
    lr_max: float = number(0.0, 1.0, "lr at intensity 1 (the +/- keys, MIDI and OSC span 0-lr_max)")
    steps: int = whole(1, 50, "dream steps per camera frame")
    jitter: int = whole(0, 512, "largest random roll in pixels per step")
    jitter_walk: int = whole(0, 10_000, "steps over which the roll drifts to its next random offset, so the "
                             "pattern is reinforced across frames instead of re-drawn; 0 = a fresh roll every step")
    smooth: float = number(0.0, 20.0, "Gaussian sigma of gradient smoothing in pixels; 0 = off")
    tv: float = number(0.0, 10.0, "total-variation penalty weight; 0 = off")
    feedback: float = number(0.0, 1.0, "how much of the previous dream detail carries into the next frame")
    flow: bool = flag("warp the carried detail with optical flow (off: add it in place)")
    process_size: tuple[int, int] | None = size_or_auto("dreaming resolution; auto = by device (smaller on CPU)")
    duration: float = number(1.0, 86400.0, "seconds on screen in a playlist")
    transition: float = number(0.0, 60.0, "crossfade seconds into this preset")
    seed: int = whole(0, 2**31 - 1, "seed of the jitter generator")
    backend: str = one_of(BACKENDS, "which engine backend runs the step")
    precision: str = one_of(PRECISIONS, "arithmetic precision: auto = fp16 on CUDA, fp32 on the CPU")
    compose: str = one_of(COMPOSE_MODES, "shown frame: camera at output size + dream detail, or the dream upscaled")
    post: Post = field(metadata={"section": Post})
    motion: Motion = field(metadata={"section": Motion})
    attract: Attract = field(metadata={"section": Attract})
    render: Render = field(metadata={"section": Render})

    def step_params(self) -> StepParams:
        return StepParams(lr=self.lr, jitter=self.jitter, smooth=self.smooth, tv=self.tv,
                          jitter_walk=self.jitter_walk)  # fmt: skip

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
        return parse_objective(_thaw(self.objective), net, load_guide or (lambda path: _guide_tensor(path, net.name)))

    @property
    def intensity(self) -> float:
        """lr as a share of lr_max, for the intensity controls (0-1)."""
        return self.lr / self.lr_max if self.lr_max > 0 else 0.0

    def with_intensity(self, intensity: float) -> Preset:
        check_range("intensity", intensity, 0.0, 1.0)
        return dataclasses.replace(self, lr=intensity * self.lr_max)

    def summary(self) -> str:
        """One line for the HUD, logs and `run.py presets`."""
        return (
            f"{self.name}: {self.network} {self.objective_text}, lr {self.lr:g} x{self.steps}, "
            f"feedback {self.feedback:g}"
        )


def read_guide_image(path: Path, network: str) -> np.ndarray:
    """A guide picture as RGB uint8, through the show's own decoder once its header passed the size bounds.

    Check time and the show call this same function, so a guide that passes
    `presets --check` is one the show can read; the header is read first so a small
    file that claims a huge picture is refused before anything is decoded.
    """
    from PIL import Image, UnidentifiedImageError

    from installation.outputs.images import read_image

    shown = display_path(path)
    try:
        with Image.open(path) as header:
            width, height = header.size
    except FileNotFoundError:
        raise DreamwallError(f"guide image not found: {shown}") from None
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError):
        raise DreamwallError(f"cannot decode guide image {shown}: the file is empty, corrupt or not an image") from None
    low = min_input_side(network)
    if min(width, height) < low or max(width, height) > MAX_GUIDE_SIDE:
        raise DreamwallError(
            f"guide image {shown} is {width}x{height}; for {network} width and height must be "
            f"{low} to {MAX_GUIDE_SIDE} pixels"
        )
    try:
        return read_image(path)
    except DreamwallError:
        raise DreamwallError(f"cannot decode guide image {shown}: the file is empty, corrupt or not an image") from None


def _guide_tensor(path: str, network: str) -> torch.Tensor:
    from engine.imageops import to_tensor

    return to_tensor(read_guide_image(Path(path), network))


def _thaw(value: object) -> object:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
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


def _keys(section: type) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(section) if f.metadata}


# ---------------------------------------------------------------------------- files


def unknown_key(shown: str, path: str, choices: Sequence[str]) -> DreamwallError:
    """'unknown key' with the closest full key path as the suggestion (a misplaced key finds its section)."""
    return DreamwallError(f"{shown}: unknown key '{path}'{did_you_mean(path, choices)}")


def _all_paths(section: type = Preset, prefix: str = "") -> Iterator[str]:
    for key, item in _keys(section).items():
        yield f"{prefix}{key}"
        if "section" in item.metadata:
            yield from _all_paths(item.metadata["section"], f"{prefix}{key}.")


def _validate(data: Mapping[str, Any], section: type, shown: str, prefix: str = "") -> dict[str, Any]:
    """Check keys and values of one (partial) tree; returns the converted tree."""
    known = _keys(section)
    result: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if not isinstance(key, str) or key not in known:
            raise unknown_key(shown, str(path), list(_all_paths()))
        meta = known[key].metadata
        if "section" in meta:
            if not isinstance(value, Mapping):
                raise DreamwallError(f"{shown}: key '{path}': must be a mapping of {key} keys, got {show(value)}")
            result[key] = _validate(value, meta["section"], shown, f"{path}.")
        else:
            result[key] = meta["rule"].check(value, f"{shown}: key '{path}':")
    return result


def _missing(tree: Mapping[str, Any], section: type, prefix: str = "") -> Iterator[str]:
    for key, item in _keys(section).items():
        if key not in tree:
            yield f"{prefix}{key}"
        elif "section" in item.metadata:
            yield from _missing(tree[key], item.metadata["section"], f"{prefix}{key}.")


def _merge(base: Mapping[str, Any], override: Mapping[str, Any], section: type) -> dict[str, Any]:
    """Deep merge guided by the schema: sections merge, values (objective mappings too) replace."""
    merged = dict(base)
    known = _keys(section)
    for key, value in override.items():
        sub = known[key].metadata.get("section")
        merged[key] = _merge(base[key], value, sub) if sub is not None else value
    return merged


def _build(section: type, tree: Mapping[str, Any], **extra: Any) -> Any:
    values = dict(extra)
    for key, item in _keys(section).items():
        sub = item.metadata.get("section")
        values[key] = _build(sub, tree[key]) if sub is not None else tree[key]
    return section(**values)


def read_defaults(path: Path) -> dict[str, Any]:
    """default.yaml, validated and complete."""
    shown = display_path(path)
    tree = _validate(read_yaml_mapping(path, "preset"), Preset, shown)
    missing = list(_missing(tree, Preset))
    if missing:
        rule = SCHEMA[missing[0]]
        raise DreamwallError(
            f"{shown}: missing key '{missing[0]}' ({rule.expected}: {rule.doc}); default.yaml must define every key"
        )
    _check_whole(tree, shown, path.parent)  # a preset itself: its own mistake is named once, not per preset
    return tree


def _check_whole(tree: dict[str, Any], shown: str, folder: Path) -> str:
    """The rules that need the complete tree (keys from different files); returns the objective's description.

    Resolves tree['objective'] in place (guide paths relative to `folder`, the file that holds them).
    """
    if tree["lr"] > tree["lr_max"]:
        raise DreamwallError(f"{shown}: key 'lr': must not exceed lr_max ({tree['lr_max']:g}), got {tree['lr']:g}")
    if tree["transition"] > tree["duration"]:
        raise DreamwallError(
            f"{shown}: key 'transition': must not exceed duration ({tree['duration']:g} s), got {tree['transition']:g}"
        )
    if tree["process_size"] is not None:
        check_process_size(tree["process_size"], tree["network"], f"{shown}: key 'process_size':")
    tree["objective"], objective_text = _check_objective(tree["objective"], tree["network"], shown, folder)
    return objective_text


# ---------------------------------------------------------------------------- layer catalogue


def catalogue_network(name: str) -> DreamNet:
    """The network's architecture on the meta device: layer names and channels, no weights."""
    return architecture(name)


def _check_objective(spec: object, network: str, shown: str, folder: Path) -> tuple[object, str]:
    """Run the show's own parser on the architecture (meta device); guide images are decoded here.

    Returns the spec with guide paths made absolute, and its description. Anything the
    show's parser would refuse (an empty list, a non-finite weight, a corrupt guide) is
    refused here, at `presets --check`, at start and on reload alike.
    """
    net = catalogue_network(network)

    def check_guide(path: str) -> torch.Tensor:
        height, width = read_guide_image(Path(path), network).shape[:2]
        return torch.empty(1, 3, height, width, device="meta")  # the features' shapes only

    resolved = _resolve_guides(spec, folder)
    try:
        objective = parse_objective(_thaw(resolved), net, check_guide)
    except DreamwallError as error:
        raise DreamwallError(f"{shown}: key 'objective': {error}") from None
    return resolved, objective.description


def _resolve_guides(spec: object, folder: Path) -> object:
    """Guide paths relative to the preset's folder, made absolute (the show's working folder differs)."""
    if isinstance(spec, tuple):
        return tuple(_resolve_guides(item, folder) for item in spec)
    if isinstance(spec, Mapping) and "guide" in spec:
        guide = Path(str(spec["guide"])).expanduser()
        return MappingProxyType({**spec, "guide": str(guide if guide.is_absolute() else folder / guide)})
    return spec


def check_process_size(size: tuple[int, int], network: str, where: str) -> None:
    """Refuse a dreaming size below the network's smallest dreamable side (engine.sizes.min_dream_side)."""
    low = min_dream_side(network)
    width, height = size
    if width < low or height < low:
        prefix = f"{where} " if where else ""
        raise DreamwallError(
            f"{prefix}process size {width}x{height} is too small for {network}: "
            f"width and height must be at least {low}"
        )


# ---------------------------------------------------------------------------- loading


def load_preset(path: Path, defaults: Path | None = None) -> Preset:
    """One preset file merged over its defaults (the sibling default.yaml, else the shipped one)."""
    path = Path(path)
    if defaults is None:
        sibling = path.parent / f"{DEFAULT_NAME}{SUFFIX}"
        defaults = sibling if sibling.is_file() else PRESETS_DIR / f"{DEFAULT_NAME}{SUFFIX}"
    base = read_defaults(defaults)
    shown = display_path(path)
    if path.resolve() == Path(defaults).resolve():
        tree = base
    else:
        tree = _merge(base, _validate(read_yaml_mapping(path, "preset"), Preset, shown), Preset)
    objective_text = _check_whole(tree, shown, path.parent)  # again: the merge may pair keys that do not fit
    return _build(Preset, tree, name=path.stem, path=path, objective_text=objective_text)


class PresetLibrary:
    """The presets folder: names are file stems; every preset is merged over default.yaml."""

    def __init__(self, directory: Path = PRESETS_DIR) -> None:
        self.directory = Path(directory)
        self.default_path = self.directory / f"{DEFAULT_NAME}{SUFFIX}"
        if not self.default_path.is_file():
            raise DreamwallError(f"{display_path(self.default_path)}: file not found; a presets folder needs it")

    def names(self) -> list[str]:
        """default first, then the others by name."""
        stems = sorted(p.stem for p in self.directory.glob(f"*{SUFFIX}") if not p.name.startswith("."))
        return [DEFAULT_NAME, *(s for s in stems if s != DEFAULT_NAME)]

    def path(self, name: str) -> Path:
        candidate = self.directory / f"{name}{SUFFIX}"
        if not candidate.is_file():
            raise unknown_name("preset", name, self.names())
        return candidate

    def load(self, name: str) -> Preset:
        return load_preset(self.path(name), self.default_path)

    def load_all(self, names: Sequence[str] | None = None) -> dict[str, Preset]:
        """All (or the named) presets; the first broken one raises."""
        return {name: self.load(name) for name in (names if names is not None else self.names())}

    def check_all(self) -> list[tuple[str, Preset | DreamwallError]]:
        """Every preset with its value or its error: for `run.py presets`."""
        results: list[tuple[str, Preset | DreamwallError]] = []
        for name in self.names():
            try:
                results.append((name, self.load(name)))
            except DreamwallError as error:
                results.append((name, error))
        return results


def environment_presets_dir() -> Path:
    """DREAMWALL_PRESETS overrides the shipped folder (kiosks keep their own)."""
    return Path(os.environ.get("DREAMWALL_PRESETS", str(PRESETS_DIR)))
