"""glibc keeps frame-sized blocks once run.py set its thresholds: the main thread's frame temporaries stop
faulting their pages in anew (counted as the kernel's minor page faults, not timed)."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FAULTS_PER_FRAME = """
import resource, sys, numpy as np
sys.path.insert(0, {root!r})
if {tuned}:
    from installation.common.allocator import keep_frame_blocks
    assert keep_frame_blocks()
frame = np.random.default_rng(0).random((3, 720, 1280), dtype=np.float32)
for _ in range(3):
    (frame - 0.5) * 2.0  # two frame-sized temporaries alive at once, as in any chain of operations
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    (frame - 0.5) * 2.0
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def faults_per_frame(tuned: bool) -> float:
    script = FAULTS_PER_FRAME.format(root=str(ROOT), tuned=tuned)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    return float(done.stdout.strip())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_kept_blocks_spare_the_main_thread_its_page_faults() -> None:
    pages = 3 * 720 * 1280 * 4 / 4096  # one frame-sized temporary: 2700 pages of 4 KiB
    untuned = faults_per_frame(False)
    if untuned < pages / 10:
        pytest.skip(f"this glibc keeps the blocks by itself ({untuned:.0f} faults a frame)")
    tuned = faults_per_frame(True)  # glibc 2.36 here: about 1280 faults a frame untuned (huge pages take some)
    assert tuned < pages / 100, (untuned, tuned)


def test_without_glibc_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from installation.common import allocator

    monkeypatch.setattr(allocator.platform, "libc_ver", lambda: ("", ""))
    assert allocator.keep_frame_blocks() is False
