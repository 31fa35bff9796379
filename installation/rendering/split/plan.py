"""How a render is cut into chunks that dream apart and join without a visible seam.

Each chunk owns a run of frames. It cannot know the dream the frames before it carried
(temporal feedback), so it starts dreaming `warmup` frames early, from no carried dream,
and throws those away: the dream it carries into its own frames has then converged to
what a one-machine render carries. The rule: the carried detail has an RMS of at most
`max_detail` and is multiplied by `feedback` every frame, so after W frames what the
chunk missed is at most feedback**W * max_detail; W is the first count that puts it
under half an 8-bit level:

    W = ceil(ln(0.5 / (255 * max_detail)) / ln(feedback))     (0 when feedback is 0)

which is 13 frames at the default feedback 0.7, 21 at 0.8 and 44 at 0.9.

The residue is then below what an 8-bit frame shows, and a crossfade of SEAM_FRAMES
frames before each chunk's first frame (the previous chunk's last frames blended into
this chunk's, which it dreams after its warm-up) hides the switch.

Pure planning: no Ray, no files; the farm (installation.rendering.split.driver) runs the plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from engine.temporal import FeedbackParams

SEAM_FRAMES = 8  # crossfade before each chunk (fewer for chunks of under 16 frames)
HALF_LEVEL = 0.5 / 255
CHUNKS_PER_WORKER = 3  # the default cut: work to balance, and a dead worker loses a third of its share at most
MAX_WARMUP_SHARE = 0.25  # ... but chunks at least 1 / MAX_WARMUP_SHARE times their warm-up and seam


def warmup_frames(feedback: FeedbackParams) -> int:
    """Frames a chunk dreams and discards before its first kept frame (the rule in the module docstring)."""
    if feedback.feedback <= 0 or feedback.max_detail <= 0:
        return 0
    if feedback.feedback >= 1:
        raise ValueError("feedback 1 never forgets: a chunked render cannot converge to the one-machine dream")
    return max(0, math.ceil(math.log(HALF_LEVEL / feedback.max_detail) / math.log(feedback.feedback)))


@dataclass(frozen=True)
class Chunk:
    """Frames [first, stop) of the render, dreamed from `dream_from`; frames from `keep_from` are returned."""

    index: int
    first: int
    stop: int
    keep_from: int  # first - crossfade: the frames blended with the previous chunk's last ones
    dream_from: int  # keep_from - warmup, never before frame 0

    @property
    def crossfade(self) -> int:
        return self.first - self.keep_from

    @property
    def kept(self) -> range:
        return range(self.keep_from, self.stop)

    @property
    def owned(self) -> int:
        return self.stop - self.first

    @property
    def dreamed(self) -> int:
        return self.stop - self.dream_from


@dataclass(frozen=True)
class ChunkPlan:
    """`total` frames in chunks of `chunk_frames` (the last may be shorter), each warmed up and crossfaded."""

    total: int
    chunk_frames: int
    warmup: int

    def __post_init__(self) -> None:
        if self.total < 1 or self.chunk_frames < 1 or self.warmup < 0:
            raise ValueError(f"cannot plan {self.total} frames in chunks of {self.chunk_frames}")

    @property
    def crossfade(self) -> int:
        return min(SEAM_FRAMES, self.chunk_frames // 2)

    @cached_property
    def chunks(self) -> tuple[Chunk, ...]:
        cut: list[Chunk] = []
        for index, first in enumerate(range(0, self.total, self.chunk_frames)):
            keep_from = max(0, first - self.crossfade)
            dream_from = keep_from if first == 0 else max(0, keep_from - self.warmup)
            cut.append(Chunk(index, first, min(self.total, first + self.chunk_frames), keep_from, dream_from))
        return tuple(cut)

    @property
    def dreamed(self) -> int:
        """Frames dreamed in all (kept, blended and warm-up), against `total` for one machine."""
        return sum(chunk.dreamed for chunk in self.chunks)

    def manifest(self) -> dict[str, int]:
        return {"chunk_frames": self.chunk_frames, "warmup": self.warmup, "crossfade": self.crossfade}

    def owner(self, index: int) -> Chunk:
        return self.chunks[index // self.chunk_frames]

    def blend(self, index: int) -> tuple[Chunk, Chunk, float] | None:
        """(owning chunk, next chunk, the next chunk's share) for a frame inside a crossfade, else None.

        The share rises 1/(X+1), 2/(X+1), ... X/(X+1) over the X frames before the next chunk's first.
        """
        owner = self.owner(index)
        if owner.index + 1 >= len(self.chunks):
            return None
        following = self.chunks[owner.index + 1]
        if index < following.keep_from:
            return None
        return owner, following, (index - following.keep_from + 1) / (following.crossfade + 1)

    def describe(self) -> str:
        count = len(self.chunks)
        extra = self.dreamed / self.total - 1
        return (f"{count} chunk{'s' * (count != 1)} of {self.chunk_frames} frames, {self.warmup} warm-up and "
                f"{self.crossfade} crossfade frames each ({extra:.0%} more dreaming than on one machine)")  # fmt: skip


def default_chunk_frames(total: int, workers: int, warmup: int) -> int:
    """CHUNKS_PER_WORKER chunks per worker, but none so short that warm-up and seam exceed MAX_WARMUP_SHARE
    of it; the clip is cut evenly, so the last chunk is not a stub."""
    shortest = math.ceil((warmup + SEAM_FRAMES) / MAX_WARMUP_SHARE)
    count = max(1, min(max(1, workers) * CHUNKS_PER_WORKER, total // shortest))
    return math.ceil(total / count)


def crossfaded(previous: np.ndarray, following: np.ndarray, share: float, undreamt: np.ndarray) -> np.ndarray:
    """uint8 frames blended: `share` of `following`, the rest `previous`, keeping the dream's strength.

    Two chunks dream the same frame differently (a feedback dream does not converge to one
    answer), so a plain blend of their details partly cancels: the seam would soften for a
    moment. The blended detail (frame minus `undreamt`, the frame with no dream in it) is
    rescaled to the strength the two details have on their own, interpolated; the gain is
    at most what two unrelated details need (1 / sqrt(a**2 + b**2)).
    """
    base = undreamt.astype(np.float32)
    a, b = previous.astype(np.float32) - base, following.astype(np.float32) - base
    mixed = a * (1.0 - share) + b * share
    wanted = (1.0 - share) * _rms(a) + share * _rms(b)
    ceiling = 1.0 / math.hypot(1.0 - share, share)
    gain = min(ceiling, max(1.0, wanted / _rms(mixed))) if _rms(mixed) > 0 else 1.0
    return np.clip(np.rint(base + mixed * gain), 0, 255).astype(np.uint8)


def _rms(detail: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(detail))))
