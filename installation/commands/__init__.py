"""Subcommands of run.py: one module each, exposing HELP, configure(parser) and run(args) -> int.

To add a command, add its name to COMMANDS: the module is the name with "-" as "_"
(`fetch-weights` is fetch_weights.py). The first entry is what a bare `python run.py` runs.
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
    "atlas",
    "soak",
    "export",
    "distill",
    "fetch-weights",
    "cameras",
    "web-token",
)
