"""Argument parsing shared by the subcommands: one-line errors, exit code 2."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from engine.errors import DreamwallError, check_range

EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports misuse in one line on stderr and exits 2, no usage dump."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(EXIT_USAGE)


def _argument_type(parse):  # noqa: ANN001, ANN202 - decorator for argparse type callables
    """Turn DreamwallError into argparse's error so argparse names the option."""

    def wrapped(text: str):  # noqa: ANN202
        try:
            return parse(text)
        except DreamwallError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    wrapped.__name__ = parse.__name__
    return wrapped


def parse_size(text: str) -> tuple[int, int]:
    """'WxH' -> (width, height), each 16-7680."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise DreamwallError(f"size must look like 640x360, got '{text}'")
    width, height = int(parts[0]), int(parts[1])
    check_range("width", width, 16, 7680)
    check_range("height", height, 16, 4320)
    return width, height


def int_in(low: int, high: int, what: str):  # noqa: ANN201
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise DreamwallError(f"{what} must be a whole number between {low} and {high}, got '{text}'") from None
        return int(check_range(what, value, low, high))

    parse.__name__ = what
    return _argument_type(parse)


def float_in(low: float, high: float, what: str):  # noqa: ANN201
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise DreamwallError(f"{what} must be a number between {low:g} and {high:g}, got '{text}'") from None
        return check_range(what, value, low, high)

    parse.__name__ = what
    return _argument_type(parse)


size_arg = _argument_type(parse_size)
