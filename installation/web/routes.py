"""The panel's routes and the one guard every request passes: rate limit, token, CSRF header.

GET requests (the page, the stream, the preview) may carry the token as ?token= because an
<img> or an EventSource cannot set headers; a state change is a POST and must carry it in
the X-Dreamwall-Token header, which a page on another site cannot send without a CORS
preflight this server never answers. On 127.0.0.1 (no token) the header is still required,
and the Host and Origin checks stop a DNS-rebound page from becoming "this site".
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from installation.common.logtext import printable
from installation.web import server as web
from installation.web.auth import TOKEN_HEADER, RateLimit, ServedAs, token_matches
from installation.web.server import ECHO, BadRequest, LogRing, PanelSource, parse_action, preview_jpeg
from installation.web.thumbs import Thumbnails

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
PATH_ECHO = 120  # characters of a request's path in a log line


def shown_path(request: Request) -> str:
    """The path as routed (decoded: a %0a is a newline there), escaped and cut for a log line."""
    return printable(request.scope["path"], PATH_ECHO)


class Panel:
    """The routes over one PanelSource; `stopping` ends the endless streams when the show stops."""

    def __init__(self, source: PanelSource, token: str | None, logs: LogRing, limiter: RateLimit | None = None,
                 static: Path = web.STATIC, served: ServedAs | None = None) -> None:  # fmt: skip
        self.source, self.token, self.logs = source, token, logs
        self.limiter = limiter or RateLimit()
        self.served = served or ServedAs.bind("127.0.0.1")
        self.stopping = threading.Event()
        self.thumbs = Thumbnails(source.thumbnails, source.preset_file)
        self.files = {p.name: p for p in static.iterdir() if p.suffix in web.CONTENT_TYPES}  # names only: no traversal

    def refuse(self, request: Request, *, state_change: bool) -> Response | None:
        """None when the request may go on, else the answer (429, 400, 403 or 401).

        The client is the peer's address (a proxy's X-Forwarded-For counts only from a configured
        proxy: WebServer). The Host must be a name the panel is served as, and a state change from
        a browser must come from this page's own origin: that is what stops DNS rebinding.
        """
        client = request.client.host if request.client else "?"
        if not self.limiter.allow(client):
            return PlainTextResponse("too many requests; slow down\n", status_code=429)
        host = request.headers.get("host")
        if not self.served.host_allowed(host):
            log.warning("web panel: request from %s for host '%s' refused", client, printable(host, ECHO))
            return PlainTextResponse(f"this panel is not served as '{printable(host, ECHO)}'; "
                                     "open it by the address shown on the HUD\n", status_code=400)  # fmt: skip
        origin = request.headers.get("origin")
        if state_change and not self.served.origin_allowed(origin, host or ""):
            log.warning("web panel: %s from %s with origin '%s' refused", shown_path(request), client,
                        printable(origin, ECHO))  # fmt: skip
            return PlainTextResponse(f"a state change from the page at '{printable(origin, ECHO)}' is refused; "
                                     "expected this panel's own page\n", status_code=403)  # fmt: skip
        header = request.headers.get(TOKEN_HEADER)
        given = header if state_change else (header or request.query_params.get("token"))
        if not token_matches(self.token, given):
            log.warning("web panel: %s token from %s for %s", "no" if not given else "wrong", client,
                        shown_path(request))  # fmt: skip
            return PlainTextResponse("a valid token is needed (scan the QR code on the HUD)\n", status_code=401)
        if state_change and header is None:
            return PlainTextResponse(f"state changes need the {TOKEN_HEADER} header\n", status_code=403)
        return None

    def guarded(self, endpoint: Endpoint, *, state_change: bool = False) -> Endpoint:
        async def wrapper(request: Request) -> Response:
            refused = self.refuse(request, state_change=state_change)
            return refused if refused is not None else await endpoint(request)

        return wrapper

    async def page(self, request: Request) -> Response:
        return FileResponse(self.files["index.html"], media_type=web.CONTENT_TYPES[".html"],
                            headers={"Cache-Control": "no-store"})  # fmt: skip

    async def static(self, request: Request) -> Response:
        path = self.files.get(request.path_params["name"])
        if path is None:
            return PlainTextResponse("no such file\n", status_code=404)
        return FileResponse(path, media_type=web.CONTENT_TYPES[path.suffix])

    async def action(self, request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > web.BODY_CAP):
            return PlainTextResponse(f"body over {web.BODY_CAP} bytes\n", status_code=413)
        body = b""
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > web.BODY_CAP:
                    return PlainTextResponse(f"body over {web.BODY_CAP} bytes\n", status_code=413)
        except ClientDisconnect:
            return PlainTextResponse("client went away\n", status_code=400)
        try:
            action = parse_action(body, self.source.presets())
        except BadRequest as error:
            return PlainTextResponse(f"{error}\n", status_code=400)
        self.source.post(action)
        return JSONResponse({"posted": action.kind, "value": action.value})

    def snapshot(self) -> dict[str, object]:
        status, presets = self.source.status(), self.source.presets()
        return {"status": status, "presets": presets, "log": list(self.logs.lines),
                "thumbs": self.thumbs.versions(presets)}  # fmt: skip

    def followed(self) -> dict[str, object]:
        """The snapshot, after the showing preset's thumbnail was taken if it is due (off the event loop)."""
        self.thumbs.follow(self.source.status(), self.source.frame())
        return self.snapshot()

    async def state(self, request: Request) -> Response:
        return JSONResponse(self.snapshot())

    async def events(self, request: Request) -> Response:
        async def stream() -> AsyncIterator[str]:
            last = ""
            while not self.stopping.is_set():
                text = json.dumps(await asyncio.to_thread(self.followed))
                if text != last:
                    last = text
                    yield f"data: {text}\n\n"
                await asyncio.sleep(web.EVENTS_S)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    def preview_frame(self, last_seq: int | None) -> tuple[int | None, bytes | None]:
        status = self.source.status() or {}
        if status.get("blackout") or status.get("asleep"):
            return -1, web.BLACK if last_seq != -1 else None
        frame = self.source.frame()
        if frame is None or frame[0] == last_seq:
            return last_seq, None
        return frame[0], preview_jpeg(frame[1])

    async def preview(self, request: Request) -> Response:
        async def stream() -> AsyncIterator[bytes]:
            seq: int | None = None
            while not self.stopping.is_set():
                seq, jpeg = await asyncio.to_thread(self.preview_frame, seq)
                if jpeg is not None:
                    yield b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n" % (len(jpeg), jpeg)
                await asyncio.sleep(1.0 / web.PREVIEW_FPS)

        return StreamingResponse(stream(), media_type="multipart/x-mixed-replace; boundary=frame")

    async def thumbnail(self, request: Request) -> Response:
        name = request.path_params["name"]
        jpeg = self.thumbs.get(name) if name in self.source.presets() else None  # only playlist names: no paths
        if jpeg is None:
            return PlainTextResponse("no thumbnail yet\n", status_code=404)
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-cache"})

    async def screenshot(self, request: Request) -> Response:
        """The newest screenshot, to download on the phone."""
        folder = self.source.screenshots
        shots = sorted(folder.glob("screenshot*.png"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
        if not shots:
            return PlainTextResponse("no screenshot yet\n", status_code=404)
        return FileResponse(shots[-1], media_type="image/png", filename=shots[-1].name)

    def app(self) -> Starlette:
        g = self.guarded
        return Starlette(routes=[
            Route("/", g(self.page)),
            Route("/static/{name}", g(self.static)),
            Route("/api/state", g(self.state)),
            Route("/api/events", g(self.events)),
            Route("/api/preview.mjpg", g(self.preview)),
            Route("/api/screenshot", g(self.screenshot)),
            Route("/api/thumb/{name}", g(self.thumbnail)),
            Route("/api/action", g(self.action, state_change=True), methods=["POST"]),
        ])  # fmt: skip
