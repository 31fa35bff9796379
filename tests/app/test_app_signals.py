"""Stopping a running show: Ctrl-C and systemd's SIGTERM both finish the recording under the asked name; a
crash keeps what was recorded where the log says. Real processes and real signals where the point is the
running show."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from installation import HOME
from installation.outputs.video_io import count_frames, probe
from installation.testing.waiting import wait_for


def shown_frames(status_path: Path) -> int:
    try:
        return int(json.loads(status_path.read_text())["frames"]["shown"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_finishes_the_headless_recording_under_the_asked_name(tmp_path, signum):
    out = tmp_path / "clip.mp4"
    status = tmp_path / "status.json"
    process = subprocess.Popen(
        [sys.executable, "run.py", "live", "--source", "demo", "--headless", "--seconds", "300", "--no-midi",
         "--process-size", "64x36", "--status-file", str(status), "--out", str(out)],
        cwd=HOME, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: shown_frames(status) >= 3 or process.poll() is not None, "three recorded frames",
                 timeout=120)  # fmt: skip
        assert process.poll() is None, process.communicate()
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert f"wrote {out}" in stdout and "Traceback" not in stderr
    assert count_frames(out) >= 3 and probe(out).streams == ("video",)  # complete: ffmpeg decodes it to the end
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "status.json"], "no hidden temp file"


def test_a_crash_keeps_the_partial_recording_where_the_log_says(presets_dir, tmp_path, caplog, make_app):
    out = tmp_path / "clip.mp4"
    app = make_app(presets_dir, tmp_path, frames=1000, out=out)
    sent = 0

    def breaks_after_three(frame: object) -> None:  # any unexpected failure in the show's loop
        nonlocal sent
        sent += 1
        if sent > 3:
            raise RuntimeError("the show broke")

    app.outputs.send_to_virtual_camera = breaks_after_three  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING), pytest.raises(RuntimeError, match="the show broke"):
        app.run()
    kept = [record.getMessage() for record in caplog.records if "partial recording" in record.getMessage()]
    assert len(kept) == 1, caplog.text
    partial = tmp_path / "clip.partial.mp4"
    assert str(partial) in kept[0]
    assert count_frames(partial) == 4 and not out.exists()  # playable, and not under the name a whole run gets
    assert not list(tmp_path.glob(".*.mp4*")), "no hidden temp file"


def test_a_second_ctrl_c_while_stopping_quits_at_once(presets_dir, tmp_path, make_app):
    app = make_app(presets_dir, tmp_path)
    try:
        app._on_stop_signal(signal.SIGINT, None)
        assert not app.running  # the first one: the orderly end, as SIGTERM
        app._on_stop_signal(signal.SIGTERM, None)  # systemd repeating itself only stops
        with pytest.raises(KeyboardInterrupt):  # someone pressing again: the crash path, partial file kept
            app._on_stop_signal(signal.SIGINT, None)
    finally:
        app.close()
