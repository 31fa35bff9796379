"""The built-in demo camera: real photographs, slowly panned and zoomed, with sensor noise.

A gallery without a camera (or a laptop in a review) still needs something that
behaves like one: frames at a steady rate, always moving a little, never identical,
and real image content for the network to find eyes and fur in. The photographs are
scikit-image's sample data, which ships inside the wheel (no download). Frames are a
function of the clock, so a slow consumer sees the motion jump, as with a real camera.
"""

from __future__ import annotations

import math
import time
from functools import cache

import cv2
import numpy as np

from installation.common.rates import Clock, Pacer, Sleep

# scikit-image sample photographs bundled in the wheel (those needing pooch are left out)
PHOTOS = ("chelsea", "astronaut", "coffee", "rocket", "hubble_deep_field")
NOISE_FIELDS = 4
NOISE_MARGIN = 16


@cache
def load_photo(name: str) -> np.ndarray:
    """RGB uint8 photo from scikit-image's bundled data."""
    import skimage.data

    image = getattr(skimage.data, name)()
    return np.ascontiguousarray(image[..., :3])


def _smoothstep(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


class DemoSource:
    """A camera made of photographs: Ken Burns pan/zoom, crossfades and sensor noise at `fps`."""

    def __init__(
        self,
        size: tuple[int, int] = (640, 360),
        fps: float = 30.0,
        hold: float = 8.0,
        fade: float = 2.0,
        zoom: float = 1.3,
        noise: float = 2.0,
        seed: int = 0,
        photos: tuple[str, ...] = PHOTOS,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.size = size
        self.fps = fps
        self.description = f"demo ({len(photos)} photographs, {size[0]}x{size[1]} @ {fps:g} fps)"
        self._hold = hold
        self._fade = min(fade, hold)
        self._zoom = zoom
        self._noise = noise
        self._seed = seed
        self._names = photos
        self._clock = clock
        self._pacer = Pacer(fps, clock, sleep)
        self._photos: list[np.ndarray] = []
        self._start: float | None = None
        self._rng = np.random.default_rng(seed)
        self._noise_bank: list[np.ndarray] = []

    def open(self) -> None:
        self._photos = [self._fit(load_photo(name)) for name in self._names]
        if self._noise > 0 and not self._noise_bank:
            self._noise_bank = self._make_noise_bank()
        if self._start is None:  # reopening continues the film instead of restarting it
            self._start = self._clock()
        self._pacer.reset()

    def read(self) -> np.ndarray | None:
        if not self._photos or self._start is None:
            raise ConnectionError("demo source is not open")
        tick = self._pacer.wait()
        return self.frame_at(tick - self._start)

    def close(self) -> None:
        """Let go of the photographs and the noise bank (5.7 MB at 640x360): a closed source may be kept
        (a reconnect or a night's sleep opens a new one), and must not keep its frames' memory."""
        self._photos = []
        self._noise_bank = []

    # -- the film ------------------------------------------------------------------

    def _make_noise_bank(self) -> list[np.ndarray]:
        """A few noise fields a little larger than a frame: a random crop of one per frame.

        Fresh Gaussian noise for every 640x360 frame costs ~10 ms, a third of a frame
        interval on a small CPU that the dreamer needs; crops of a bank look the same.
        """
        width, height = self.size
        shape = (height + NOISE_MARGIN, width + NOISE_MARGIN, 3)
        return [np.round(self._rng.standard_normal(shape, dtype=np.float32) * self._noise).astype(np.int16)
                for _ in range(NOISE_FIELDS)]

    def _sensor_noise(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        field = self._noise_bank[int(self._rng.integers(len(self._noise_bank)))]
        dy, dx = (int(v) for v in self._rng.integers(0, NOISE_MARGIN + 1, 2))
        return cv2.add(image, field[dy:dy + height, dx:dx + width], dtype=cv2.CV_8U)

    def _fit(self, photo: np.ndarray) -> np.ndarray:
        """Shrink big photos so even the most zoomed crop is not much larger than the output."""
        width, height = self.size
        scale = min(photo.shape[1] / width, photo.shape[0] / height)
        if scale <= 1.5:
            return photo
        factor = 1.5 / scale
        target = (round(photo.shape[1] * factor), round(photo.shape[0] * factor))
        return cv2.resize(photo, target, interpolation=cv2.INTER_AREA)

    def _path(self, shot: int) -> tuple[float, float, float, float, float, float]:
        """Start/end zoom and centre (as fractions of the free room) of one shot."""
        rng = np.random.default_rng((self._seed, shot))
        zoom_in = bool(rng.integers(2))
        z0, z1 = (1.0, self._zoom) if zoom_in else (self._zoom, 1.0)
        x0, y0, x1, y1 = rng.uniform(0.15, 0.85, 4)
        return z0, z1, float(x0), float(y0), float(x1), float(y1)

    def _shot(self, shot: int, progress: float) -> np.ndarray:
        photo = self._photos[shot % len(self._photos)]
        width, height = self.size
        z0, z1, x0, y0, x1, y1 = self._path(shot)
        u = _smoothstep(progress)
        zoom = z0 + (z1 - z0) * u
        ph, pw = photo.shape[:2]
        crop_w = min(pw, ph * width / height) / zoom  # largest crop of the output's aspect, zoomed
        crop_h = crop_w * height / width
        cx = crop_w / 2 + (pw - crop_w) * (x0 + (x1 - x0) * u)
        cy = crop_h / 2 + (ph - crop_h) * (y0 + (y1 - y0) * u)
        s = crop_w / width
        matrix = np.array([[s, 0.0, cx - s * width / 2], [0.0, s, cy - s * height / 2]], dtype=np.float64)
        return cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REFLECT)

    def frame_at(self, t: float) -> np.ndarray:
        """The frame `t` seconds into the film (deterministic apart from the noise)."""
        period = self._hold
        shot = math.floor(t / period)
        local = t - shot * period
        span = period + self._fade
        image = self._shot(shot, (local + self._fade) / span)
        fade_start = period - self._fade
        if self._fade > 0 and local > fade_start:
            alpha = _smoothstep((local - fade_start) / self._fade)
            following = self._shot(shot + 1, (local - fade_start) / span)
            image = cv2.addWeighted(image, 1.0 - alpha, following, alpha, 0.0)
        return self._sensor_noise(image) if self._noise_bank else image
