"""Where built graphs and engines are kept: a key -> bytes store.

The engine stays free of paths and I/O: builders take any BlobStore. MemoryStore
keeps builds for one process (tests, benches); the app's on-disk store lives in
installation.dreaming.export_cache. Keys look like "<kind>/<name>" and may hold any
characters (a GPU name has spaces and slashes); `safe_key` makes them file names.
"""

from __future__ import annotations

import re
from typing import Protocol

_SAFE = re.compile(r"[^A-Za-z0-9._+-]")


def safe_key(key: str) -> str:
    """A key usable as a file name on every platform."""
    return _SAFE.sub("_", key)


class BlobStore(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, data: bytes) -> None: ...

    def describe(self, key: str) -> str:
        """Where `key` is kept, for messages (a path, or 'memory:<key>')."""
        ...


class MemoryStore:
    """Builds kept for this process only."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self._blobs.get(key)

    def put(self, key: str, data: bytes) -> None:
        self._blobs[key] = data

    def describe(self, key: str) -> str:
        return f"memory:{key}"
