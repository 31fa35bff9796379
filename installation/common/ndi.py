"""The NDI runtime, imported here only: the one place that knows the `NDIlib` module (ndi-python).

ndi-python 6.3.2.6 ships the NDI 6 runtime (libndi.so) inside its wheel, so nothing is
downloaded at run time, and it releases the GIL in its blocking calls (send, capture, find:
measured, see README "NDI"), so a sender or a receiver on its own thread never stalls the
dream. It is optional (requirements-ndi.txt): a missing package or a runtime that does not
load is one NdiUnavailable with the fix, raised where NDI was asked for.

Discovery: NDI finds sources by mDNS, plus the addresses in $DREAMWALL_NDI_EXTRA_IPS
(comma-separated), which reach a sender on another subnet, or on this machine where mDNS
does not run (the tests' loopback-only network namespace).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engine.errors import DreamwallError

INSTALL_HINT = "pip install -r requirements-ndi.txt"
EXTRA_IPS_ENV = "DREAMWALL_NDI_EXTRA_IPS"

_lock = threading.Lock()
_module: Any = None


class NdiUnavailable(DreamwallError):
    """NDI was asked for, and the package or its runtime is not there (one line, with the fix)."""


def _import() -> Any:
    import NDIlib

    return NDIlib


def runtime() -> Any:
    """The initialised NDIlib module; NdiUnavailable when the package or its runtime is missing."""
    global _module
    with _lock:
        if _module is not None:
            return _module
        try:
            module = _import()
        except ImportError as error:
            missing = getattr(error, "name", None) == "NDIlib"
            reason = "the ndi-python package is not installed" if missing else f"its runtime does not load: {error}"
            raise NdiUnavailable(f"NDI is not available: {reason} ({INSTALL_HINT})") from None
        except OSError as error:  # libndi.so present but not loadable (wrong architecture, missing libc symbols)
            raise NdiUnavailable(f"NDI is not available: its runtime does not load: {error} ({INSTALL_HINT})") from None
        if not module.is_supported_CPU():
            raise NdiUnavailable("NDI is not available: the NDI runtime does not support this CPU")
        if not module.initialize():
            raise NdiUnavailable("NDI is not available: the NDI runtime failed to initialise")
        _module = module
        return module


def extra_ips() -> str:
    """Addresses the finder asks directly, besides mDNS: $DREAMWALL_NDI_EXTRA_IPS, spaces removed."""
    return ",".join(part.strip() for part in os.environ.get(EXTRA_IPS_ENV, "").split(",") if part.strip())


@dataclass(frozen=True)
class FoundSource:
    """An NDI source as a finder lists it: 'HOST (STREAM)' and where it answers (HOST:PORT)."""

    name: str
    address: str

    @property
    def stream(self) -> str:
        """The sender's own name: 'Dreamwall' in 'STAGE-PC (Dreamwall)'."""
        name = self.name
        return name[name.find("(") + 1:-1] if name.endswith(")") and "(" in name else name


@contextlib.contextmanager
def finder() -> Iterator[Any]:
    """An NDI finder (mDNS + the extra addresses), destroyed after use."""
    ndi = runtime()
    settings = ndi.FindCreate()
    settings.show_local_sources = True
    ips = extra_ips()
    if ips:
        settings.extra_ips = ips
    instance = ndi.find_create_v2(settings)
    if instance is None:
        raise NdiUnavailable("NDI is not available: the NDI runtime could not make a finder")
    try:
        yield instance
    finally:
        ndi.find_destroy(instance)


def current_sources(instance: Any) -> list[FoundSource]:
    return [FoundSource(source.ndi_name, source.url_address or "")
            for source in runtime().find_get_current_sources(instance)]  # fmt: skip


def discover(timeout: float, until: Any = None) -> list[FoundSource]:
    """The sources found within `timeout` seconds; sooner once `until(sources)` is true."""
    ndi = runtime()
    deadline = time.monotonic() + timeout
    with finder() as instance:
        sources = current_sources(instance)
        while not (until is not None and until(sources)):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ndi.find_wait_for_sources(instance, max(1, int(min(left, 0.5) * 1000)))  # wakes on a change
            sources = current_sources(instance)
        return sorted(sources, key=lambda source: source.name)
