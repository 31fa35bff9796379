#!/usr/bin/env python3
"""Dreamwall: one entry point. `python run.py` starts the installation; see --help."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from types import ModuleType

from engine.errors import DreamwallError, did_you_mean
from installation import HOME
from installation.commands import COMMANDS
from installation.common.allocator import keep_frame_blocks
from installation.common.cli import EXIT_USAGE, OneLineParser, StartLog, quiet_libraries
from installation.common.logtext import EscapingFormatter

GLOBAL_FLAGS = ("-v", "--verbose")
# Set unless the caller chose otherwise, before any command imports pygame (the renderer, the HUD).
ENVIRONMENT_DEFAULTS = {
    "PYGAME_HIDE_SUPPORT_PROMPT": "1",  # no support banner: headless runs print their results on stdout
    # torch.compile's builds (the compile backend, a compiled student) kept with the app's other builds rather than
    # in /tmp, which a kiosk empties at every boot: a student's first build took 17.7 s, 1-3 s from this cache
    "TORCHINDUCTOR_CACHE_DIR": str(HOME / "cache" / "inductor"),
}


def apply_environment_defaults() -> None:
    for name, value in ENVIRONMENT_DEFAULTS.items():
        os.environ.setdefault(name, value)


def command_module(name: str) -> ModuleType:
    return importlib.import_module(f"installation.commands.{name.replace('-', '_')}")


def command_parser(command: str) -> tuple[ModuleType, OneLineParser]:
    """The command's module and its argument parser (tests/docs parses the guides' command lines with it)."""
    module = command_module(command)
    parser = OneLineParser(prog=f"run.py {command}", description=module.HELP)
    module.configure(parser)
    return module, parser


def print_overview() -> None:
    print("usage: run.py [-v] [COMMAND] [options]   (no COMMAND = live)\n\ncommands:")
    for name in COMMANDS:
        print(f"  {name:<13} {command_module(name).HELP}")
    print("\n`run.py COMMAND --help` for a command's options.")


def split_command(arguments: list[str]) -> tuple[bool, str, list[str]]:
    """(verbose, command, the command's own arguments); no command means the first in COMMANDS."""
    verbose = False
    while arguments and arguments[0] in GLOBAL_FLAGS:
        verbose = True
        arguments = arguments[1:]
    if arguments and not arguments[0].startswith("-"):
        return verbose, arguments[0], arguments[1:]
    return verbose, COMMANDS[0], arguments


def main(argv: list[str] | None = None) -> int:
    apply_environment_defaults()
    keep_frame_blocks()  # before the first frame: large temporaries stay in the heap (installation.common.allocator)
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments in (["-h"], ["--help"], ["help"]):
        print_overview()
        return 0
    verbose, command, rest = split_command(arguments)
    if command not in COMMANDS:
        sys.stderr.write(f"run.py: error: unknown command '{command}'{did_you_mean(command, COMMANDS)}; "
                         f"choose from: {', '.join(COMMANDS)}\n")
        return EXIT_USAGE
    module, parser = command_parser(command)
    args = parser.parse_args(rest)
    handler = log_handler(verbose, getattr(module, "QUIET_START", False))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    quiet_libraries(verbose)
    try:
        return int(module.run(args) or 0)
    except DreamwallError as error:
        if isinstance(handler, StartLog):
            handler.drop()  # the start failed: the error line says what happened
        sys.stderr.write(f"error: {error}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    finally:
        if isinstance(handler, StartLog):
            handler.let_through()
        root.removeHandler(handler)


def log_handler(verbose: bool, quiet_start: bool) -> logging.Handler:
    """The log on stderr, one escaped line per record; held until the start passed for QUIET_START commands (not -v)."""
    stream = logging.StreamHandler()
    stream.setFormatter(EscapingFormatter())
    return StartLog(stream) if quiet_start and not verbose else stream


if __name__ == "__main__":
    sys.exit(main())
