"""Recorder: playable MP4 with the right frame count, atomic naming, drops instead of blocking,
a full disk stops the recording with a message and never raises into the render loop."""

from __future__ import annotations

import errno
import functools
import threading
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from engine.errors import DreamwallError
from installation.outputs.recorder import Recorder, RecordToggle, recording_name
from installation.outputs.video_io import count_frames, probe
from installation.outputs.video_writer import VideoWriter
from installation.testing.clocks import HandClock


def frames(count: int, width: int = 64, height: int = 48) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count)]


class ListWriter:
    """Collects frames; optionally fails with an OSError at the n-th write or blocks until released."""

    def __init__(self, fail_at: int | None = None, gate: threading.Event | None = None) -> None:
        self.frames: list[np.ndarray] = []
        self.fail_at = fail_at
        self.gate = gate
        self.closed = self.aborted = False

    def write(self, rgb: np.ndarray) -> None:
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail_at is not None and len(self.frames) + 1 >= self.fail_at:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.frames.append(rgb)

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True


def factory_of(writer: ListWriter):
    def make(path: Path, fps: float, size: tuple[int, int]) -> ListWriter:
        path.write_bytes(b"partial")  # like an encoder that has started the file
        return writer

    return make


def test_recording_is_playable_with_every_frame_and_appears_only_on_close(tmp_path):
    target = tmp_path / "take.mp4"
    recorder = Recorder(target, fps=10, size=(64, 48))
    for frame in frames(7):
        assert recorder.write(frame, block=True)
    assert not target.exists()  # written under a temporary name until closed
    assert recorder.close() == target
    assert count_frames(target) == 7 and recorder.dropped == 0
    assert probe(target).streams == ("video",)
    assert [p.name for p in tmp_path.iterdir()] == ["take.mp4"]  # no temp file left


def test_odd_sized_and_resized_frames_still_make_a_video(tmp_path):
    target = tmp_path / "odd.mp4"
    recorder = Recorder(target, fps=12, size=(65, 49))
    recorder.write(frames(1, 65, 49)[0], block=True)
    recorder.write(frames(1, 100, 80)[0], block=True)  # another size: scaled to the file's size
    assert recorder.close() == target
    assert count_frames(target) == 2


def test_full_disk_stops_recording_reports_once_and_removes_the_partial_file(tmp_path):
    messages: list[str] = []
    writer = ListWriter(fail_at=3)
    target = tmp_path / "full.mp4"
    recorder = Recorder(target, 10, (64, 48), on_error=messages.append, writer_factory=factory_of(writer))
    for frame in frames(6):
        recorder.write(frame, block=True)  # never raises, whatever happens in the writer thread
    assert recorder.close() is None
    assert len(messages) == 1 and "disk full" in messages[0] and "full.mp4" in messages[0]
    assert recorder.error == messages[0] and not recorder.active
    assert writer.aborted and len(writer.frames) == 2
    assert list(tmp_path.iterdir()) == []  # neither the target nor the temp file
    assert recorder.write(frames(1)[0]) is False


def test_a_real_encoder_on_a_full_device_raises_enospc():
    writer = VideoWriter(Path("/dev/full"), 10, (64, 48))
    with pytest.raises(OSError) as caught:
        for frame in frames(30):
            writer.write(frame)
        writer.close()
    assert caught.value.errno == errno.ENOSPC


def test_lagging_encoder_keeps_only_the_newest_frame_instead_of_blocking(tmp_path):
    gate = threading.Event()
    writer = ListWriter(gate=gate)
    recorder = Recorder(tmp_path / "lag.mp4", 10, (64, 48), writer_factory=factory_of(writer))
    images = frames(10)
    recorder.write(images[0])
    recorder.write(images[1], block=True)  # returns once the writer took images[0]; it now waits on the gate
    for image in images[2:]:
        assert recorder.write(image)  # returns although the writer is stuck; replaces the waiting one
    assert recorder.dropped == 8  # images 1-8 were replaced before the encoder took them
    gate.set()
    assert recorder.close() == tmp_path / "lag.mp4"
    assert [id(f) for f in writer.frames] == [id(images[0]), id(images[9])]  # no queue: the newest won
    assert recorder.frames_written == 2


def test_a_replaced_frame_gives_its_video_time_to_the_newer_one(tmp_path):
    clock = HandClock()
    gate = threading.Event()
    writer = ListWriter(gate=gate)
    recorder = Recorder(tmp_path / "rt-lag.mp4", 10, (64, 48), realtime=True,
                        writer_factory=factory_of(writer), clock=clock)
    images = frames(3)
    recorder.write(images[0])  # t = 0: frame 1
    clock.now += 0.3
    recorder.write(images[1], block=True)  # 3 more frames due; images[0] is with the (stuck) writer
    clock.now += 0.2
    recorder.write(images[2])  # replaces images[1]: its 3 frames + 2 new ones
    gate.set()
    recorder.close()
    assert len(writer.frames) == 6 and recorder.dropped == 1  # the video still lasts 0.6 s
    assert all(f is images[2] for f in writer.frames[1:])


class CountingGrab:
    """A LazyFrame that records on which thread it was converted."""

    def __init__(self, rgb: np.ndarray, threads: list[str]) -> None:
        self.rgb = rgb
        self.size = (rgb.shape[1], rgb.shape[0])
        self.threads = threads

    def __call__(self) -> np.ndarray:
        self.threads.append(threading.current_thread().name)
        return self.rgb


def test_lazy_frames_are_converted_on_the_recorder_thread(tmp_path):
    threads: list[str] = []
    writer = ListWriter()
    recorder = Recorder(tmp_path / "lazy.mp4", 10, (32, 24), writer_factory=factory_of(writer))
    for image in frames(3):
        recorder.write(CountingGrab(image, threads), block=True)
    recorder.close()
    assert threads == ["recorder-lazy.mp4"] * 3 and recorder.conversions == 3
    assert [f.shape for f in writer.frames] == [(24, 32, 3)] * 3  # scaled to the file's size there too


def test_record_toggle_grabs_at_most_at_the_recording_fps(tmp_path):
    """A 60 fps display loop recording at 25 fps: 120 ticks (2 s) grab 50 frames, not 120."""
    clock = HandClock()
    threads: list[str] = []
    writer = ListWriter()
    factory = functools.partial(Recorder, writer_factory=factory_of(writer), clock=clock)
    toggle = RecordToggle(tmp_path, 25, recorder_factory=factory, now=lambda: datetime(2025, 1, 31, 18, 30, 5))
    image = frames(1)[0]
    toggle.toggle()
    grabbed = 0
    for _ in range(120):
        grabbed += toggle.capture(lambda: CountingGrab(image, threads))
        clock.now += 1 / 60
    assert grabbed == toggle.grabs == 50  # frames due at t = 0, 0.04, ..., 1.96 s
    toggle.stop()
    assert set(threads) == {"recorder-dreamwall-20250131-183005.mp4"}  # none on the display thread
    assert len(threads) <= 50 and len(writer.frames) >= len(threads)  # replaced grabs were never converted


def test_realtime_mode_repeats_and_skips_frames_to_follow_the_clock(tmp_path):
    clock = HandClock()
    writer = ListWriter()
    recorder = Recorder(tmp_path / "rt.mp4", 10, (64, 48), realtime=True,
                        writer_factory=factory_of(writer), clock=clock)
    images = frames(3)
    recorder.write(images[0])  # t = 0: frame 1
    clock.now += 0.02
    assert recorder.write(images[1]) is False  # faster than 10 fps: skipped
    clock.now += 0.48
    recorder.write(images[2])  # t = 0.5 s: 6 frames due, 5 more
    recorder.close()
    assert len(writer.frames) == 6
    assert all(f is images[2] for f in writer.frames[1:])
    assert recorder.elapsed_s == pytest.approx(0.5)


def test_hud_text_names_the_file_and_elapsed_time(tmp_path):
    clock = HandClock()
    recorder = Recorder(tmp_path / "hud.mp4", 10, (64, 48), writer_factory=factory_of(ListWriter()), clock=clock)
    clock.now += 75
    assert recorder.hud_text() == "REC hud.mp4 01:15"
    recorder.close()


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DreamwallError, match="recording folder does not exist"):
        Recorder(tmp_path / "nope" / "x.mp4", 10, (64, 48))


def test_record_toggle_names_files_by_time_and_reports_the_saved_file(tmp_path):
    messages: list[str] = []
    writer = ListWriter()
    factory = functools.partial(Recorder, writer_factory=factory_of(writer), clock=HandClock())
    toggle = RecordToggle(tmp_path / "out", 10, on_message=messages.append, recorder_factory=factory,
                          now=lambda: datetime(2025, 1, 31, 18, 30, 5))
    toggle.write(frames(1)[0])
    assert toggle.hud_text() is None and not toggle.recording  # off: nothing happens
    toggle.toggle()
    assert toggle.recording
    toggle.write(frames(1)[0])
    assert toggle.hud_text() is not None and toggle.hud_text().startswith("REC dreamwall-20250131-183005.mp4")
    toggle.toggle()
    assert toggle.last_path == tmp_path / "out" / recording_name(datetime(2025, 1, 31, 18, 30, 5))
    assert toggle.last_path.exists() and len(writer.frames) == 1
    assert messages == ["saved dreamwall-20250131-183005.mp4 (1 frames)"]


def test_record_toggle_switches_off_after_a_failure(tmp_path):
    messages: list[str] = []
    writer = ListWriter(fail_at=1)
    factory = functools.partial(Recorder, writer_factory=factory_of(writer), clock=HandClock())
    toggle = RecordToggle(tmp_path, 10, on_message=messages.append, recorder_factory=factory)
    toggle.toggle()
    toggle.write(frames(1)[0])
    assert toggle.recorder is not None
    toggle.recorder._thread.join(5)  # let the writer thread meet the failure
    toggle.write(frames(1)[0])
    assert not toggle.recording and toggle.hud_text() is None
    assert any("disk full" in m for m in messages)


def test_a_crash_keeps_what_was_recorded_beside_the_asked_name_and_an_empty_recording_leaves_nothing(tmp_path):
    target = tmp_path / "take.mp4"
    recorder = Recorder(target, fps=10, size=(64, 48))
    for frame in frames(3):
        recorder.write(frame, block=True)
    kept = recorder.close_partial()
    assert kept == tmp_path / "take.partial.mp4" and count_frames(kept) == 3 and not target.exists()
    assert recorder.close() == kept  # closing again changes nothing
    empty = Recorder(tmp_path / "empty.mp4", fps=10, size=(64, 48))
    assert empty.close_partial() is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.partial.mp4"]
