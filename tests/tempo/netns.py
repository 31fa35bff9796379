"""Run a test inside a network namespace that has only the loopback interface: Link's multicast never
leaves this machine. The test re-runs itself under `unshare -n` (root) and passes or fails with it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest

INSIDE = "DREAMWALL_TEST_NETNS"
SETUP = "ip link set lo up && ip route add 224.0.0.0/4 dev lo"


def only_loopback() -> bool:
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def namespace_problem() -> str | None:
    """Why no loopback-only namespace can be made here, or None."""
    if os.geteuid() != 0:
        return "a network namespace needs root (unshare -n)"
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"'{tool}' is not installed"
    probe = subprocess.run(["unshare", "-n", "sh", "-c", SETUP], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"unshare -n failed: {probe.stderr.strip() or probe.returncode}"
    return None


def run_module_inside(module: pytest.Module, timeout_s: float = 180.0) -> dict[str, str]:
    """Run every test of `module` once inside a fresh loopback-only namespace; nodeid -> PASSED/FAILED/...

    Skips (with the reason) where no such namespace can be made."""
    problem = namespace_problem()
    if problem is not None:
        pytest.skip(f"no loopback-only network namespace: {problem}")
    target = os.path.relpath(module.path, module.config.rootpath)
    command = f"{SETUP} && exec env {INSIDE}=1 {sys.executable} -m pytest -q -rA -s -p no:cacheprovider '{target}'"
    run = subprocess.run(["unshare", "-n", "sh", "-c", command], capture_output=True, text=True, timeout=timeout_s,
                         cwd=module.config.rootpath)  # fmt: skip
    outcomes: dict[str, str] = {}
    for line in run.stdout.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("PASSED", "FAILED", "ERROR", "SKIPPED") and "::" in rest:
            outcomes[rest.split(" ")[0]] = word
    outcomes["<output>"] = run.stdout[-8000:] + run.stderr[-2000:]
    return outcomes


def inside() -> bool:
    """True in the namespace (then multicast is safe: only the loopback exists)."""
    if os.environ.get(INSIDE) != "1":
        return False
    assert only_loopback(), "refusing to use multicast outside a loopback-only namespace"
    return True
