"""A loopback-only network namespace for what uses multicast and mDNS (NDI): nothing of it leaves this machine.

`unshare -n` (root) gives a process a network namespace of its own with one interface,
`lo`; this brings `lo` up and routes multicast (224.0.0.0/4) over it, so senders and
receivers inside find each other and no packet reaches a real network. A test calls
`ran_in_loopback_netns(request)` first: outside such a namespace it runs that very test
again inside one (in a subprocess) and returns True; inside, it returns False and the
test body runs. Where the namespace cannot be made (not root, no unshare) the test is
skipped with the reason; the body never runs on the host's network.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
INNER_ENV = "DREAMWALL_IN_LOOPBACK_NETNS"
SETUP = "ip link set lo up && ip route add 224.0.0.0/4 dev lo && exec \"$@\""


def loopback_only() -> bool:
    """Whether this process's network namespace has no interface but loopback."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def isolation_problem() -> str | None:
    """Why a loopback-only namespace cannot be made here; None when it can."""
    if os.geteuid() != 0:
        return "unshare -n needs root"
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    try:
        done = subprocess.run(isolated(["true"]), capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unshare -n failed: {error}"
    if done.returncode != 0:
        return f"unshare -n failed: {done.stderr.strip() or done.returncode}"
    return None


def isolated(argv: list[str]) -> list[str]:
    """`argv` run in a new loopback-only network namespace, multicast routed over lo."""
    return ["unshare", "-n", "sh", "-c", SETUP, "sh", *argv]


def ran_in_loopback_netns(request: Any, timeout: float = 240.0) -> bool:
    """True when the test (a pytest request) was run, and passed, in a namespace of its own; False: run it here."""
    import pytest

    if loopback_only():
        return False
    if os.environ.get(INNER_ENV):
        pytest.fail("expected a loopback-only network namespace, found other interfaces: not sending here")
    problem = isolation_problem()
    if problem is not None:
        pytest.skip(f"needs a loopback-only network namespace (multicast must not leave this machine): {problem}")
    command = isolated([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", request.node.nodeid])
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, INNER_ENV: "1"}, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip
    output = (done.stdout + done.stderr)[-6000:]
    if done.returncode == 0 and " passed" not in done.stdout and " skipped" in done.stdout:
        reasons = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
        pytest.skip(f"inside the loopback-only namespace: {reasons[-1] if reasons else 'skipped'}")
    if done.returncode != 0 or " passed" not in done.stdout:
        pytest.fail(f"in the loopback-only namespace (exit {done.returncode}):\n{output}")
    return True
