"""Which backend computes the live dream's gradient, chosen per preset and cached per network.

The worker calls the chooser (its gradient factory) on its own thread whenever the
settings or the processing size change. A preset asking for a backend this machine
cannot run falls back to eager torch with a notice: the show never stops for it. Only
an explicit `--backend` on the command line is checked up front (exit 2).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import torch

from engine.backends import AUTO, BACKENDS, Backend, missing, select_backend
from engine.errors import DreamwallError, unknown_name
from engine.networks import DreamNet
from engine.objectives import Objective
from engine.step import GradientFn

log = logging.getLogger(__name__)


def check_backend_here(name: str, device: torch.device | str) -> None:
    """For --backend: unknown names get a suggestion, unavailable ones name what is missing."""
    if name == AUTO:
        return
    if name not in BACKENDS:
        raise unknown_name("backend", name, (AUTO, *BACKENDS))
    reason = missing(name, device)
    if reason is not None:
        raise DreamwallError(f"backend '{name}' cannot run here: {reason}")


class BackendChooser:
    """Gradient factory for DreamWorker: (net, objective, size) -> gradient function."""

    def __init__(
        self,
        override: str | None = None,
        store: object | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.override = override
        self.wanted = AUTO  # the current preset's choice; the app sets it before new settings
        self.compute: str | None = None  # the current placement's arithmetic (bf16 keeps fp32 weights)
        self._store = store
        self._notify = notify
        self._backends: dict[tuple[str, str, torch.device, torch.dtype, str | None, tuple[int, int]],
                             tuple[Backend, str]] = {}  # fmt: skip
        self._lock = threading.Lock()
        self.name = "torch"
        self.reason = "not chosen yet"

    def __call__(self, net: DreamNet, objective: Objective, size: tuple[int, int]) -> GradientFn:
        wanted = self.override or self.wanted
        parameter = next(net.parameters())  # the network lives where the show runs
        device = parameter.device
        compute = self.compute
        key = (wanted, net.name, device, parameter.dtype, compute, size)
        with self._lock:
            cached = self._backends.get(key)
        if cached is None:
            cached = self._select(wanted, net, objective, size, device, compute)
            with self._lock:
                self._backends[key] = cached
        else:
            cached[0].set_objective(objective)
        backend, reason = cached
        note = backend.note
        self.name, self.reason = backend.name, f"{reason}; {note}" if note and note not in reason else reason
        return backend.gradient

    def _select(self, wanted: str, net: DreamNet, objective: Objective, size: tuple[int, int],
                device: torch.device, compute: str | None) -> tuple[Backend, str]:  # fmt: skip
        try:
            return select_backend(wanted, net, objective, size, device, self._store, compute)  # type: ignore[arg-type]
        except DreamwallError as error:
            message = f"backend {wanted} unavailable ({error}); using torch"
            log.warning("%s", message)
            if self._notify is not None:
                self._notify(message)
            return select_backend("torch", net, objective, size, device, compute=compute)
