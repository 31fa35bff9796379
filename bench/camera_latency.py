"""Capture-to-display latency of a camera stream, reading every frame in turn (before) vs the newest (after).

The source timestamps its own frames: this script draws time.monotonic() as a row of black
and white blocks into each frame, pipes them at 30 fps into the bundled ffmpeg, which serves
them as MJPEG over HTTP on 127.0.0.1 (a real IP camera's protocol, with the socket and
FFmpeg buffers a real one has). The capture thread reads the stream as the show does; a
60 Hz "display" takes the capture's newest frame, decodes the stamp and records now - stamp
for each frame it shows the first time.

Two cases, each read the old way (capture.read(): the next queued frame) and the new way
(openers.newest_frame: grab while grabs return without waiting, decode the last):
  keeping up   the capture thread is faster than the camera
  behind       each read costs 45 ms more than the camera's 33 ms interval (a busy kiosk CPU
               decoding 1080p MJPEG): the old way falls behind by what the buffers hold

    .venv/bin/python bench/camera_latency.py [--seconds 6]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from installation.sources.capture import Capture
from installation.sources.openers import STREAM_PARAMS, OpenCVSource
from installation.testing.clips import ffmpeg_exe

SIZE = (320, 240)
FPS = 30
BITS = 24
BLOCK = 12
EXTRA_READ_S = 0.045


def stamp(frame: np.ndarray, ms: int) -> None:
    for bit in range(BITS):
        frame[:BLOCK, bit * BLOCK:(bit + 1) * BLOCK] = 255 if ms >> bit & 1 else 0


def read_stamp(frame: np.ndarray) -> int:
    centres = frame[BLOCK // 2, [bit * BLOCK + BLOCK // 2 for bit in range(BITS)]].mean(axis=-1)
    return sum(1 << bit for bit, level in enumerate(centres) if level > 127)


def now_ms() -> int:
    return int(time.monotonic() * 1000) % (1 << BITS)


class StampedStream:
    """ffmpeg serving the frames this process draws, MJPEG over HTTP, one client."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/cam.mjpg"
        self._server = subprocess.Popen(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
             "-s", f"{SIZE[0]}x{SIZE[1]}", "-r", str(FPS), "-i", "-", "-f", "mpjpeg", "-q:v", "4",
             "-listen", "1", self.url],
            stdin=subprocess.PIPE,
        )  # fmt: skip
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._feed, daemon=True)
        self._thread.start()

    def _feed(self) -> None:
        frame = np.full((SIZE[1], SIZE[0], 3), 90, np.uint8)
        start = time.monotonic()
        n = 0
        while not self._stop.is_set():
            stamp(frame, now_ms())
            try:
                assert self._server.stdin is not None
                self._server.stdin.write(frame.tobytes())
                self._server.stdin.flush()
            except (BrokenPipeError, ValueError):
                return
            n += 1
            self._stop.wait(max(0.0, start + n / FPS - time.monotonic()))

    def close(self) -> None:
        self._stop.set()
        self._server.kill()
        self._server.wait(10)


class SlowRead:
    """The source, with `extra_s` more work per read (the capture thread slower than the camera)."""

    def __init__(self, source: OpenCVSource, extra_s: float) -> None:
        self._source, self._extra_s = source, extra_s
        self.description = source.description

    def open(self) -> None:
        self._source.open()

    def read(self) -> np.ndarray | None:
        time.sleep(self._extra_s)
        return self._source.read()

    def close(self) -> None:
        self._source.close()


def measure(newest: bool, extra_s: float, seconds: float) -> list[float]:
    stream = StampedStream()
    time.sleep(0.3)
    source = OpenCVSource(stream.url, "stamped stream", params=STREAM_PARAMS, newest=newest)
    latencies: list[float] = []
    with Capture(SlowRead(source, extra_s)) as capture:
        seen, end, warm = 0, time.monotonic() + seconds + 1.0, time.monotonic() + 1.0
        while (now := time.monotonic()) < end:
            frame = capture.latest()
            if frame is not None and frame.seq != seen:
                seen = frame.seq
                if now > warm:
                    latencies.append((now_ms() - read_stamp(frame.image)) % (1 << BITS))
            time.sleep(1 / 60)
    stream.close()
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    seconds = parser.parse_args().seconds
    print(f"{SIZE[0]}x{SIZE[1]} MJPEG over HTTP at {FPS} fps, display at 60 Hz, {seconds:g} s each; "
          "capture-to-display latency in ms: median (p95)")  # fmt: skip
    for case, extra in (("keeping up", 0.0), ("behind", EXTRA_READ_S)):
        for label, newest in (("every frame (before)", False), ("newest frame (after)", True)):
            values = sorted(measure(newest, extra, seconds))
            p95 = values[min(len(values) - 1, int(0.95 * len(values)))] if values else float("nan")
            median = statistics.median(values) if values else float("nan")
            print(f"  {case:<11} {label:<21} {median:7.0f} ({p95:.0f})   {len(values)} frames shown")
    return 0


if __name__ == "__main__":
    sys.exit(main())
