"""What the subcommands share: argument parsing with one-line errors (exit 2), and a quiet stderr.

A person reads one line when a command is misused; logs and C-library chatter must not
bury it (see StartLog and c_stderr_quiet).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn, TypeVar

from engine.bounds import BOUNDS
from engine.errors import DreamwallError, check_range, unknown_name

EXIT_USAGE = 2
LARGEST = (int(BOUNDS["width"].high), int(BOUNDS["height"].high))  # 8K UHD (an 8000x8000 dream needed 23.5 GB)
MAX_PIXELS = LARGEST[0] * LARGEST[1]

T = TypeVar("T")


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports misuse in one line on stderr and exits 2, no usage dump."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(EXIT_USAGE)


def _argument_type(parse: Callable[[str], T]) -> Callable[[str], T]:
    """Turn DreamwallError into argparse's error so argparse names the option."""

    def wrapped(text: str) -> T:
        try:
            return parse(text)
        except DreamwallError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    wrapped.__name__ = parse.__name__
    return wrapped


def parse_size(text: str) -> tuple[int, int]:
    """'WxH' -> (width, height) within the table's width and height bounds (16 to LARGEST)."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise DreamwallError(f"size must look like 640x360, got '{text}'")
    width, height = int(parts[0]), int(parts[1])
    BOUNDS["width"].check(width)
    BOUNDS["height"].check(height)
    return width, height


def int_in(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise DreamwallError(f"{what} must be a whole number between {low} and {high}, got '{text}'") from None
        return int(check_range(what, value, low, high))

    parse.__name__ = what
    return _argument_type(parse)


def float_in(low: float, high: float, what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise DreamwallError(f"{what} must be a number between {low:g} and {high:g}, got '{text}'") from None
        return check_range(what, value, low, high)

    parse.__name__ = what
    return _argument_type(parse)


def whole_arg(name: str) -> Callable[[str], int]:
    """An option for setting `name` of engine.bounds: its range and error label come from the table."""
    bound = BOUNDS[name]
    return int_in(int(bound.low), int(bound.high), bound.label)


def number_arg(name: str) -> Callable[[str], float]:
    """As whole_arg, for a setting that takes any number in its range."""
    bound = BOUNDS[name]
    return float_in(bound.low, bound.high, bound.label)


size_arg = _argument_type(parse_size)


def choice_arg(kind: str, choices: Sequence[str]) -> Callable[[str], str]:
    """An option that takes one of `choices`; another word gets a "did you mean" in the one-line error."""

    def choice(text: str) -> str:
        if text not in choices:
            raise unknown_name(kind, text, choices)
        return text

    choice.__name__ = kind
    return _argument_type(choice)


# -- what a command prints on stderr ---------------------------------------------------------


class StartLog(logging.Handler):
    """Holds log records until the command's start has passed its checks, then passes them on.

    A start that fails with a usage error (exit 2) drops them, so the person reads one line:
    the error (the held lines only led up to it). A start that succeeds releases them in
    order, so the log (journald, a terminal) still gets every line; `-v` bypasses the hold.
    """

    def __init__(self, target: logging.Handler, limit: int = 1000) -> None:
        super().__init__()
        self.target = target
        self._limit = limit
        self._held: list[logging.LogRecord] | None = []

    def emit(self, record: logging.LogRecord) -> None:
        if self._held is None:
            self.target.handle(record)
            return
        self._held.append(record)
        if len(self._held) >= self._limit:  # a start this chatty is under way: stop holding
            self._pass_on()

    def let_through(self) -> None:
        with self.lock:
            self._pass_on()

    def drop(self) -> None:
        with self.lock:
            self._held = None

    def _pass_on(self) -> None:
        held, self._held = self._held, None
        for record in held or ():
            self.target.handle(record)


def start_done() -> None:
    """Called by a command once its checks passed: the held start log goes out now."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, StartLog):
            handler.let_through()


def quiet_libraries(verbose: bool) -> None:
    """OpenCV logs warnings only with -v (a truncated PNG, a file it cannot open: our error says it)."""
    import cv2

    levels = cv2.utils.logging
    levels.setLogLevel(levels.LOG_LEVEL_WARNING if verbose else levels.LOG_LEVEL_ERROR)


_stderr_lock = threading.Lock()


@contextlib.contextmanager
def c_stderr_quiet() -> Iterator[None]:
    """Silence what C libraries write straight to file descriptor 2 (libpng, FFmpeg's libav).

    They bypass OpenCV's log level ("libpng error: ...", "moov atom not found"), and the
    failure they describe becomes our own one-line error. Only while OpenCV is kept quiet
    (no -v); wraps single decode or open calls, because Python's stderr (fd 2 too) is
    silenced as well for that moment.
    """
    import cv2

    levels = cv2.utils.logging
    if levels.getLogLevel() > levels.LOG_LEVEL_ERROR:
        yield
        return
    with _stderr_lock:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with Path(os.devnull).open("wb") as null:
                os.dup2(null.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
