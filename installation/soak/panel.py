"""The soak's panel visitor: a phone on the web panel, and a few requests that must be refused.

One thread, one request at a time, a fixed number per round, to 127.0.0.1 only. It uses
the panel as the page does (the panel's own Host, the token header on every change) for
state changes whose effect it checks in /api/state, reads the preview and event streams
for a few frames, and sends bad requests: malformed or deeply nested JSON, unknown
actions, a foreign Host or Origin, no token header, an oversized body. The judge fails on
any 5xx, a bad request answered 2xx or obeyed, a good one refused, and a panel that stops
answering.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from installation.web.auth import TOKEN_HEADER

TIMEOUT_S = 5.0        # a request unanswered this long: the panel stopped answering
EFFECT_S = 3.0         # a state change must show in /api/state within this
STREAM_FRAMES = 3      # preview frames read per stream visit (asleep: the one black frame)
STREAM_S = 3.0         # ... for at most this long
STREAM_EVERY = 4       # rounds between stream visits
EXAMPLES = 5           # failures kept word for word per kind; the rest are counted
FOREIGN = "evil.example"


@dataclass(frozen=True)
class Probe:
    """A request that must be refused (4xx); `freezes`: its body asks for a freeze, so obeying shows."""

    name: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    path: str = "/api/action"
    drop: tuple[str, ...] = ()  # good headers this probe leaves out
    freezes: bool = False


FREEZE = b'{"kind": "freeze"}'
BAD_PROBES: tuple[Probe, ...] = (
    Probe("malformed JSON", b'{"kind": "next"'),
    Probe("4000 nested '['", b"[" * 4000),
    Probe("unknown action", b'{"kind": "explode"}'),
    Probe("an action the panel does not offer", b'{"kind": "quit"}'),
    Probe("intensity out of range", b'{"kind": "intensity", "value": 5}'),
    Probe("not UTF-8", b'{"kind": "\xff\xfe"}'),
    Probe("oversized body", b'{"kind": "freeze", "pad": "' + b"x" * 8000 + b'"}', freezes=True),
    Probe("foreign Host", FREEZE, {"Host": f"{FOREIGN}:80"}, freezes=True),
    Probe("foreign Origin", FREEZE, {"Origin": f"http://{FOREIGN}"}, freezes=True),
    Probe("no token header", FREEZE, drop=(TOKEN_HEADER,), freezes=True),
    Probe("foreign Host on a read", b"", {"Host": FOREIGN}, method="GET", path="/api/state"),
)  # fmt: skip


@dataclass
class Tally:
    """A count and the first few examples word for word."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(text)


@dataclass
class PanelReport:
    requests: int = 0
    good: int = 0                 # answered 2xx as they should
    refused: int = 0              # bad requests refused with a 4xx as they should
    state_changes: int = 0        # changes whose effect was seen in /api/state
    stream_frames: int = 0
    events: int = 0
    server_errors: Tally = field(default_factory=Tally)   # any 5xx
    obeyed: Tally = field(default_factory=Tally)          # a bad request answered 2xx or obeyed
    refused_good: Tally = field(default_factory=Tally)    # a good request answered otherwise
    unanswered: Tally = field(default_factory=Tally)      # timeouts, refused connections
    not_applied: Tally = field(default_factory=Tally)     # a good change never showed in the state

    def as_json(self) -> dict[str, Any]:
        plain = {k: v for k, v in vars(self).items() if not isinstance(v, Tally)}
        return {**plain, **{k: {"count": v.count, "examples": v.examples} for k, v in vars(self).items()
                            if isinstance(v, Tally)}}  # fmt: skip


class PanelClient:
    """Visits the panel every `every_s` until `stop`; `calm()` says when sleep/wake and freeze are safe."""

    def __init__(self, port: int, token: str | None, stop: threading.Event, calm: Callable[[], bool],
                 every_s: float = 2.0, host: str = "127.0.0.1") -> None:  # fmt: skip
        self._host, self._port, self._token = host, port, token
        self._stop, self._calm, self._every_s = stop, calm, every_s
        self.report = PanelReport()
        self._quick = itertools.cycle((self._next, self._previous, self._intensity))
        self._pairs = itertools.cycle((("freeze", "freeze", "frozen"), ("sleep", "wake", "asleep")))
        self._probes = itertools.cycle(BAD_PROBES)
        self.thread = threading.Thread(target=self._run, name="soak-panel", daemon=True)

    # ---- one request --------------------------------------------------------------------------

    def _headers(self, extra: dict[str, str] | None = None, drop: tuple[str, ...] = ()) -> dict[str, str]:
        headers = {"Content-Type": "application/json", TOKEN_HEADER: self._token or "local"}
        headers.update(extra or {})
        return {k: v for k, v in headers.items() if k not in drop}

    def _request(self, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> tuple[int, bytes] | None:  # fmt: skip
        """(status, body), or None when the panel did not answer (counted)."""
        self.report.requests += 1
        connection = http.client.HTTPConnection(self._host, self._port, timeout=TIMEOUT_S)
        try:
            connection.request(method, path, body=body, headers=headers or self._headers())
            response = connection.getresponse()
            status, data = response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            self.report.unanswered.add(f"{method} {path}: {error.__class__.__name__}: {error}")
            return None
        finally:
            connection.close()
        if status >= 500:
            self.report.server_errors.add(f"{method} {path} answered {status}: {data[:120]!r}")
        return status, data

    def _good(self, method: str, path: str, body: bytes | None = None) -> bytes | None:
        answer = self._request(method, path, body)
        if answer is None:
            return None
        status, data = answer
        if 200 <= status < 300:
            self.report.good += 1
            return data
        if status < 500:
            self.report.refused_good.add(f"{method} {path} {body!r} answered {status}: {data[:120]!r}")
        return None

    def state(self) -> dict[str, Any] | None:
        data = self._good("GET", "/api/state")
        if data is None:
            return None
        try:
            status = json.loads(data)["status"]
        except (ValueError, KeyError, TypeError):
            self.report.refused_good.add(f"GET /api/state answered no status: {data[:120]!r}")
            return None
        return status if isinstance(status, dict) else None

    def post(self, kind: str, value: Any = None) -> bool:
        body = {"kind": kind} if value is None else {"kind": kind, "value": value}
        return self._good("POST", "/api/action", json.dumps(body).encode()) is not None

    # ---- what a visitor does ------------------------------------------------------------------

    def _next(self) -> None:
        self.post("next")

    def _previous(self) -> None:
        self.post("previous")

    def _intensity(self) -> None:
        self.post("intensity", 0.5)

    def _wait_state(self, key: str, wanted: bool) -> bool:
        deadline = time.monotonic() + EFFECT_S
        while not self._stop.is_set():
            status = self.state()
            if status is not None and bool(status.get(key)) == wanted:
                return True
            if time.monotonic() >= deadline:
                return False
            self._stop.wait(0.2)
        return True  # stopping: not the panel's fault

    def pair(self, on: str, off: str, key: str) -> None:
        """freeze/unfreeze or sleep/wake: each half must show in /api/state, and the show ends as it began."""
        for action, wanted in ((on, True), (off, False)):
            if not self.post(action):
                return
            if not self._wait_state(key, wanted):
                self.report.not_applied.add(f"'{action}' from the panel: {key} did not become {wanted} "
                                            f"within {EFFECT_S:g} s")  # fmt: skip
                return
            self.report.state_changes += 1

    def probe(self, probe: Probe) -> None:
        headers = self._headers(probe.headers, probe.drop)
        answer = self._request(probe.method, probe.path, probe.body or None, headers)
        if answer is None:
            return
        status, data = answer
        answered_yes = 200 <= status < 300
        if answered_yes:
            self.report.obeyed.add(f"{probe.name}: answered {status}: {data[:120]!r}")
        elif status < 500:
            self.report.refused += 1
        if probe.freezes and not self._stop.wait(0.5):
            shown = self.state()
            if shown is not None and shown.get("frozen") and not shown.get("asleep"):
                if not answered_yes:
                    self.report.obeyed.add(f"{probe.name}: refused with {status}, but the show froze")
                self.post("freeze")  # thaw it, so the rest of the soak still watches a running show

    def streams(self) -> None:
        """The preview for a few frames and one server-sent event, as the page reads them."""
        self.report.stream_frames += self._read_stream("/api/preview.mjpg", b"--frame", STREAM_FRAMES)
        self.report.events += self._read_stream("/api/events", b"data: ", 1)
        self._good("GET", "/")

    def _read_stream(self, path: str, marker: bytes, wanted: int) -> int:
        """How many `marker`s arrived (up to `wanted`, within STREAM_S); none at all is a failure."""
        self.report.requests += 1
        connection = http.client.HTTPConnection(self._host, self._port, timeout=STREAM_S)
        seen, buffer = 0, b""
        deadline = time.monotonic() + STREAM_S
        try:
            connection.request("GET", path, headers=self._headers())
            response = connection.getresponse()
            if response.status != 200:
                tally = self.report.server_errors if response.status >= 500 else self.report.refused_good
                tally.add(f"GET {path} answered {response.status}")
                return 0
            while seen < wanted and time.monotonic() < deadline:
                chunk = response.read1(65536)
                if not chunk:
                    break
                buffer = buffer[1 - len(marker):] + chunk  # a marker split across reads counts once
                seen = min(wanted, seen + buffer.count(marker))
        except (OSError, http.client.HTTPException) as error:
            if seen == 0:
                self.report.unanswered.add(f"GET {path}: {error.__class__.__name__}: {error}")
        finally:
            connection.close()
        if seen == 0:
            self.report.unanswered.add(f"GET {path}: nothing streamed in {STREAM_S:g} s")
        return seen

    def round(self, number: int) -> None:
        """One visit: the state, a change (a checked pair when calm), a bad request, now and then the streams."""
        self.state()
        if self._calm() and number % 2 == 0:
            self.pair(*next(self._pairs))
        else:
            next(self._quick)()
        self.probe(next(self._probes))
        if number % STREAM_EVERY == 0:
            self.streams()

    def _run(self) -> None:
        for number in itertools.count():
            if self._stop.wait(self._every_s):
                return
            self.round(number)

    def close(self) -> None:
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=2 * TIMEOUT_S + EFFECT_S)


@dataclass(frozen=True)
class PanelJudgement:
    failures: list[str]
    figures: dict[str, Any]


def judge_panel(report: PanelReport) -> PanelJudgement:
    """Fail on a 5xx, a bad request obeyed, a good one refused or not applied, and silence."""
    failures: list[str] = []
    kinds = (("server_errors", "answer(s) 5xx"), ("obeyed", "bad request(s) obeyed"),
             ("refused_good", "good request(s) refused"), ("not_applied", "state change(s) not applied"),
             ("unanswered", "request(s) unanswered"))  # fmt: skip
    for key, words in kinds:
        tally: Tally = getattr(report, key)
        if tally.count:
            failures.append(f"panel: {tally.count} {words}, e.g. {'; '.join(tally.examples[:2])}")
    if report.requests == 0:
        failures.append("panel: no request was made (was the panel started?)")
    elif report.refused == 0:
        failures.append("panel: no bad request was refused with a 4xx")
    figures = {"panel_requests": report.requests, "panel_good": report.good, "panel_refused": report.refused,
               "panel_state_changes": report.state_changes, "panel_stream_frames": report.stream_frames}
    return PanelJudgement(failures, figures)
