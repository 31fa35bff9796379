"""Hot reload: notice edited files, re-validate them, apply good versions, report bad ones.

Polled: the app's housekeeping thread calls `poll()` (installation.ops.housekeeping), so
the file checks stay off the 60 Hz display loop; the reloader looks at the disk at most
every `interval` seconds. Reloaded values must be applied on the app thread (a preset
swap must not race the renderer), so `hand_over` carries each apply and error report
back there; without it they run at once, on the polling thread (tests drive `poll()`
with an injected clock).

A change is loaded once the file's content has been the same on two looks in a row
(so an editor's half-written save is not reported as broken) and differs from what
was last loaded. Loaded within 2 x interval (0.5 s by default) of the save, applied at the
owner's next tick.
A broken version is reported once through `on_error` (HUD + log) and the last good
value stays in use until the file is fixed.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from engine.errors import DreamwallError
from engine.networks import weights_installed
from installation.common.userfile import read_user_file
from installation.common.yamlfile import MAX_FILE_BYTES
from installation.presets.loader import Preset, PresetLibrary, check_process_size, display_path, load_preset

log = logging.getLogger(__name__)

T = TypeVar("T")
ErrorFn = Callable[[str], None]
HandOver = Callable[[Callable[[], None]], None]
MISSING = "missing"


def fingerprint(paths: Sequence[Path]) -> tuple[str, ...]:
    """Content hash per file (MISSING and the reason for one that cannot be read).

    Hashing the bytes, not trusting mtime+size: two same-size saves within the file
    system's timestamp granularity would otherwise be missed. Presets are a few
    hundred bytes, so reading them four times a second costs nothing. Read like the
    loader reads them (regular files under the YAML cap only): a file replaced by a
    FIFO or a link to /dev/zero must not block or flood the reload thread.
    """
    result = []
    for path in paths:
        try:
            content = read_user_file(path, "watched file", MAX_FILE_BYTES)
            result.append(hashlib.blake2b(content, digest_size=16).hexdigest())
        except DreamwallError as error:
            result.append(f"{MISSING}: {error}")  # a new reason is a change: the load reports it
    return tuple(result)


@dataclass
class _Watch(Generic[T]):
    label: str
    paths: tuple[Path, ...]
    load: Callable[[], T]
    apply: Callable[[T], None]
    loaded: tuple[str, ...]  # fingerprint of the version last loaded (good or bad)
    seen: tuple[str, ...]  # fingerprint at the previous look
    error: str | None = None


@dataclass
class HotReloader:
    """Watches groups of files; each group reloads one value (a preset depends on its file and default.yaml)."""

    on_error: ErrorFn | None = None
    interval: float = 0.25
    clock: Callable[[], float] = time.monotonic
    hand_over: HandOver | None = None  # runs applies and error reports on the owner's thread; None: at once
    _watches: list[_Watch[Any]] = field(default_factory=list)
    _last_look: float | None = None

    def watch(self, paths: Iterable[Path], load: Callable[[], T], apply: Callable[[T], None], label: str = "") -> None:
        """Reload with `load()` and hand the result to `apply` whenever any of `paths` changes.

        The current content counts as loaded: call this after loading the value yourself.
        """
        group = tuple(Path(p) for p in paths)
        now = fingerprint(group)
        self._watches.append(_Watch(label or display_path(group[0]), group, load, apply, now, now))

    @property
    def errors(self) -> dict[str, str]:
        """label -> message for every watched value whose latest edit is broken (for the HUD)."""
        return {w.label: w.error for w in self._watches if w.error is not None}

    def poll(self, now: float | None = None) -> int:
        """Look at the disk if `interval` has passed; returns how many values were applied."""
        moment = self.clock() if now is None else now
        if self._last_look is not None and moment - self._last_look < self.interval:
            return 0
        self._last_look = moment
        applied = 0
        reported: set[str] = set()
        for watch in self._watches:
            current = fingerprint(watch.paths)
            settled = current == watch.seen
            watch.seen = current
            if not settled or current == watch.loaded:
                continue
            watch.loaded = current
            applied += self._reload(watch, reported)
        return applied

    def _reload(self, watch: _Watch[Any], reported: set[str]) -> int:
        try:
            value = watch.load()
        except DreamwallError as error:
            message = str(error)
            watch.error = message
            if message not in reported:  # one broken default.yaml must not be reported per preset
                reported.add(message)
                log.warning("not reloaded, keeping the last good %s: %s", watch.label, message)
                if self.on_error is not None:
                    on_error = self.on_error
                    self._deliver(lambda: on_error(message))
            return 0
        watch.error = None
        self._deliver(lambda: watch.apply(value))
        log.info("reloaded %s", watch.label)
        return 1

    def _deliver(self, job: Callable[[], None]) -> None:
        if self.hand_over is None:
            job()
        else:
            self.hand_over(job)


def watch_presets(
    reloader: HotReloader,
    library: PresetLibrary,
    names: Iterable[str],
    apply: Callable[[Preset], None],
    process_size: tuple[int, int] | None = None,
) -> None:
    """Watch each named preset (its file and default.yaml); `apply` gets each new good version.

    A reloaded version must also run here, as the start made sure of every preset: its
    network's weights must be installed (presets --check reads shapes only) and
    `process_size` (the --process-size override) must suit its network. Otherwise it is
    refused like any broken edit.
    """

    def load(path: Path) -> Preset:
        preset = load_preset(path, library.default_path)  # a deleted file says "file not found"
        if not weights_installed(preset.network):
            raise DreamwallError(
                f"{display_path(path)}: key 'network': {preset.network} weights are not installed here "
                f"(run `python run.py fetch-weights {preset.network}`)"
            )
        if process_size is not None:
            check_process_size(process_size, preset.network, "--process-size:")
        return preset

    for name in names:
        path = library.path(name)
        reloader.watch([path, library.default_path], lambda path=path: load(path), apply, label=f"preset {name}")
