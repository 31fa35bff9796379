"""An IP camera made of real parts: the bundled ffmpeg serving MJPEG over HTTP on the loopback.

`ffmpeg -re -stream_loop -1 -i CLIP -f mpjpeg -listen 1 http://127.0.0.1:PORT/cam.mjpg`, one client
at a time: the server ends when its client goes. A real IP camera, or a webcam in MJPEG mode, hands
the show JPEG frames its own hardware encoded, so the show's CPU pays only for decoding them; with
`copy=True` the server sends an MJPEG clip's own frames unchanged (`-c copy`) and costs the machine
next to nothing (0.16 s of CPU in a 29 s run at 1280x720, 30 frames/s). Without it, ffmpeg encodes
whatever clip it is given (tests of small clips, where the cost does not matter).
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import av
import numpy as np

from installation.sources.demo import DemoSource
from installation.testing.clips import ffmpeg_exe
from installation.testing.ports import free_port
from installation.testing.waiting import wait_until

LISTEN = "0A"  # a listening socket's state in /proc/net/tcp
MJPEG_BITS_PER_PIXEL = 0.5  # about a webcam's MJPEG at quality 85: 14 Mbit/s at 1280x720 and 30 frames/s


def _listening(port: int) -> bool:
    """Whether something listens on `port` (read from /proc/net/tcp: a test connection would take the one client
    `-listen 1` serves)."""
    try:
        rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return True  # not Linux: the reader's reconnect covers the start-up
    fields = (row.split() for row in rows)
    return any(local.endswith(f":{port:04X}") and state == LISTEN for _, local, _, state, *_ in fields)


class MjpegServer:
    """The bundled ffmpeg serving `clip` as MJPEG over HTTP on 127.0.0.1, looped at the clip's own rate."""

    def __init__(self, clip: Path, port: int | None = None, copy: bool = False) -> None:
        self.clip, self.copy = clip, copy
        self.port = port if port is not None else free_port()
        self.url = f"http://127.0.0.1:{self.port}/cam.mjpg"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait_s: float = 10.0) -> MjpegServer:
        """Start serving; returns once the server listens (or after `wait_s`: a reader reconnects anyway)."""
        frames = ["-c", "copy"] if self.copy else ["-q:v", "5"]
        self.process = process = subprocess.Popen(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(self.clip),
             *frames, "-f", "mpjpeg", "-listen", "1", self.url],
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(lambda: _listening(self.port) or process.poll() is not None, wait_s)
        return self

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a paused server must run to die
            self.process.kill()
            self.process.wait(10)

    def __enter__(self) -> MjpegServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.kill()


def demo_film_clip(path: Path, size: tuple[int, int], seconds: float = 10.0, fps: int = 30) -> Path:
    """The demo camera's film at `size` as an MJPEG clip in `path` (AVI, 4:2:2 as webcams send it), for a camera
    served with `copy=True`."""
    demo = DemoSource(size=size, fps=fps)
    demo.open()
    try:
        with av.open(str(path), "w", format="avi") as container:
            stream = container.add_stream("mjpeg", rate=fps)
            stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuvj422p"
            stream.bit_rate = int(MJPEG_BITS_PER_PIXEL * size[0] * size[1] * fps)
            for index in range(round(seconds * fps)):
                image = np.ascontiguousarray(demo.frame_at(index / fps))
                container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            container.mux(stream.encode(None))
    finally:
        demo.close()
    return path
