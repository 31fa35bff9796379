"""Where built graphs and engines are kept between runs: a key -> bytes store.

The engine stays free of paths: builders take any BlobStore. MemoryStore keeps
builds for one process (tests); DiskStore keeps them in a folder (the app's
`cache/`), written atomically so a crash mid-write never leaves a torn file that a
later start would try to load.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from installation.atomic import atomic_write_bytes

_SAFE = re.compile(r"[^A-Za-z0-9._+-]")
DEFAULT_CACHE = Path(__file__).resolve().parents[2] / "cache"


def safe_key(key: str) -> str:
    """A key usable as a file name on every platform."""
    return _SAFE.sub("_", key)


class BlobStore(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, data: bytes) -> None: ...

    def describe(self, key: str) -> str: ...


class MemoryStore:
    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self._blobs.get(key)

    def put(self, key: str, data: bytes) -> None:
        self._blobs[key] = data

    def describe(self, key: str) -> str:
        return f"memory:{key}"


class DiskStore:
    """Files under `root/<kind>/` named by the key; `kind` is the key's first '/' part."""

    def __init__(self, root: Path = DEFAULT_CACHE) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        kind, _, name = key.partition("/")
        return self.root / safe_key(kind) / safe_key(name or kind)

    def get(self, key: str) -> bytes | None:
        path = self.path(key)
        return path.read_bytes() if path.is_file() else None

    def put(self, key: str, data: bytes) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)

    def describe(self, key: str) -> str:
        return str(self.path(key))
