"""Who may use the panel: the token on a gallery network, and a rate limit for everyone.

Bound to 127.0.0.1 the panel needs no token (only this machine can reach it). Bound to
anything else every request needs the token, whatever the client's address: a reverse
proxy on the same machine makes every client look local. Either way the panel answers only
the host names it is served as (ServedAs), and the token file is a regular file of the
user's own, never followed through a symlink.
"""

from __future__ import annotations

import errno
import hmac
import ipaddress
import logging
import os
import re
import secrets
import socket
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from engine.errors import DreamwallError
from installation.common.atomic import atomic_path

log = logging.getLogger(__name__)

TOKEN_FILE = "web-token"
TOKEN_HEADER = "x-dreamwall-token"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
TOKEN_CAP = 512  # bytes read from the token file at most
TOKEN_TEXT = re.compile(r"[A-Za-z0-9_-]{16,512}")  # what token_urlsafe makes: safe in a URL and a header


def state_dir() -> Path:
    """Where the token lives: $DREAMWALL_STATE_DIR, else $XDG_STATE_HOME/dreamwall, else ~/.local/state/dreamwall."""
    explicit = os.environ.get("DREAMWALL_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "dreamwall"


def needs_token(host: str) -> bool:
    return host not in LOCAL_HOSTS


def _normal(host: str) -> str:
    """One spelling per host: lower case, no trailing dot, an IP address in its compressed form."""
    host = host.lower().rstrip(".")
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        return host


def host_of(authority: str) -> str | None:
    """'Kiosk.local:8080' -> 'kiosk.local', '[::1]:80' -> '::1'; None when it is not HOST[:PORT]."""
    try:
        parts = urlsplit("//" + authority)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number in range)
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.path or parts.query or parts.fragment:
        return None
    return _normal(parts.hostname)


@dataclass(frozen=True)
class ServedAs:
    """The names the panel is served as. A Host header outside them is a DNS-rebinding attempt: a
    foreign page whose name was re-pointed at this machine, whose browser would otherwise let it
    drive the token-free loopback panel. An IP address cannot be rebound, so a wildcard bind (served
    on every address of the machine) accepts any address, but names only from the list."""

    names: frozenset[str]
    any_address: bool = False

    @classmethod
    def bind(cls, host: str, extra: Iterable[str] = ()) -> ServedAs:
        """Loopback names, the bound host and its addresses, `extra` (a proxy's public name); a wildcard
        bind adds this machine's name (and its mDNS .local name)."""
        names = {*LOCAL_HOSTS, host, *extra}
        wildcard = host in WILDCARD_HOSTS
        if wildcard:
            names |= {socket.gethostname(), socket.gethostname() + ".local"}
        else:
            try:
                names |= {str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
            except (OSError, UnicodeError):  # check_port already said whether it resolves
                pass
        return cls(frozenset(_normal(name) for name in names if name), any_address=wildcard)

    def host_allowed(self, header: str | None) -> bool:
        host = host_of(header or "")
        if host is None:
            return False
        if host in self.names:
            return True
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
        return self.any_address

    def origin_allowed(self, origin: str | None, host_header: str) -> bool:
        """A browser's Origin on a state change: absent (not a browser) or this very page's scheme://Host."""
        if origin is None:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc.lower() == host_header.lower() and \
            self.host_allowed(parts.netloc)


def _refuse(path: Path, problem: str, remedy: str = "look at what put it there, remove it") -> DreamwallError:
    return DreamwallError(f"web token {path} {problem}; expected a regular file of yours ({remedy})")


def _read_token_file(path: Path) -> bytes | None:
    """The token file's bytes, None when there is none yet; a symlink, a folder, another user's file is refused.

    Opened with O_NOFOLLOW and checked on the open descriptor (not the name, which could be
    swapped between a check and a use); O_NONBLOCK so that a FIFO planted there cannot hang us.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _refuse(path, "is a symlink (its target would be printed as the token)") from None
        raise DreamwallError(f"cannot read the web token {path}: {error.strerror or error}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _refuse(path, "is a folder")
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(path, "is not a regular file")
        if info.st_uid != os.geteuid():
            raise _refuse(path, f"belongs to user id {info.st_uid}, not to you ({os.geteuid()})")
        data = os.read(fd, TOKEN_CAP + 1)  # a regular file: one read holds it all
        if info.st_mode & 0o077:
            os.fchmod(fd, 0o600)  # someone loosened it: tighten, the token is a key
    finally:
        os.close(fd)
    return data


def _token_text(path: Path, data: bytes) -> str | None:
    """The token in the file's bytes; None for an empty file (a new one is made)."""
    try:
        token = data.decode("ascii").strip()
    except UnicodeDecodeError:
        token = None
    if token is None or len(data) > TOKEN_CAP or (token and not TOKEN_TEXT.fullmatch(token)):
        raise _refuse(path, f"does not hold a token (16 to {TOKEN_CAP} letters, digits, '-' or '_')",
                      "`run.py web-token --rotate` writes a new one")  # fmt: skip
    return token or None


def _not_a_folder(folder: Path) -> DreamwallError:
    return DreamwallError(f"state folder {folder} is not a folder; expected a folder for the web token "
                          "(set DREAMWALL_STATE_DIR to another place)")  # fmt: skip


def _state_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except (FileExistsError, NotADirectoryError):
        raise _not_a_folder(folder) from None
    except OSError as error:
        raise DreamwallError(f"cannot make the state folder {folder}: {error.strerror or error}") from None


def _write_token(path: Path) -> str:
    """A new token, 0600 from its first byte: a fresh O_EXCL|O_NOFOLLOW temp file renamed over the name."""
    token = secrets.token_urlsafe(24)
    _state_folder(path.parent)
    try:
        with atomic_path(path) as temp:
            fd = os.open(temp, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                os.fchmod(fd, 0o600)  # before the token is in it
                handle.write(token + "\n")
                handle.flush()
                os.fsync(fd)
    except OSError as error:
        raise DreamwallError(f"cannot write the web token in {path.parent}: {error.strerror or error}") from None
    return token


def load_token(folder: Path | None = None, *, rotate: bool = False) -> tuple[str, bool]:
    """(token, new): read the stored one, or make one on first use (or when rotating).

    A symlink, a folder or another user's file at the token's name is refused, rotating too:
    something put it there, and the technician should look before it is replaced.
    """
    folder = folder or state_dir()
    if folder.exists() and not folder.is_dir():
        raise _not_a_folder(folder)
    path = folder / TOKEN_FILE
    data = _read_token_file(path)  # checked when rotating too: a symlink there is someone's doing
    token = None if data is None or rotate else _token_text(path, data)
    if token is not None:
        return token, False
    return _write_token(path), True


def token_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time compare (no timing leak of how many leading characters were right)."""
    if expected is None:
        return True
    if not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


class RateLimit:
    """A token bucket per client: `burst` requests at once, then `per_s` a second; never sleeps."""

    def __init__(self, per_s: float = 20.0, burst: int = 40, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_s, self.burst, self.clock = per_s, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, client: str) -> bool:
        now = self.clock()
        tokens, then = self._buckets.get(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.per_s)
        if len(self._buckets) > 1000:  # a scan from many addresses must not grow this without end
            self._buckets.clear()
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            return False
        self._buckets[client] = (tokens - 1.0, now)
        return True
