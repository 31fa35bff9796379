"""Subcommands of run.py: one module each, exposing HELP, configure(parser) and run(args) -> int.

To add a command, add its module name to COMMANDS. The first entry is what a bare
`python run.py` runs.
"""

COMMANDS = (
    "live",
    "dream",
    "classify",
    "networks",
    "bench",
    "warmup",
    "render",
    "presets",
    "soak",
    "export",
)
