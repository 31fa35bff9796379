"""The on-disk BlobStore for exported graphs and TensorRT engines: the app's `cache/` folder.

Written atomically, so a crash mid-write never leaves a torn file that a later
start would try to load. The engine only sees the BlobStore protocol
(engine.export.store); this is the one place those builds touch the disk.
"""

from __future__ import annotations

from pathlib import Path

from engine.export.store import safe_key
from installation import HOME
from installation.common.atomic import atomic_write_bytes

DEFAULT_CACHE = HOME / "cache"


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
