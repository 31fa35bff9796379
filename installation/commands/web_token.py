"""`python run.py web-token [--rotate] [--url HOST:PORT]`: the remote control panel's token.

Rotating makes every phone that scanned the old QR code ask again; a running show
reads the token at start, so restart it after rotating.
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit, urlunsplit

from installation.common.logtext import printable

HELP = "show or rotate the web panel's token (stored 0600 in the state directory)"


def panel_address(text: str) -> str:
    """HOST:PORT or http(s)://HOST[:PORT][/PATH/] as the panel's base URL, ending in /."""
    from installation.web.auth import host_of

    url = text if "://" in text else f"http://{text}"
    expected = f"expected HOST:PORT or http(s)://HOST[:PORT]/, got '{printable(text, 80)}'"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise argparse.ArgumentTypeError(f"the scheme must be http or https; {expected}")
    if host_of(parts.netloc) is None:
        raise argparse.ArgumentTypeError(f"needs a host (no user@) and a port from 0 to 65535; {expected}")
    if parts.query or parts.fragment or printable(url) != url or " " in url:
        raise argparse.ArgumentTypeError(f"no query, spaces or control characters; {expected}")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rotate", action="store_true", help="make a new token (the old one stops working)")
    parser.add_argument("--url", metavar="HOST:PORT", type=panel_address,
                        help="also print the panel's address with the token as a QR code "
                             "(HOST:PORT, or http(s)://HOST[:PORT]/ behind a proxy)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from installation.web.auth import TOKEN_FILE, load_token, state_dir
    from installation.web.service import print_qr

    token, new = load_token(rotate=args.rotate)
    where = state_dir() / TOKEN_FILE
    print(f"{'new token' if new else 'token'} ({where}): {token}")
    if args.rotate:
        print("restart the show for the new token to apply")
    if args.url:
        url = f"{args.url}?token={token}"
        print(url)
        print_qr(url, sys.stdout)
    return 0
