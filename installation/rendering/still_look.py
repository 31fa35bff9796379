"""How `run.py dream` dreams a still: built-in defaults, then a preset, then the flags.

The same values go into the PNG (installation.presets.snapshot), as the full preset they
make, so `presets --from-image` gives back a file that `dream --preset` turns into the
same picture for the same input.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.networks import DEFAULT_NETWORK, check_network_name
from engine.step import OctaveParams, StepParams
from installation.presets.loader import DEFAULT_NAME, Preset, PresetLibrary, environment_presets_dir, load_preset
from installation.presets.schema import thaw
from installation.presets.snapshot import preset_values, settings_record

STILL_DEFAULTS: dict[str, Any] = {"lr": 0.01, "jitter": 16, "smooth": 0.5, "tv": 0.0, "seed": 0, "backend": "auto",
                                  "octaves": 4, "octave_scale": 1.4, "steps": 10}  # fmt: skip
"""dream's own defaults without --preset (a still wants more jitter and less smoothing than the live show)."""


@dataclass(frozen=True)
class StillLook:
    base: Preset  # the preset the values override (default.yaml without --preset)
    named: bool  # a --preset was given (the record keeps its name)
    network: str
    objective: object  # preset syntax; None = the network's classic layer
    lr: float
    jitter: int
    smooth: float
    tv: float
    seed: int
    backend: str
    octaves: int
    octave_scale: float
    steps: int
    panorama: bool = False  # a 360-degree (2:1) image: dreamt without a seam (--panorama, or the preset's key)

    def step_params(self) -> StepParams:
        return StepParams(lr=self.lr, jitter=self.jitter, smooth=self.smooth, tv=self.tv)

    def octave_params(self) -> OctaveParams:
        return OctaveParams(octaves=self.octaves, scale=self.octave_scale, steps=self.steps)

    def record(self, objective_spec: object) -> dict[str, Any]:
        """The PNG's settings: the base preset with every value this still used."""
        values = preset_values(self.base)
        values.update(network=self.network, objective=objective_spec, lr=self.lr, jitter=self.jitter,
                      jitter_walk=0, smooth=self.smooth, tv=self.tv, seed=self.seed, backend=self.backend)  # fmt: skip
        values["lr_max"] = max(values["lr_max"], self.lr)  # a preset's lr may not pass its lr_max
        values["render"] = {"octaves": self.octaves, "octave_scale": self.octave_scale, "steps": self.steps}
        values["panorama"] = self.panorama
        name = self.base.name if self.named else "dream"
        return settings_record(name, values, source="dream")


def _load(spec: str) -> Preset:
    """A preset by name (the presets folder) or by file (a recovered preset anywhere)."""
    path = Path(spec)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        return load_preset(path)
    return PresetLibrary(environment_presets_dir()).load(spec)


def still_look(args: argparse.Namespace, layers: object) -> StillLook:
    """Flags over the preset over dream's defaults; `layers` is the parsed --layers (None = not given)."""
    base = _load(args.preset) if args.preset else PresetLibrary(environment_presets_dir()).load(DEFAULT_NAME)
    if args.preset:
        given = {"lr": base.lr, "jitter": base.jitter, "smooth": base.smooth, "tv": base.tv, "seed": base.seed,
                 "backend": base.backend, "octaves": base.render.octaves, "octave_scale": base.render.octave_scale,
                 "steps": base.render.steps}  # fmt: skip
    else:
        given = dict(STILL_DEFAULTS)
    for key in given:
        flag = getattr(args, key, None)
        if flag is not None:
            given[key] = flag
    network = check_network_name(args.network or (base.network if args.preset else DEFAULT_NETWORK))
    objective = layers
    if objective is None and args.preset and network == base.network:
        objective = thaw(base.objective)
    panorama = bool(getattr(args, "panorama", False)) or (bool(args.preset) and base.panorama)
    return StillLook(base=base, named=bool(args.preset), network=network, objective=objective, panorama=panorama,
                     **given)  # fmt: skip
