"""`python run.py web-token [--rotate] [--qr URL]`: the remote control panel's token.

Rotating makes every phone that scanned the old QR code ask again; a running show
reads the token at start, so restart it after rotating.
"""

from __future__ import annotations

import argparse
import sys

HELP = "show or rotate the web panel's token (stored 0600 in the state directory)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rotate", action="store_true", help="make a new token (the old one stops working)")
    parser.add_argument("--url", metavar="HOST:PORT", help="also print the panel's address with the token as a QR code")


def run(args: argparse.Namespace) -> int:
    from installation.web.auth import TOKEN_FILE, load_token, state_dir
    from installation.web.service import print_qr

    token, new = load_token(rotate=args.rotate)
    where = state_dir() / TOKEN_FILE
    print(f"{'new token' if new else 'token'} ({where}): {token}")
    if args.rotate:
        print("restart the show for the new token to apply")
    if args.url:
        url = f"http://{args.url}/?token={token}"
        print(url)
        print_qr(url, sys.stdout)
    return 0
