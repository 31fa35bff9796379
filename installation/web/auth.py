"""Who may use the panel: the token on a gallery network, and a rate limit for everyone.

Bound to 127.0.0.1 the panel needs no token (only this machine can reach it). Bound to
anything else every request needs the token, whatever the client's address: a reverse
proxy on the same machine makes every client look local.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from installation.common.atomic import atomic_write_text

log = logging.getLogger(__name__)

TOKEN_FILE = "web-token"
TOKEN_HEADER = "x-dreamwall-token"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def state_dir() -> Path:
    """Where the token lives: $DREAMWALL_STATE_DIR, else $XDG_STATE_HOME/dreamwall, else ~/.local/state/dreamwall."""
    explicit = os.environ.get("DREAMWALL_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "dreamwall"


def needs_token(host: str) -> bool:
    return host not in LOCAL_HOSTS


def _write_token(path: Path) -> str:
    token = secrets.token_urlsafe(24)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    old = os.umask(0o077)  # the temp file is 0600 from its first byte, before the rename
    try:
        atomic_write_text(path, token + "\n")
    finally:
        os.umask(old)
    path.chmod(0o600)
    return token


def load_token(folder: Path | None = None, *, rotate: bool = False) -> tuple[str, bool]:
    """(token, new): read the stored one, or make one on first use (or when rotating)."""
    path = (folder or state_dir()) / TOKEN_FILE
    if not rotate and path.is_file():
        token = path.read_text().strip()
        if token:
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)  # someone loosened it: tighten, the token is a key
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
