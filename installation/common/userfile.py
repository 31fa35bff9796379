"""The one way to read a file a person named or edited: presets, playlists, bindings, guides, pictures.

A path can name something that is not a file: a FIFO (whose read waits for a writer
that never comes), /dev/zero or /dev/urandom (endless), a folder, a socket. A running
show that reads such a thing on hot reload would freeze its reload thread or eat its
memory. So every read here is refused before it starts unless the path (symlinks
followed) is a regular file no bigger than the caller's cap; the check is made on the
path and again on the opened descriptor (opened non-blocking, so even a FIFO swapped in
between cannot block), and no more than the cap is ever read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engine.errors import DreamwallError, excerpt

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def display_path(path: Path) -> str:
    """The path as a person would type it (relative to the working folder when inside it), escaped.

    A file name may hold a newline or an ANSI escape: shown escaped, a message stays one line.
    """
    try:
        text = str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        text = str(path)
    return excerpt(text, None)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _refuse_irregular(path: Path, info: os.stat_result, what: str) -> None:
    if stat.S_ISREG(info.st_mode):
        return
    link = f" (a link to {excerpt(os.path.realpath(path), None)})" if path.is_symlink() else ""
    raise DreamwallError(f"{display_path(path)}{link} is {_kind(info.st_mode)}; a {what} must be a regular file")


def _refuse_size(path: Path, size: int, what: str, max_bytes: int, at_least: bool = False) -> None:
    if size > max_bytes:
        many = "at least " if at_least else ""
        raise DreamwallError(
            f"{display_path(path)}: file is {many}{size} bytes, a {what} file must be under {max_bytes}"
        )


def check_regular_file(path: Path, what: str) -> os.stat_result:
    """The path's stat (symlinks followed) when it is a regular file; a one-line DreamwallError otherwise.

    For readers that open the file themselves (ffmpeg, OpenCV): they would block on a FIFO.
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise DreamwallError(f"{display_path(path)}: file not found") from None
    except OSError as error:
        raise DreamwallError(f"{display_path(path)}: cannot read: {error.strerror or error}") from None
    _refuse_irregular(path, info, what)
    return info


def read_user_file(path: Path, what: str, max_bytes: int) -> bytes:
    """All bytes of a regular file of at most `max_bytes`; never blocks, never reads past the cap.

    `what` names the file in errors ("preset", "guide image"): 'a preset must be a regular file'.
    """
    path = Path(path)
    _refuse_size(path, check_regular_file(path, what).st_size, what, max_bytes)
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise DreamwallError(f"{display_path(path)}: file not found") from None
    except OSError as error:
        raise DreamwallError(f"{display_path(path)}: cannot read: {error.strerror or error}") from None
    try:
        info = os.fstat(descriptor)  # what was opened, in case the path changed since the check
        _refuse_irregular(path, info, what)
        _refuse_size(path, info.st_size, what, max_bytes)
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes:  # a file still growing stops one byte past the cap
            chunk = os.read(descriptor, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        _refuse_size(path, total, what, max_bytes, at_least=True)
        return b"".join(chunks)
    except OSError as error:
        raise DreamwallError(f"{display_path(path)}: cannot read: {error.strerror or error}") from None
    finally:
        os.close(descriptor)
