"""glibc's allocator told to keep frame-sized blocks, so the main thread's tensors stop page-faulting.

Every frame-sized temporary torch makes on the CPU (11 MB at 1280x720 in fp32) comes from glibc's
heap. With glibc's defaults, once two such temporaries are freed together the free top of the heap
is more than its trim threshold (twice the last large block), so glibc gives the memory back to the
kernel, and the next frame's temporaries fault every page in again. On the main thread, which
`dream`, `render` and `distill` dream on, `(x - 0.5) * 2` on a 1280x720 frame took 5.1 ms here
against 0.8 ms with fixed thresholds (the live worker's own thread: 1.0 ms either way), and a
`run.py dream` at 1280x720 faulted twice the pages. Fixed thresholds (an mmap threshold of 32 MiB,
glibc's largest, and a trim threshold of 256 MiB) keep such blocks for the next frame; the cost is
up to 256 MiB of freed memory the process may hold instead of returning.

Only glibc has `mallopt`; anywhere else (macOS, musl) nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20  # the largest glibc accepts on 64-bit: blocks under it come from the heap
TRIM_THRESHOLD = 256 * 2**20  # free memory at the heap's top kept for reuse rather than returned


def keep_frame_blocks() -> bool:
    """Set glibc's fixed mmap and trim thresholds; True when they were set (glibc only)."""
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    if not done:
        log.debug("glibc refused the allocator thresholds: large temporaries keep their page faults")
    return done
