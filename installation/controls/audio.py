"""Audio-reactive intensity (optional): the input level and its onsets push the dream harder.

sounddevice (PortAudio) is imported only when the feature is switched on. No package,
no PortAudio library or no input device: the feature is off, said in one log line.
The analysis (`AudioAnalyzer`) is plain arithmetic on sample blocks so it is tested
without a sound card.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


@dataclass
class AudioAnalyzer:
    """Level (0-1, from RMS in dB between `floor_db` and 0 dBFS) and onsets (sudden rises).

    An onset is a block whose level exceeds the slow running level by `onset_jump`;
    its boost then decays with `onset_decay` per block, so a drum hit gives a pulse.
    """

    floor_db: float = -60.0
    onset_jump: float = 0.15
    onset_decay: float = 0.85
    slow: float = 0.0
    level: float = 0.0
    pulse: float = 0.0
    onsets: int = field(default=0)

    def feed(self, samples: np.ndarray) -> None:
        mono = samples.astype(np.float32).reshape(len(samples), -1).mean(axis=1) if samples.size else np.zeros(1)
        rms = float(np.sqrt(np.mean(np.square(mono))))
        db = 20.0 * math.log10(max(rms, 1e-9))
        self.level = min(1.0, max(0.0, (db - self.floor_db) / -self.floor_db))
        self.pulse *= self.onset_decay
        if self.level - self.slow > self.onset_jump:
            self.pulse = 1.0
            self.onsets += 1
        self.slow += 0.05 * (self.level - self.slow)

    def intensity(self, gain: float = 0.5, onset_gain: float = 0.5) -> float:
        """Multiplier for the step size: 1 in silence, up to 1 + gain + onset_gain."""
        return 1.0 + gain * self.level + onset_gain * self.pulse


def _import_sounddevice() -> Any:
    import sounddevice

    return sounddevice


class AudioReactive:
    """A microphone/line input feeding an AudioAnalyzer from PortAudio's callback thread."""

    def __init__(self, stream: Any, analyzer: AudioAnalyzer, lock: threading.Lock) -> None:
        self._stream = stream
        self._analyzer = analyzer
        self._lock = lock

    @classmethod
    def open(
        cls,
        device: str | int | None = None,
        samplerate: int = 44100,
        block: int = 1024,
        importer: Callable[[], Any] = _import_sounddevice,
    ) -> AudioReactive | None:
        """Start listening, or None (one log line) when there is no package, library or device."""
        try:
            sd = importer()
        except (ImportError, OSError) as error:  # OSError: the PortAudio library itself is missing
            log.warning("audio-reactive off: sounddevice unavailable (%s)", error)
            return None
        analyzer = AudioAnalyzer()
        lock = threading.Lock()

        def callback(indata: np.ndarray, frames: int, time: Any, status: Any) -> None:
            with lock:
                analyzer.feed(indata)

        try:
            stream = sd.InputStream(device=device, channels=1, samplerate=samplerate, blocksize=block,
                                    callback=callback)  # fmt: skip
            stream.start()
        except Exception as error:  # noqa: BLE001 - PortAudioError and friends: any failure means "no audio"
            log.warning("audio-reactive off: no usable audio input (%s)", error)
            return None
        log.info("audio-reactive on: %s", device if device is not None else "default input")
        return cls(stream, analyzer, lock)

    def intensity(self, gain: float = 0.5, onset_gain: float = 0.5) -> float:
        with self._lock:
            return self._analyzer.intensity(gain, onset_gain)

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()
            stream.close()
