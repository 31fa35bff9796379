"""Untrusted text in the log: one record is one line, and no terminal escape gets through.

Request paths, preset names and file contents can hold newlines (a forged log line) or ANSI
escapes (a terminal that obeys them). `printable` escapes them where a message is built;
`EscapingFormatter` does it again for every record, whoever logged it (uvicorn included),
so a forgotten call site cannot forge a line. Our own tracebacks stay multi-line: only the
message is escaped, not the exception text appended after it.
"""

from __future__ import annotations

import copy
import logging
import re

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# C0 controls but tab, DEL, C1 controls (0x9b starts an escape sequence too), Unicode line breaks
_CONTROLS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def printable(text: object, limit: int | None = None) -> str:
    """`text` on one line with control characters escaped (\\n, \\x1b); cut to `limit` characters with '...'."""
    shown = str(text)
    if limit is not None and len(shown) > limit:
        shown = shown[:limit] + "..."
    return _CONTROLS.sub(_escape, shown)


class EscapingFormatter(logging.Formatter):
    """The log's one format, with the message escaped by `printable` (the record itself is left as it was)."""

    def __init__(self, fmt: str = LOG_FORMAT, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)

    def formatMessage(self, record: logging.LogRecord) -> str:
        escaped = copy.copy(record)  # other handlers format the same record: do not change it under them
        escaped.message = printable(record.message)
        return super().formatMessage(escaped)
