"""The render's work folder beside its output (`OUT.mp4.render/`): what an interrupted render resumes from.

Finished frames are PNGs; the ungraded dream of the last one is kept too, because it is
the feedback the next frame starts from. A resume trusts nothing it has not decoded.
"""

from __future__ import annotations

import json
import reprlib
from pathlib import Path

import numpy as np

from engine.errors import DreamwallError
from installation.common.atomic import atomic_write_text
from installation.outputs.images import read_image, write_image
from installation.outputs.video_io import FRAME_PATTERN

STATE_FILE = "state.json"
CHUNKS_FOLDER = "chunks"  # a split render's chunks (installation.rendering.split.folder)
LAST_DREAM = "last_dream.png"  # ungraded dream of the last finished frame: the feedback to resume from


def work_folder(output: Path) -> Path:
    return output.with_name(output.name + ".render")


def _flatten(tree: dict[str, object]) -> dict[str, object]:
    """{'octaves': {'steps': 2}} -> {'octaves.steps': 2}, so a mismatch names the exact setting.

    A loop, not recursion: a damaged manifest may nest deeper than Python's stack.
    """
    flat: dict[str, object] = {}
    pending: list[tuple[str, dict[str, object]]] = [("", tree)]
    while pending:
        prefix, branch = pending.pop()
        for key, value in branch.items():
            if isinstance(value, dict):
                pending.append((f"{prefix}{key}.", value))
            else:
                flat[f"{prefix}{key}"] = value
    return flat


def read_object(path: Path) -> dict[str, object] | None:
    """The JSON object a kept file holds; None when it is missing, unreadable, not an object (a list) or nested
    deeper than Python parses, so that every caller refuses it in one line instead of a traceback."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def brief(value: object) -> str:
    """A kept value in an error line: short, and safe however deeply a damaged file nests it."""
    if value is None or isinstance(value, (bool, int, float)) or (isinstance(value, str) and len(value) <= 60):
        return str(value)
    return reprlib.repr(value)


def kept_image_problem(path: Path, size: tuple[int, int]) -> str | None:
    """Why a kept frame cannot be trusted (it does not decode, or is not `size`), or None: a resume trusts
    nothing it has not decoded."""
    try:
        image = read_image(path)
    except DreamwallError as error:
        return str(error)
    width, height = size
    if image.shape[:2] != (height, width):
        return f"{path} is {image.shape[1]}x{image.shape[0]}, expected {width}x{height}"
    return None


def render_manifest(input_path: Path, frames: int, settings: dict[str, object]) -> dict[str, object]:
    """What a resume must match: the input, its frame count and every setting that decides the pixels."""
    return {"input": str(Path(input_path).resolve()), "frames": frames, **settings}


class WorkFolder:
    """The render's kept state: manifest, finished frames and the dream to continue from."""

    def __init__(self, output: Path) -> None:
        self.path = work_folder(output)
        self.frames = self.path / "frames"

    def frame_path(self, index: int) -> Path:
        return self.frames / (FRAME_PATTERN % index)

    def done(self, total: int) -> int:
        """Finished frames by the state file: a whole number from 0 to `total`, else the folder is damaged."""
        state = self.path / STATE_FILE
        if not state.is_file():
            return 0
        saved = read_object(state)
        done = saved.get("done", "unreadable") if saved is not None else "unreadable"
        if type(done) is not int or not 0 <= done <= total:
            raise DreamwallError(f"{state} says {reprlib.repr(done)} frames are done, expected a whole number from "
                                 f"0 to {total}; delete {self.path} and render again")  # fmt: skip
        return done

    def check_real(self) -> None:
        """A work folder is a real folder beside the output, or not there yet: a link would take the frames
        somewhere else and cannot be removed at the end like the folder."""
        if self.path.is_symlink():
            raise DreamwallError(f"{self.path} is a symbolic link; a render keeps its work in a real folder beside "
                                 "the output: move the folder it points to here, or delete the link")  # fmt: skip
        if self.path.exists() and not self.path.is_dir():
            raise DreamwallError(f"{self.path} is not a folder, and a render keeps its work there: move it away "
                                 "or choose another output name")  # fmt: skip

    def check_frames(self, done: int, size: tuple[int, int], dream_size: tuple[int, int]) -> None:
        """Decode every kept frame and the feedback image before trusting them.

        A damaged one refuses the resume (one line) instead of being recomputed: its
        feedback (the previous frame's ungraded dream) is not kept, so a recomputed frame
        would differ from the uninterrupted render that --resume promises.
        """
        kept = [(self.frame_path(index), size) for index in range(done)] + [(self.path / LAST_DREAM, dream_size)]
        for path, expected in kept:
            problem = kept_image_problem(path, expected)
            if problem is not None:
                raise DreamwallError(f"cannot resume: {problem}; delete {self.path} and render again")

    def check_manifest(self, manifest: dict[str, object]) -> None:
        path = self.path / "manifest.json"
        saved = read_object(path)
        if saved is None:
            raise DreamwallError(f"{path} is missing or damaged; delete {self.path} and render again")
        before, now = _flatten(saved), _flatten(manifest)
        for key, value in now.items():
            if before.get(key) != value:
                raise DreamwallError(
                    f"cannot resume: {key} was {brief(before.get(key))}, now {brief(value)}; use the same settings "
                    f"as the interrupted render, or delete {self.path} to start over"
                )

    def start(self, manifest: dict[str, object]) -> None:
        self.write_manifest(manifest)
        self.mark_done(0)

    def write_manifest(self, manifest: dict[str, object]) -> None:
        self.frames.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path / "manifest.json", json.dumps(manifest, indent=1))

    def is_chunked(self) -> bool:
        """Whether this folder holds a render split into chunks (`render --ray`), not a one-machine one."""
        return (self.path / CHUNKS_FOLDER).is_dir()

    def save(self, index: int, shown: np.ndarray, dreamed: np.ndarray) -> None:
        """Frame first, then the feedback image, then the count: a crash leaves a consistent state."""
        write_image(self.frame_path(index), shown)
        write_image(self.path / LAST_DREAM, dreamed)
        self.mark_done(index + 1)

    def mark_done(self, done: int) -> None:
        atomic_write_text(self.path / STATE_FILE, json.dumps({"done": done}))

    def last_dream(self) -> np.ndarray:
        return read_image(self.path / LAST_DREAM)
