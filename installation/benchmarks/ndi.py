"""`run.py bench --ndi`: what NDI out costs the show, and what NDI's codec does to the shown frame.

- per frame, at 1280x720 and 1920x1080: the show's hand-over (`offer`) and, on the NDI
  thread, the RGB -> RGBX conversion and the SDK's send (compression included), with one
  receiver connected (without one the SDK may not compress at all);
- the dream rate of the real headless show (demo camera, default preset at 320x180,
  composed at 1280x720) with NDI off, on without a receiver, and on with a receiver
  decoding on this machine (a mixer would decode on its own), alternating, medians;
- the codec's loss: mean |decoded - sent| in levels and PSNR, on a photograph and a ramp.

NDI advertises itself by multicast: the bench runs in a loopback-only network namespace
(installation.testing.netns), re-running itself in one when it can, so nothing is sent
on this machine's networks.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from installation.common.ndi import EXTRA_IPS_ENV, NdiUnavailable, runtime
from installation.outputs.ndi_out import NdiOutput
from installation.sources.demo import load_photo
from installation.sources.ndi import NdiSource, NdiSpec
from installation.testing.netns import isolated, isolation_problem, loopback_only

ROOT = Path(__file__).resolve().parents[2]
SIZES = ((1280, 720), (1920, 1080))
COST_FRAMES = 120
SHOW_PROCESS = (320, 180)
SHOW_OUTPUT = (1280, 720)
SHOW_WINDOW_S = 8.0
SHOW_WARMUP_S = 4.0
NAME = "Dreamwall bench"


@dataclass
class FrameCost:
    size: str
    offer_us: float  # the show's thread, median
    convert_ms: float  # RGB -> RGBX on the NDI thread, median
    send_ms: float  # the SDK's send (compression) on the NDI thread, median


@dataclass
class ShowRate:
    variant: str
    dream_fps: float
    runs: list[float]
    ndi_sent: int = 0
    ndi_dropped: int = 0


@dataclass
class CodecLoss:
    image: str
    size: str
    mean_levels: float
    p99_levels: float
    psnr_db: float


class Receiver:
    """One NDI receiver on its own thread, decoding every frame it gets (as a mixer would)."""

    def __init__(self, name: str) -> None:
        self.source = NdiSource(NdiSpec(pattern=name), find_s=10.0, read_timeout_s=0.5)
        self.source.open()
        self.frames = 0
        self.latest: np.ndarray | None = None
        self.got = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-receiver", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = self.source.read()
            if frame is not None:
                with self.got:
                    self.latest, self.frames = frame, self.frames + 1
                    self.got.notify_all()

    def wait_frames(self, count: int, timeout: float = 30.0) -> np.ndarray:
        with self.got:
            if not self.got.wait_for(lambda: self.frames >= count, timeout):
                raise RuntimeError(f"the bench's NDI receiver got {self.frames} of {count} frames in {timeout:g} s")
            assert self.latest is not None
            return self.latest

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
        self.source.close()


def measure_costs(frames: int = COST_FRAMES) -> list[FrameCost]:
    ndi = runtime()
    photo = load_photo("chelsea")
    costs = []
    for width, height in SIZES:
        image = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
        output = NdiOutput.open(NAME)
        receiver = Receiver(NAME)
        offers = []
        for _ in range(frames):  # the hand-over alone: what the show's thread pays
            started = time.perf_counter()
            output.offer(image)
            offers.append((time.perf_counter() - started) * 1e6)
        receiver.wait_frames(1)
        output.close()
        settings = ndi.SendCreate()
        settings.ndi_name, settings.clock_video = f"{NAME} send", False
        sender = ndi.send_create(settings)
        video = ndi.VideoFrameV2()
        video.FourCC = ndi.FOURCC_VIDEO_TYPE_RGBX
        rgbx = np.empty((height, width, 4), np.uint8)
        receiver.close()
        receiver = Receiver(f"{NAME} send")
        converts, sends = [], []
        for index in range(frames):  # the NDI thread's two stages, apart
            started = time.perf_counter()
            cv2.cvtColor(image, cv2.COLOR_RGB2RGBA, dst=rgbx)
            converted = time.perf_counter()
            video.data = rgbx
            ndi.send_send_video_v2(sender, video)
            sent = time.perf_counter()
            if index >= 10:  # the first frames set up the connection
                converts.append((converted - started) * 1000)
                sends.append((sent - converted) * 1000)
        receiver.close()
        ndi.send_destroy(sender)
        costs.append(FrameCost(f"{width}x{height}", statistics.median(offers), statistics.median(converts),
                               statistics.median(sends)))  # fmt: skip
    return costs


def measure_loss() -> list[CodecLoss]:
    ramp_x, ramp_y = np.meshgrid(np.linspace(0, 255, 1280), np.linspace(0, 255, 720))
    images = {"chelsea photo": cv2.resize(load_photo("chelsea"), (1280, 720), interpolation=cv2.INTER_AREA),
              "colour ramp": np.dstack([ramp_x, ramp_y, np.full_like(ramp_x, 90.0)]).astype(np.uint8)}  # fmt: skip
    losses = []
    for label, image in images.items():
        output = NdiOutput.open(NAME)
        receiver = Receiver(NAME)
        stop = threading.Event()

        def keep_sending(output: NdiOutput = output, image: np.ndarray = image, stop: threading.Event = stop) -> None:
            while not stop.wait(1 / 30):
                output.offer(image)

        pump = threading.Thread(target=keep_sending, daemon=True)
        pump.start()
        decoded = receiver.wait_frames(5)
        stop.set()
        pump.join()
        receiver.close()
        output.close()
        error = np.abs(decoded.astype(np.int16) - image.astype(np.int16))
        mse = float((error.astype(np.float64) ** 2).mean())
        psnr = 10 * math.log10(255**2 / mse) if mse else math.inf
        losses.append(CodecLoss(label, f"{image.shape[1]}x{image.shape[0]}", float(error.mean()),
                                float(np.percentile(error, 99)), psnr))
    return losses


def _show_once(variant: str, presets: Path, folder: Path) -> tuple[float, int, int]:
    from installation.app.app import App
    from installation.app.config import LiveConfig

    app = App(LiveConfig(source="demo", headless=True, process_size=SHOW_PROCESS, size=SHOW_OUTPUT,
                         seconds=SHOW_WARMUP_S + SHOW_WINDOW_S + 30, out=folder / f"{variant}.mp4",
                         ndi=NAME if variant != "NDI off" else None, presets_dir=presets,
                         recordings_dir=folder))  # fmt: skip
    show = threading.Thread(target=app.run, daemon=True)
    show.start()
    receiver = Receiver(NAME) if variant == "NDI on, a receiver" else None
    try:
        time.sleep(SHOW_WARMUP_S)  # a bench measures a window of time: this is the one place it waits for it
        frames, started = app.worker.health().frames, time.monotonic()
        time.sleep(SHOW_WINDOW_S)
        rate = (app.worker.health().frames - frames) / (time.monotonic() - started)
        stats = app.outputs.ndi.stats() if app.outputs.ndi is not None else None
    finally:
        app.stop()
        show.join(60.0)
        if receiver is not None:
            receiver.close()
    return rate, stats.sent if stats else 0, stats.dropped if stats else 0


def measure_show(repeats: int) -> list[ShowRate]:
    variants = ("NDI off", "NDI on, no receiver", "NDI on, a receiver")
    runs: dict[str, list[tuple[float, int, int]]] = {variant: [] for variant in variants}
    with tempfile.TemporaryDirectory(prefix="dreamwall-bench-ndi-") as temporary:
        folder = Path(temporary)
        presets = folder / "presets"
        shutil.copytree(ROOT / "presets", presets)
        for _ in range(repeats):
            for variant in variants:  # alternating: the machine's load drifts alike for each
                runs[variant].append(_show_once(variant, presets, folder))
    return [ShowRate(variant, statistics.median(r[0] for r in results), [round(r[0], 2) for r in results],
                     sum(r[1] for r in results), sum(r[2] for r in results))
            for variant, results in runs.items()]  # fmt: skip


def _in_namespace(argv: list[str]) -> int:
    """Run this bench again inside a loopback-only namespace; one line and exit 2 where none can be made."""
    problem = isolation_problem()
    if problem is not None:
        print(f"error: bench --ndi sends NDI only inside a loopback-only network namespace, which cannot be made "
              f"here: {problem}", file=sys.stderr)  # fmt: skip
        return 2
    return subprocess.run(isolated([sys.executable, str(ROOT / "run.py"), *argv]), cwd=ROOT).returncode


def run_ndi_bench(json_output: bool, repeats: int) -> int:
    if not loopback_only():
        return _in_namespace(["bench", "--ndi", "--repeats", str(repeats), *(["--json"] if json_output else [])])
    os.environ[EXTRA_IPS_ENV] = "127.0.0.1"
    try:
        runtime()
    except NdiUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    costs, losses, show = measure_costs(), measure_loss(), measure_show(repeats)
    if json_output:
        print(json.dumps({"cpus": os.cpu_count(), "costs": [asdict(c) for c in costs],
                          "codec_loss": [asdict(loss) for loss in losses],
                          "show": {"process_size": list(SHOW_PROCESS), "output_size": list(SHOW_OUTPUT),
                                   "window_s": SHOW_WINDOW_S, "rates": [asdict(s) for s in show]}},
                         indent=2))  # fmt: skip
        return 0
    print(f"NDI out, per frame ({COST_FRAMES} frames of the chelsea photo, one receiver on this machine, "
          f"{os.cpu_count()} CPUs):")
    for cost in costs:
        print(f"  {cost.size:>9}  show's hand-over {cost.offer_us:6.1f} us   NDI thread: RGB->RGBX "
              f"{cost.convert_ms:5.2f} ms + send {cost.send_ms:6.2f} ms")
    print("NDI codec loss (decoded vs sent, 0-255 levels):")
    for loss in losses:
        print(f"  {loss.image:<14} {loss.size:>9}  mean {loss.mean_levels:5.2f}  p99 {loss.p99_levels:5.1f}  "
              f"PSNR {loss.psnr_db:5.1f} dB")
    off = show[0].dream_fps
    print(f"the headless show (demo camera, default preset at {SHOW_PROCESS[0]}x{SHOW_PROCESS[1]}, composed at "
          f"{SHOW_OUTPUT[0]}x{SHOW_OUTPUT[1]}), dreamed frames/s, median of {repeats} x {SHOW_WINDOW_S:g} s:")
    for rate in show:
        ratio = f"{rate.dream_fps / off:.2f}x off" if off else "-"
        extra = f"   NDI sent {rate.ndi_sent}, dropped {rate.ndi_dropped}" if rate.variant != "NDI off" else ""
        print(f"  {rate.variant:<20} {rate.dream_fps:6.2f}  ({ratio})  runs {rate.runs}{extra}")
    return 0
