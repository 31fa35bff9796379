"""The student file: weights plus a manifest, read back only through torch.load(weights_only=True).

One dict: {"format": FORMAT, "version": VERSION, "manifest": JSON text, "weights": state dict,
"digest": sha256 of the weights}. The manifest carries the teacher look's settings and their
hash (`look_hash`), the network, objective, the architecture's shape, how it was trained (size,
time, steps) and its evaluation figures. Loading refuses, in one line: a file that is not a
torch file or not ours, a corrupt one (its weights do not match their digest), a newer format,
and a student of another look (`expect_look`).

The look's identity is what decides the dream's pattern (network, objective, jitter, smoothing,
TV, the still octaves): not lr (the intensity controls scale the student's detail instead),
steps per frame or feedback (applied around the student, as around the gradient dream).
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.errors import DreamwallError
from engine.student import StudentNet, StudentShape
from installation.common.atomic import atomic_write_bytes
from installation.presets.loader import PRESETS_DIR
from installation.presets.schema import Preset, thaw

FORMAT = "dreamwall-student"
VERSION = 1
SUFFIX = ".student"
STUDENTS_DIR = PRESETS_DIR / "students"
LOAD_ERRORS = (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile, KeyError,
               AttributeError, TypeError, IndexError)  # what torch.load raises on a foreign or truncated file
LOOK_KEYS = ("network", "objective", "jitter", "smooth", "tv")


def look_settings(preset: Preset) -> dict[str, Any]:
    """The settings that decide a look's pattern (see the module doc), as plain JSON values."""
    values: dict[str, Any] = {key: thaw(getattr(preset, key)) for key in LOOK_KEYS}
    values["objective"] = json.loads(json.dumps(values["objective"], default=str))
    render = preset.render
    values["render"] = {"octaves": render.octaves, "octave_scale": render.octave_scale, "steps": render.steps}
    return values


def look_hash(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def student_path(preset_name: str, folder: Path | None = None) -> Path:
    """Where a look's student lives: presets/students/NAME.student."""
    return (folder or STUDENTS_DIR) / f"{preset_name}{SUFFIX}"


def weights_digest(weights: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for name in sorted(weights):
        tensor = weights[name].detach().cpu().contiguous()
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class StudentFile:
    net: StudentNet
    manifest: dict[str, Any]

    @property
    def look(self) -> str:
        return str(self.manifest.get("look", {}).get("hash", ""))

    @property
    def lr(self) -> float:
        """The teacher's lr: the student's detail at strength 1 is that lr's dream."""
        return float(self.manifest.get("teacher", {}).get("lr", 0.0)) or 1.0


def student_bytes(net: StudentNet, manifest: dict[str, Any]) -> bytes:
    weights = {name: tensor.detach().cpu().float().contiguous() for name, tensor in net.state_dict().items()}
    full = dict(manifest, shape=net.shape.as_dict())
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, "manifest": json.dumps(full, sort_keys=True),
                "weights": weights, "digest": weights_digest(weights)}, buffer)  # fmt: skip
    return buffer.getvalue()


def save_student(path: Path, net: StudentNet, manifest: dict[str, Any]) -> None:
    """Write atomically: a reader (the live show) never sees half a student."""
    atomic_write_bytes(Path(path), student_bytes(net, manifest))


def load_student(path: Path, expect_look: str | None = None) -> StudentFile:
    """The student in `path`; DreamwallError in one line when it is not ours, corrupt or of another look."""
    path = Path(path)
    if not path.is_file():
        raise DreamwallError(f"student file not found: {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except LOAD_ERRORS as error:
        reason = str(error).strip().splitlines()[0][:120] if str(error).strip() else type(error).__name__
        raise DreamwallError(f"{path} is not a Dreamwall student file (unreadable: {reason})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DreamwallError(f"{path} is not a Dreamwall student file (no '{FORMAT}' marker)")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise DreamwallError(f"{path} is a student file of format version {version}, this Dreamwall reads "
                             f"up to {VERSION}; update Dreamwall")  # fmt: skip
    weights, manifest_text = data.get("weights"), data.get("manifest")
    if not isinstance(weights, dict) or not isinstance(manifest_text, str):
        raise DreamwallError(f"{path} is a corrupt student file (weights or manifest missing)")
    if weights_digest(weights) != data.get("digest"):
        raise DreamwallError(f"{path} is a corrupt student file (its weights do not match their digest)")
    try:
        manifest = json.loads(manifest_text)
        net = StudentNet(StudentShape(**manifest["shape"]))
        net.load_state_dict(weights, strict=True)
    except (ValueError, KeyError, TypeError, RuntimeError, DreamwallError) as error:
        first = str(error).strip().splitlines()[0][:120] if str(error).strip() else type(error).__name__
        raise DreamwallError(f"{path} is a corrupt student file ({first})") from None
    found = str(manifest.get("look", {}).get("hash", ""))
    if expect_look is not None and found != expect_look:
        name = manifest.get("look", {}).get("preset", "?")
        raise DreamwallError(f"{path} is the student of another look (preset '{name}', look {found or '?'}), "
                             f"expected look {expect_look}; distill this preset again")  # fmt: skip
    return StudentFile(net.eval(), manifest)
