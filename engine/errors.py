"""User-facing errors: one line that names the problem and the fix.

The CLI prints these without a traceback and exits 2; a running installation logs
them and keeps the last good state.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Iterable

EXCERPT_CHARS = 60
"""Most characters of untrusted text (a file's content, a key, a name) quoted in one message."""


class DreamwallError(ValueError):
    """A problem caused by input the user can fix (a name, a number, a file)."""


def excerpt(text: str, limit: int | None = EXCERPT_CHARS) -> str:
    """Untrusted text made safe to quote in a one-line message, log, status file or web page.

    Characters that are not printable (newlines, NEL and the Unicode line and paragraph
    separators, ANSI escapes, bidi overrides) are written as Python escapes, so a message
    stays one line and a terminal shows what is there instead of obeying it; past `limit`
    characters (None: no cap) the rest is counted, not quoted, so a preset symlinked to a
    big file cannot echo that file into the log.
    """
    shown: list[str] = []
    length = 0
    for index, char in enumerate(text):
        piece = char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        if limit is not None and length + len(piece) > limit:
            return "".join(shown) + f"... ({len(text) - index} more characters)"
        shown.append(piece)
        length += len(piece)
    return "".join(shown)


def number_text(value: float) -> str:
    """A number as the user gave it: 1.0000001 stays 1.0000001 (':g' would say 1), 3.0 is 3."""
    if isinstance(value, numbers.Integral):
        return str(int(value))
    number = float(value)
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(number)  # the shortest text that reads back as the same float


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean 'x'?)' for the closest choice, or '' when none is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_name(kind: str, name: str, choices: Iterable[str]) -> DreamwallError:
    """Error for a name that is not one of `choices`, with a suggestion and the list."""
    options = sorted(choices)
    return DreamwallError(
        f"unknown {kind} '{excerpt(str(name))}'{did_you_mean(name, options)}; choose from: {', '.join(options)}"
    )


def check_range(what: str, value: float, low: float, high: float) -> float:
    """Return `value` if low <= value <= high, else raise an error naming the range."""
    if not low <= value <= high:
        raise DreamwallError(
            f"{what} must be between {number_text(low)} and {number_text(high)}, got {number_text(value)}"
        )
    return value
