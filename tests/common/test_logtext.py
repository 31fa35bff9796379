"""The log's formatter (run.py's stderr handler and the panel's log view): one line per record, no
terminal escapes from untrusted text, our own tracebacks still readable."""

from __future__ import annotations

import io
import logging

import run
from installation.common.logtext import printable
from installation.web.server import LogRing


def formatted(handler: logging.Handler, record: logging.LogRecord) -> str:
    stream = io.StringIO()
    handler.setStream(stream)  # type: ignore[attr-defined]
    handler.handle(record)
    return stream.getvalue()


def record(msg: str, *args: object, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("installation.presets", logging.WARNING, __file__, 1, msg, args, exc_info)  # type: ignore[arg-type]


FORGED = "melt\n2026-12-03 15:00:00,000 INFO installation.app: all clear\x1b[2J\r\x9b31m\u2028"


def test_untrusted_text_in_a_message_is_one_escaped_line_on_stderr_and_on_the_panel():
    line = formatted(run.log_handler(verbose=False, quiet_start=False), record("preset %s broke", FORGED))
    assert line.count("\n") == 1 and "\x1b" not in line and "\x9b" not in line and "\u2028" not in line
    assert line.endswith("preset melt\\n2026-12-03 15:00:00,000 INFO installation.app: all clear"
                         "\\x1b[2J\\r\\x9b31m\\u2028 broke\n")  # fmt: skip
    ring = LogRing()
    ring.handle(record("preset %s broke", FORGED))
    assert ring.lines[0].split(": ", 1)[1] == line.rstrip("\n").split(": ", 1)[1]


def test_our_own_traceback_stays_readable_and_the_record_is_left_as_it_was():
    try:
        raise ValueError("bad value")
    except ValueError as error:
        failing = record("reload of %s failed", "a\nb", exc_info=(type(error), error, error.__traceback__))
    text = formatted(run.log_handler(verbose=False, quiet_start=False), failing)
    first, *rest = text.splitlines()
    assert first.endswith("reload of a\\nb failed") and rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "ValueError: bad value"
    assert failing.getMessage() == "reload of a\nb failed"  # other handlers get the record unchanged


def test_printable_cuts_and_keeps_tabs_and_backslashes():
    assert printable("a\tb\\n", 10) == "a\tb\\n"
    assert printable("x" * 50, 8) == "xxxxxxxx..."
    assert printable(None) == "None"
