"""The panel as a running service: uvicorn in a daemon thread, the token, the QR code.

Stopping the show sets `should_exit` and the streams' stop flag, then joins the thread
for at most a few seconds: the show's exit never waits long on a phone that keeps a
connection open.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from engine.errors import DreamwallError
from installation.common.logtext import printable
from installation.web.auth import ServedAs, load_token, needs_token, state_dir
from installation.web.routes import Panel
from installation.web.server import LogRing, PanelSource

if TYPE_CHECKING:
    from installation.app.app import App

log = logging.getLogger(__name__)

PROXY_ENV = "DREAMWALL_WEB_PROXY"
NAMES_ENV = "DREAMWALL_WEB_NAMES"


def lan_address() -> str:
    """This machine's address on the network a phone would use (a UDP connect sends no packet)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def panel_url(host: str, port: int, token: str | None) -> str:
    """The address to open: for a wildcard bind, this machine's network address (the phone's view)."""
    shown = lan_address() if host in ("0.0.0.0", "::") else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def qr_rows(url: str) -> tuple[str, ...]:
    """The URL as QR modules, rows of "1"/"0" for the HUD; () without `qrcode`."""
    try:
        import qrcode
    except ImportError:
        return ()
    code = qrcode.QRCode(border=0)
    code.add_data(url)
    return tuple("".join("1" if bit else "0" for bit in row) for row in code.get_matrix())


def print_qr(url: str, out: TextIO) -> bool:
    """The URL (with its token) as a QR code in the terminal, for the phone; False without `qrcode`."""
    try:
        import qrcode
    except ImportError:
        log.info("web panel: no QR code (pip install qrcode)")
        return False
    code = qrcode.QRCode(border=1)
    code.add_data(url)
    code.print_ascii(out=out, invert=True)
    return True


def check_port(host: str, port: int) -> None:
    """Fail in one line before any thread starts when the panel's address cannot be listened on."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind(infos[0][4])
    except OSError as error:
        raise DreamwallError(f"web panel cannot listen on {host}:{port}: {error.strerror or error}") from None


class WebServer:
    """One uvicorn server on its own thread; `close` is safe to call more than once."""

    def __init__(self, panel: Panel, host: str, port: int, proxies: tuple[str, ...] = ()) -> None:
        """`proxies`: the reverse proxies whose X-Forwarded-For names the client (for the rate limit);
        none: the peer's address counts, whatever a client writes in that header."""
        import uvicorn

        self.panel, self.host = panel, host
        # log_config=None: uvicorn's records go to our handlers (one escaped line each), not its own stderr
        config = uvicorn.Config(panel.app(), host=host, port=port, log_level="warning", access_log=False,
                                lifespan="off", timeout_graceful_shutdown=1, log_config=None,
                                proxy_headers=bool(proxies), forwarded_allow_ips=list(proxies))  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="web-panel", daemon=True)
        self.qr: tuple[str, ...] = ()  # set when a token is needed: the HUD shows it to the technician

    @property
    def port(self) -> int:
        """The bound port (the one asked for, or the one the OS chose for port 0)."""
        servers: Any = getattr(self.server, "servers", None) or []
        for server in servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return int(self.server.config.port)

    def start(self, timeout: float = 10.0) -> WebServer:
        self.thread.start()
        waited = threading.Event()
        for _ in range(int(timeout / 0.05)):
            if self.server.started or not self.thread.is_alive():
                break
            waited.wait(0.05)
        if not self.server.started:
            raise DreamwallError(f"web panel could not listen on {self.host}:{self.server.config.port} "
                                 "(port in use or not allowed?)")  # fmt: skip
        return self

    def close(self) -> None:
        self.panel.stopping.set()
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=5.0)


def memory_mb() -> float | None:
    """Resident memory of this process (Linux), for the health list."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def panel_source_for(app: App) -> PanelSource:
    """The app's parts the panel may use: the dispatcher's inbox and the newest values, read-only."""

    def status() -> dict[str, Any] | None:
        shown = app.latest_status.get()
        if shown is None:
            return None
        override = app.director.overrides.feedback  # the slider shows what the dream uses
        feedback = override if override is not None else app.programme.current.feedback
        midi = app.controls.midi
        midi_state = "off" if midi is None else (midi.connected or "waiting for a device")
        return {**shown.as_json(), "memory_mb": memory_mb(), "feedback": round(feedback, 3), "midi": midi_state}

    def frame() -> tuple[int, Any] | None:
        dream = app.worker.latest()
        return (dream.seq, dream.image) if dream is not None else None

    def preset_file(name: str) -> Path | None:
        try:
            return app.library.path(name)
        except DreamwallError:  # removed while the show runs: keep the thumbnail it had
            return None

    names = app.programme.playlist.names()
    return PanelSource(post=app.dispatcher.post, status=status, frame=frame, presets=lambda: list(names),
                       screenshots=app.config.screenshots_dir, preset_file=preset_file,
                       thumbnails=state_dir() / "thumbnails")  # fmt: skip


def env_list(name: str) -> tuple[str, ...]:
    """A comma-separated setting from the environment (the kiosk environment file)."""
    return tuple(item.strip() for item in os.environ.get(name, "").split(",") if item.strip())


def proxy_setting() -> tuple[str, ...]:
    """$DREAMWALL_WEB_PROXY: addresses (or networks) of the reverse proxies in front of the panel.

    Only a request from one of them has its X-Forwarded-For believed; "*" is refused, it would
    let every client choose the address it is rate-limited as.
    """
    proxies = env_list(PROXY_ENV)
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise DreamwallError(f"{PROXY_ENV} must list proxy addresses like 127.0.0.1 or 10.0.0.0/24, "
                                 f"got '{printable(proxy, 60)}'") from None  # fmt: skip
    return proxies


def open_panel(source: PanelSource, host: str, port: int, *, state: Path | None = None,
               out: TextIO | None = None) -> WebServer:  # fmt: skip
    """Start the panel; off 127.0.0.1 with a token (made on first use, logged once, QR printed).

    Read here from the environment: $DREAMWALL_WEB_PROXY (proxy_setting) and $DREAMWALL_WEB_NAMES,
    more host names the panel is served as (a proxy's public name).
    """
    proxies, served = proxy_setting(), ServedAs.bind(host, env_list(NAMES_ENV))
    token = None
    if needs_token(host):
        token, new = load_token(state)
        if new:
            log.warning("web panel token (shown once; rotate with `run.py web-token --rotate`): %s", token)
    logs = LogRing()
    logging.getLogger().addHandler(logs)
    server = WebServer(Panel(source, token, logs, served=served), host, port, proxies).start()
    url = panel_url(host, server.port, token)
    log.info("web panel on %s", panel_url(host, server.port, None))
    if token:
        print_qr(url, out or sys.stderr)
        server.qr = qr_rows(url)
    return server
