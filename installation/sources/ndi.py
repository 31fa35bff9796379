"""`--source ndi:NAME` / `--source ndi://HOST:PORT`: a rig's NDI feed as the camera.

An NdiSource is a FrameSource like any other (open / read / close), so the capture thread
reads it (newest frame wins), reconnects with backoff when the sender goes and badges the
loss. `ndi:NAME` finds the source by a part of its name ('Resolume' finds
'STAGE-PC (Resolume Arena)'), found again at each reconnect; `ndi://HOST:PORT` connects
straight to that address, without discovery. At the show's start (check_ndi_source) an
unknown name (with a did-you-mean over the sources found) or an address where no sender
answers is one line, exit 2; later losses are reconnects, never the end of the show.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from engine.errors import DreamwallError, did_you_mean, excerpt
from installation.common.ndi import EXTRA_IPS_ENV, FoundSource, discover, runtime

log = logging.getLogger(__name__)

PREFIX = "ndi:"
URL_PREFIX = "ndi://"
START_FIND_S = 3.0  # at the start: how long discovery may look for the named source
RECONNECT_FIND_S = 1.0  # on a reconnect (the capture thread backs off between tries)
READ_TIMEOUT_S = 2.0  # a feed silent this long fails the read: the capture reconnects and badges it
CAPTURE_SLICE_MS = 250  # one wait inside the runtime; close() waits at most this long for a read
TO_RGB = {"RGBX": cv2.COLOR_RGBA2RGB, "RGBA": cv2.COLOR_RGBA2RGB, "BGRX": cv2.COLOR_BGRA2RGB,
          "BGRA": cv2.COLOR_BGRA2RGB, "UYVY": cv2.COLOR_YUV2RGB_UYVY}  # fmt: skip
EXAMPLES = "e.g. --source ndi:Resolume or --source ndi://192.168.1.20:5961"


def is_ndi_spec(spec: str) -> bool:
    return spec.strip().lower().startswith(PREFIX)


@dataclass(frozen=True)
class NdiSpec:
    """A name pattern (found by discovery) or a HOST:PORT address (connected to directly)."""

    pattern: str | None = None
    address: str | None = None

    @property
    def description(self) -> str:
        return f"NDI {URL_PREFIX}{self.address}" if self.address else f"NDI '{self.pattern}'"


def parse_ndi_spec(spec: str) -> NdiSpec:
    text = spec.strip()
    if text.lower().startswith(URL_PREFIX):
        host, colon, port = text[len(URL_PREFIX):].rpartition(":")
        host = host.strip("[]")  # [::1]:5961
        if not colon or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise DreamwallError(f"source {excerpt(text)!r}: expected ndi://HOST:PORT with a port 1-65535, "
                                 f"{EXAMPLES}")  # fmt: skip
        return NdiSpec(address=f"[{host}]:{int(port)}" if ":" in host else f"{host}:{int(port)}")
    pattern = text[len(PREFIX):].strip()
    if not pattern:
        raise DreamwallError(f"source {excerpt(text)!r}: expected a part of an NDI source's name, {EXAMPLES}")
    return NdiSpec(pattern=pattern)


def matching(pattern: str, sources: list[FoundSource]) -> list[FoundSource]:
    """The sources `pattern` names: exactly (full or stream name) if any does, else containing it; any case."""
    wanted = pattern.casefold()
    exact = [s for s in sources if wanted in (s.name.casefold(), s.stream.casefold())]
    return exact or [s for s in sources if wanted in s.name.casefold()]


def _listed(sources: list[FoundSource]) -> str:
    return ", ".join(f"'{excerpt(source.name)}'" for source in sources)


def unmatched(pattern: str, sources: list[FoundSource], seconds: float) -> DreamwallError:
    """The one line for a name no source answers to: the closest name, and what was found."""
    if not sources:
        return DreamwallError(f"no NDI source matches '{excerpt(pattern)}': none found within {seconds:g} s (is "
                              f"the sender on, on this network? ${EXTRA_IPS_ENV} adds addresses to ask)")  # fmt: skip
    by_stream = {source.stream: source.name for source in sources}
    hint = did_you_mean(pattern, list(by_stream) + [source.name for source in sources])
    for stream, name in by_stream.items():
        hint = hint.replace(f"'{stream}'", f"'{name}'")
    return DreamwallError(f"no NDI source matches '{excerpt(pattern)}'{hint}; found: {_listed(sources)}")


class NdiSource:
    """Receives one NDI source as RGB frames; the newest queued frame is taken, older ones skipped."""

    def __init__(self, spec: NdiSpec, find_s: float = RECONNECT_FIND_S, read_timeout_s: float = READ_TIMEOUT_S) -> None:
        self.spec = spec
        self.description = spec.description
        self._find_s = find_s
        self._read_timeout_s = read_timeout_s
        self._lock = threading.Lock()  # a receive and the receiver's destruction never overlap
        self._receiver: Any = None
        self.connected_to: str | None = None

    def open(self) -> None:
        ndi = runtime()
        self.close()
        source, name = self._target(ndi)
        settings = ndi.RecvCreateV3()
        settings.color_format = ndi.RECV_COLOR_FORMAT_RGBX_RGBA
        settings.bandwidth = ndi.RECV_BANDWIDTH_HIGHEST
        settings.allow_video_fields = False
        receiver = ndi.recv_create_v3(settings)
        if receiver is None:
            raise ConnectionError(f"{self.description}: the NDI runtime could not make a receiver")
        ndi.recv_connect(receiver, source)
        with self._lock:
            self._receiver = receiver
        if name != self.connected_to:
            log.info("%s: receiving '%s'", self.description, name)
        self.connected_to = name

    def _target(self, ndi: Any) -> tuple[Any, str]:
        source = ndi.Source()
        if self.spec.address is not None:
            source.url_address = self.spec.address
            return source, self.spec.address
        pattern = self.spec.pattern or ""
        found = matching(pattern, discover(self._find_s, until=lambda now: bool(matching(pattern, now))))
        if not found:
            raise ConnectionError(f"no NDI source matches '{excerpt(pattern)}' now")
        source.ndi_name, source.url_address = found[0].name, found[0].address
        return source, found[0].name

    def read(self) -> np.ndarray | None:
        """The newest frame within the read timeout, as RGB; None when the sender was silent that long."""
        ndi = runtime()
        deadline = time.monotonic() + self._read_timeout_s
        newest: np.ndarray | None = None
        while newest is None and time.monotonic() < deadline:
            newest = self._capture(ndi, CAPTURE_SLICE_MS)
        while newest is not None:  # frames queued while the dream was busy: only the last one is wanted
            queued = self._capture(ndi, 0)
            if queued is None:
                break
            newest = queued
        return newest

    def _capture(self, ndi: Any, timeout_ms: int) -> np.ndarray | None:
        with self._lock:
            receiver = self._receiver
            if receiver is None:
                raise ConnectionError(f"{self.description} is not open")
            kind, video, _, _ = ndi.recv_capture_v2(receiver, timeout_ms)
            if kind != ndi.FRAME_TYPE_VIDEO:
                return None
            try:
                return self._to_rgb(ndi, video)
            finally:
                ndi.recv_free_video_v2(receiver, video)

    @staticmethod
    def _to_rgb(ndi: Any, video: Any) -> np.ndarray:
        fourcc = ndi.FourCCVideoType(video.FourCC).name.rsplit("_", 1)[-1]
        code = TO_RGB.get(fourcc)
        if code is None:
            raise ConnectionError(f"NDI frame in {fourcc}, which this receiver does not convert")
        data = video.data  # (height, width, bytes per pixel) over the runtime's buffer: converted into our own
        if fourcc == "UYVY":
            data = data[:, :, :2]
        return cv2.cvtColor(np.ascontiguousarray(data), code)

    def close(self) -> None:
        """Idempotent; waits at most one capture slice for a read in progress."""
        with self._lock:
            receiver, self._receiver = self._receiver, None
        if receiver is not None:
            runtime().recv_destroy(receiver)


def ndi_source(spec: str) -> NdiSource:
    """The source for `--source ndi:...` (not opened); NdiUnavailable (one line) without the NDI runtime."""
    parsed = parse_ndi_spec(spec)
    runtime()
    return NdiSource(parsed)


def check_ndi_source(spec: str, find_s: float = START_FIND_S) -> str:
    """At the start: the name of the source `spec` reaches, or one line (DreamwallError) saying why none."""
    parsed = parse_ndi_spec(spec)
    if parsed.address is not None:
        host = parsed.address.rpartition(":")[0].strip("[]")
        try:
            socket.getaddrinfo(host, None)
        except (socket.gaierror, UnicodeError) as error:
            raise DreamwallError(f"source {URL_PREFIX}{parsed.address}: unknown host ({error})") from None
        probe = NdiSource(parsed, read_timeout_s=find_s)
        try:
            probe.open()
            frame = probe.read()
        except ConnectionError as error:
            raise DreamwallError(f"source {URL_PREFIX}{parsed.address}: {error}") from None
        finally:
            probe.close()
        if frame is None:
            raise DreamwallError(f"source {URL_PREFIX}{parsed.address}: no NDI sender answered within {find_s:g} s "
                                 "(is it on, and is that its address and port?)")  # fmt: skip
        return parsed.address
    pattern = parsed.pattern or ""
    sources = discover(find_s, until=lambda now: bool(matching(pattern, now)))
    found = matching(pattern, sources)
    if not found:
        raise unmatched(pattern, sources, find_s)
    if len(found) > 1:
        raise DreamwallError(f"ndi:{excerpt(pattern)} matches {len(found)} NDI sources: {_listed(found)}; "
                             "give more of the name")  # fmt: skip
    return found[0].name
