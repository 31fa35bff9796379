#!/usr/bin/env python3
"""Dreamwall: one entry point. `python run.py` starts the installation; see --help."""

from __future__ import annotations

import importlib
import logging
import sys

from engine.errors import DreamwallError
from installation.cli import EXIT_USAGE, OneLineParser
from installation.commands import COMMANDS


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="run.py", description="Real-time DeepDream for installations and stage.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMANDS:
        module = importlib.import_module(f"installation.commands.{name}")
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(sub)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or (arguments[0].startswith("-") and arguments[0] not in ("-h", "--help", "-v", "--verbose")):
        arguments = [COMMANDS[0], *arguments]
    elif arguments[0] in ("-v", "--verbose") and (len(arguments) == 1 or arguments[1].startswith("-")):
        arguments = [arguments[0], COMMANDS[0], *arguments[1:]]
    parser = build_parser()
    args = parser.parse_args(arguments)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args) or 0)
    except DreamwallError as error:
        sys.stderr.write(f"error: {error}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
