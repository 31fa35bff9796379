"""User-facing errors: one line that names the problem and the fix.

The CLI prints these without a traceback and exits 2; a running installation logs
them and keeps the last good state.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class DreamwallError(ValueError):
    """A problem caused by input the user can fix (a name, a number, a file)."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean 'x'?)' for the closest choice, or '' when none is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_name(kind: str, name: str, choices: Iterable[str]) -> DreamwallError:
    """Error for a name that is not one of `choices`, with a suggestion and the list."""
    options = sorted(choices)
    return DreamwallError(
        f"unknown {kind} '{name}'{did_you_mean(name, options)}; choose from: {', '.join(options)}"
    )


def check_range(what: str, value: float, low: float, high: float) -> float:
    """Return `value` if low <= value <= high, else raise an error naming the range."""
    if not low <= value <= high:
        raise DreamwallError(f"{what} must be between {low:g} and {high:g}, got {value:g}")
    return value
