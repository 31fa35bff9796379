"""The on-disk BlobStore for exported graphs and TensorRT engines: the app's `cache/` folder.

Written atomically, so a crash mid-write never leaves a torn file that a later
start would try to load. The engine only sees the BlobStore protocol
(engine.export.store); this is the one place those builds touch the disk.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import DreamwallError
from engine.export.store import safe_key
from installation import HOME
from installation.common.atomic import atomic_write_bytes, temporary_beside

DEFAULT_CACHE = HOME / "cache"


def check_cache_folder(root: Path, option: str = "--cache") -> Path:
    """Fail at the start, in one line, if `root` cannot hold the cache: a file or device in its place, or a place
    this user cannot write (probed with a real file, as os.access says yes to root everywhere). A folder that is
    missing is fine (the first write creates it) and is not created here: a refused start leaves nothing."""
    root = Path(root)
    existing = next(folder for folder in (root, *root.parents) if folder.exists() or folder == Path(folder.anchor))
    if not existing.is_dir():
        place = "is" if existing == root else f"would be inside {existing}, which is"
        raise DreamwallError(f"{option} {root} {place} not a folder; expected a folder for the cache "
                             "(created if missing)")  # fmt: skip
    try:
        temporary_beside(existing / "probe", ".probe").unlink()
    except OSError as error:
        raise DreamwallError(f"{option} {root}: cannot write in {existing} ({error.strerror or error}); "
                             "expected a folder this user can write") from None  # fmt: skip
    return root


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
