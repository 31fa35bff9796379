"""Hostile requests on a real server: a clean answer and at most one escaped log line each, never a traceback.

The log is read where the technician reads it: through run.py's own stderr handler (and the
panel's log view), with uvicorn's records reaching it too.
"""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Iterator

import pytest

import run
from installation.web.server import BODY_CAP, MAX_NESTING

H = {"X-Dreamwall-Token": "local", "Content-Type": "application/json"}


@pytest.fixture
def stderr_log() -> Iterator[io.StringIO]:
    """What run.py's log handler writes on stderr while the test runs."""
    handler = run.log_handler(verbose=False, quiet_start=False)
    stream = io.StringIO()
    handler.setStream(stream)  # type: ignore[attr-defined]
    root, level = logging.getLogger(), logging.getLogger().level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_deeply_nested_json_is_a_400_with_one_short_reason_and_no_log(serve, call, show, stderr_log):
    server = serve()
    status, text = call(server, "POST", "/api/action", "[" * 4000, H)  # json.loads: RecursionError, a 500
    assert status == 400 and text == f"body nests 4000 levels deep; an action nests at most {MAX_NESTING}\n"
    nested = '{"kind": "next", "value": ' + "[" * 50 + "]" * 50 + "}"
    assert call(server, "POST", "/api/action", nested, H) == (400, f"body nests 51 levels deep; an action nests "
                                                                   f"at most {MAX_NESTING}\n")  # fmt: skip
    assert call(server, "POST", "/api/action", '{"kind": "x[{", "value": "]]"}', H)[0] == 400  # brackets in strings
    assert stderr_log.getvalue() == "" and show.posted == []
    assert call(server, "POST", "/api/action", '{"kind": "next"}', H)[0] == 200


def test_huge_bodies_are_refused_and_the_server_lives_on(serve, call, show, stderr_log):
    server = serve()
    huge = b'{"kind": "next", "pad": "' + b"x" * 10_000_000 + b'"}'
    assert call(server, "POST", "/api/action", huge, H)[0] == 413
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:  # chunked: no length declared
        raw.sendall(b"POST /api/action HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Dreamwall-Token: local\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n" + b"1000\r\n" + b"x" * 4096 + b"\r\n")  # fmt: skip
        raw.sendall(b"1000\r\n" + b"x" * 4096 + b"\r\n0\r\n\r\n")
        assert raw.recv(4096).startswith(b"HTTP/1.1 413 ")
    assert call(server, "POST", "/api/action", "é".encode("latin-1"), H)[0] == 400  # not UTF-8
    assert stderr_log.getvalue() == "" and show.posted == []
    assert call(server, "GET", "/api/state")[0] == 200 and BODY_CAP == 4096


def test_a_forged_log_line_in_a_request_path_stays_one_escaped_line(make_panel, serve, call, stderr_log):
    """A newline and an ANSI escape in the path of an unauthenticated request (it is logged: no token)."""
    panel = make_panel("s3cret-token-value")
    logging.getLogger().addHandler(panel.logs)  # the page's log view, as open_panel attaches it
    try:
        forged = "/static/x%0a2026-12-03%2015:00:00,000%20WARNING%20installation.web:%20all%20clear%1b[2J"
        assert call(serve(panel), "GET", forged)[0] == 401
    finally:
        logging.getLogger().removeHandler(panel.logs)
    lines = stderr_log.getvalue().splitlines()
    assert len(lines) == 1 and "\x1b" not in lines[0], lines
    assert "no token from 127.0.0.1 for /static/x\\n2026-12-03 15:00:00,000 WARNING" in lines[0]
    assert "all clear\\x1b[2J" in lines[0]
    assert len(panel.logs.lines) == 1 and panel.logs.lines[0].endswith(lines[0].split(": ", 1)[1])


def test_the_servers_own_records_reach_our_handler_escaped(serve, stderr_log):
    """uvicorn logs through our handlers (not its own stderr handler with its own format)."""
    server = serve()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"GET /\x1b[2J\nHTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # not HTTP at all
        assert raw.recv(4096).startswith(b"HTTP/1.1 400 ")
    lines = stderr_log.getvalue().splitlines()
    assert len(lines) == 1 and "WARNING uvicorn.error: Invalid HTTP request received." in lines[0], lines
