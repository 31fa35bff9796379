"""`python run.py fetch-weights googlenet`: the one command that downloads, on purpose.

Nothing else downloads (the README's promise): the show reads googlenet's weights
from torch's cache, and this command fills it once on a machine with internet.
torch.hub checks the file's hash and moves it into place only when complete.
"""

from __future__ import annotations

import argparse

import torch

from engine.errors import DreamwallError
from engine.networks import EMBEDDED, check_network_name, googlenet

HELP = "download googlenet's weights into torch's cache (the only command that downloads)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("network", help="googlenet (the embedded networks need nothing)")


def fetch_googlenet() -> str:
    """Download IMAGENET1K_V1 unless it is cached; returns what happened, for the one line printed."""
    path = googlenet.cached_weights_path()
    if path.is_file():
        return f"googlenet weights already installed: {path}"
    try:
        torch.hub.load_state_dict_from_url(googlenet.WEIGHTS_URL, model_dir=str(path.parent), progress=False,
                                           check_hash=True)  # fmt: skip
    except (OSError, RuntimeError) as error:  # offline: URLError (an OSError); corrupt: hash mismatch
        reason = str(error).splitlines()[0] if str(error) else error.__class__.__name__
        raise DreamwallError(f"cannot download googlenet weights from {googlenet.WEIGHTS_URL}: {reason}") from None
    return f"googlenet weights installed: {path}"


def run(args: argparse.Namespace) -> int:
    name = check_network_name(args.network)
    if name in EMBEDDED:
        print(f"{name} is embedded: nothing to fetch")
        return 0
    print(fetch_googlenet())
    return 0
