"""Write files so that readers never see half of one: temp file in the same folder, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from engine.errors import DreamwallError


def check_output_path(
    path: Path,
    suffixes: tuple[str, ...] | None = None,
    kind: str = "",
    role: str = "output",
    *,
    inputs: Iterable[Path] = (),
    overwrite: bool = False,
) -> Path:
    """Fail before any work if `path` cannot become the output file: the one rule for every output.

    Extension, an existing folder (never created), not a folder or device itself, not one of
    `inputs` unless `overwrite`, and a real write test: a temp file is created in the folder
    and removed, because os.access says yes to root everywhere (/proc, /sys, read-only mounts).
    """
    path = Path(path)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise DreamwallError(f"{role} {path} needs {kind} extension: {', '.join(suffixes)}")
    if path.exists() and not path.is_file():
        raise DreamwallError(f"{role} {path} exists and is not a regular file (a folder or a device); "
                             "expected the name of a file to write")  # fmt: skip
    for source in inputs:
        if not overwrite and path.exists() and Path(source).exists() and path.samefile(source):
            raise DreamwallError(f"{role} {path} is the input file; choose another name, "
                                 "or add --overwrite to replace the input")  # fmt: skip
    folder = path.parent if str(path.parent) else Path()
    if not folder.is_dir():
        raise DreamwallError(f"{role} folder does not exist: {folder}")
    try:
        temporary_beside(path, ".probe").unlink()
    except OSError as error:
        raise DreamwallError(f"{role} folder is not writable: {folder} ({error.strerror or error})") from None
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temporary_beside(target: Path, suffix: str) -> Path:
    """A new empty file in target's folder, with the permissions a plain open() would give.

    mkstemp makes files 0600; a screenshot or recording must be readable like any other file.
    """
    folder = target.parent if str(target.parent) else Path()
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=folder)
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    return Path(temp_name)


@contextlib.contextmanager
def atomic_path(target: Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` if the block succeeds.

    On any exception the temporary file is removed and `target` is left as it was.
    `suffix` keeps the extension for writers that choose a format by it (OpenCV).
    """
    target = Path(target)
    temp = temporary_beside(target, suffix or target.suffix or ".tmp")
    try:
        yield temp
        temp.replace(target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(target: Path, data: bytes) -> None:
    with atomic_path(target) as temp, temp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write_text(target: Path, text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))
