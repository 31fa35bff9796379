"""One chunk of a split render, as a worker dreams it: read its frame range, dream, hand back frames.

The worker opens the input itself and reads only from the chunk's first warm-up frame
on (a video seeks there exactly: installation.outputs.video_seek), dreams with the same
FrameDreamer as a one-machine render and yields each kept frame as PNG bytes the moment
it is dreamt, so the driver shows progress and keeps frames from task results.

No Ray here: the farm (installation.rendering.split.driver) runs this function as a Ray task, and
the tests run it as a plain generator too.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch

from engine.errors import DreamwallError
from engine.networks import DreamNet, load_network
from installation.outputs.images import encode_image
from installation.outputs.video_io import open_source
from installation.presets.schema import Preset
from installation.rendering.frame_dreamer import FrameDreamer, RenderSettings, render_student
from installation.rendering.split.plan import Chunk


@dataclass(frozen=True)
class ChunkJob:
    """What every chunk of one render shares: the input, the look and where to dream it."""

    input: Path  # the same path on every node (shared storage)
    folder_fps: float
    preset: Preset
    layers: object  # the --layers override, or None
    settings: RenderSettings
    fps: float
    device: str  # "cpu" or "cuda" (Ray gives a GPU task its GPU as cuda:0)
    dtype: str  # "float32" or "float16"
    frames: int | None = None  # the input's frame count, as the driver counted it (a video is not counted again)


@dataclass(frozen=True)
class Started:
    """First item of every chunk: where it runs (for the progress line and error messages)."""

    chunk: int
    host: str
    pid: int


@dataclass(frozen=True)
class DreamtFrame:
    index: int  # frame number in the whole render
    png: bytes
    undreamt: bytes | None = None  # a crossfade lead-in's frame with no dream in it (FrameDreamer.undreamt)


class Finished:
    """Not yielded: what the cluster reports when a chunk's task has yielded its last frame."""


FINISHED = Finished()
ChunkItem = Started | DreamtFrame
ChunkFn = Callable[[ChunkJob, Chunk], Iterator[ChunkItem]]


@cache
def _network(name: str, device: str, dtype: str) -> DreamNet:
    """One network per worker process and placement: a worker reused for the next chunk keeps it."""
    return load_network(name).to(torch.device(device), getattr(torch, dtype))


def chunk_dreamer(job: ChunkJob) -> FrameDreamer:
    net = _network(job.settings.network, job.device, job.dtype)
    objective = job.preset.objective_on(net, job.layers)
    if objective.description != job.settings.objective:
        raise DreamwallError(f"this worker builds the objective '{objective.description}', the render asked for "
                             f"'{job.settings.objective}': run the same Dreamwall version on every node")  # fmt: skip
    student = render_student(job.preset, job.settings, net)
    return FrameDreamer(net, objective, job.settings, fps=job.fps, student=student)


def dream_chunk(job: ChunkJob, chunk: Chunk) -> Iterator[ChunkItem]:
    """Started, then a DreamtFrame for each frame of `chunk.kept`, in order (the lead-ins with their undreamt
    frame)."""
    yield Started(chunk.index, socket.gethostname(), os.getpid())
    if not job.input.exists():
        raise DreamwallError(f"{socket.gethostname()} cannot see {job.input}: every node must read the input "
                             "at the same path (shared storage)")  # fmt: skip
    dreamer = chunk_dreamer(job)
    frames = open_source(job.input, folder_fps=job.folder_fps, frame_count=job.frames).frames(chunk.dream_from)
    index = chunk.dream_from
    try:
        for rgb in frames:
            if index >= chunk.stop:
                break
            rgb = dreamer.take(rgb)  # the fit rule: cropped, or the picture that sits between bars
            shown, _ = dreamer(index, rgb)
            if index >= chunk.keep_from:
                lead_in = encode_image(dreamer.undreamt(rgb), ".png") if index < chunk.first else None
                yield DreamtFrame(index, encode_image(shown, ".png"), lead_in)
            index += 1
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
    if index < chunk.stop:
        raise DreamwallError(f"the input ended at frame {index}, chunk {chunk.index} needs frames up to "
                             f"{chunk.stop - 1}")  # fmt: skip
