"""Link's tests run once per module in a loopback-only network namespace (installation/testing/netns.py makes
it): one subprocess for the whole module instead of one per test, each of which would load torch again."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from installation.testing.netns import INNER_ENV, ROOT, isolated, isolation_problem, loopback_only


def inside() -> bool:
    """True in the namespace (multicast is safe there: only the loopback exists)."""
    if os.environ.get(INNER_ENV) != "1":
        return False
    if not loopback_only():
        pytest.fail("expected a loopback-only network namespace, found other interfaces: not sending here")
    return True


def run_module_inside(module: pytest.Module, timeout_s: float = 240.0) -> dict[str, str]:
    """Every test of `module` run once inside a fresh namespace: nodeid -> PASSED/FAILED/ERROR/SKIPPED, and
    '<output>' -> the run's tail. Skips (with the reason) where no such namespace can be made."""
    problem = isolation_problem()
    if problem is not None:
        pytest.skip(f"needs a loopback-only network namespace (multicast must not leave this machine): {problem}")
    target = os.path.relpath(module.path, ROOT)
    command = isolated([sys.executable, "-m", "pytest", "-q", "-rA", "-s", "-p", "no:cacheprovider", target])
    run = subprocess.run(command, cwd=ROOT, env={**os.environ, INNER_ENV: "1"}, capture_output=True, text=True,
                         timeout=timeout_s)  # fmt: skip
    outcomes: dict[str, str] = {}
    for line in run.stdout.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("PASSED", "FAILED", "ERROR", "SKIPPED") and "::" in rest:
            outcomes[rest.split(" ")[0]] = word
    outcomes["<output>"] = run.stdout[-8000:] + run.stderr[-2000:]
    return outcomes
