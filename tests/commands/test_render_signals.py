"""A render stopped by a signal (Ctrl-C, or SIGTERM from `kill`, a stopped service or batch job): real processes,
real signals. Either way the finished frames are kept and the last word is one line with the command that
continues it, for the one-machine render and the split one (where Ray has a SIGTERM handler of its own)."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from installation import HOME
from installation.outputs.video_io import count_frames
from installation.rendering.split.folder import ChunkFolder
from installation.rendering.split.plan import ChunkPlan
from installation.rendering.work_folder import WorkFolder, work_folder
from installation.testing.clips import pattern_clip
from installation.testing.waiting import wait_for

FRAMES = 60
QUICK = ["--octaves", "1", "--steps", "1", "--layers", "fire3", "--size", "48x32"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return pattern_clip(tmp_path_factory.mktemp("signal_clip") / "clip.mp4", FRAMES)


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "run.py", "render", *args], cwd=HOME, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def stop_when(process: subprocess.Popen[str], ready: object, what: str, signum: int) -> tuple[int, str]:
    """Send `signum` once `ready()` is true; (exit status, stderr)."""
    try:
        wait_for(lambda: ready() or process.poll() is not None, what, timeout=180)  # type: ignore[operator]
        assert process.poll() is None, f"finished before the signal: {process.communicate()}"
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, stderr


def continue_with(line: str, kept: str) -> list[str]:
    """The command the last line offers (checked to say what was kept: a pattern), as arguments of this python."""
    head, _, command = line.partition("; continue with: ")
    assert re.fullmatch(f"interrupted {kept}", head) and command, line
    words = shlex.split(command)
    assert words[1:3] == ["run.py", "render"] and words.count("--resume") == 1, command
    return [sys.executable, *words[1:]]


def last_word(stderr: str) -> str:
    """Besides the log and the progress bar, one line: no traceback, no Ray crash output."""
    said = [line for line in stderr.splitlines()
            if line.strip() and not re.match(r"\d{4}-\d\d-\d\d [\d:,]+ (INFO|WARNING) |render fire3 \[", line)]
    assert len(said) == 1, stderr
    return said[0]


def frames_done(output: Path) -> int:
    try:
        return WorkFolder(output).done(FRAMES)
    except Exception:  # noqa: BLE001 - mid-write or not there yet: not ready
        return 0


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)],
                         ids=["SIGTERM", "SIGINT"])  # fmt: skip
def test_a_stopped_render_says_how_to_continue_and_the_resume_finishes_it(clip, tmp_path, signum, status):
    output = tmp_path / "out.mp4"
    code, stderr = stop_when(start(str(clip), "-o", str(output), *QUICK), lambda: frames_done(output) >= 2,
                             "two finished frames", signum)  # fmt: skip
    assert code == status, stderr
    kept = frames_done(output)
    resume = continue_with(last_word(stderr), f"after {kept} of {FRAMES} frames")
    assert resume[3:] == [str(clip), "-o", str(output), *QUICK, "--resume"]
    process = subprocess.Popen(resume, cwd=HOME, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    code, stderr = stop_when(process, lambda: frames_done(output) > kept, "one more frame", signum)
    assert code == status, stderr
    resumed = frames_done(output)
    assert continue_with(last_word(stderr), f"after {resumed} of {FRAMES} frames") == resume  # --resume once
    finished = subprocess.run(resume, cwd=HOME, capture_output=True, text=True, timeout=240, check=False)
    assert finished.returncode == 0, finished.stderr
    assert count_frames(output) == FRAMES and not work_folder(output).exists()


def test_sigterm_stops_a_split_render_and_its_resume_in_one_line(tmp_path):
    clip = pattern_clip(tmp_path / "long.mp4", 160)
    output = tmp_path / "split.mp4"
    plan = ChunkPlan(160, 10, 0)  # the count of chunks is all the test reads from it

    def finished() -> int:
        try:
            return len(ChunkFolder(output).recorded(plan))
        except Exception:  # noqa: BLE001 - not there yet
            return 0

    split = [str(clip), "-o", str(output), "--ray", "--chunk-frames", "10", *QUICK]
    code, stderr = stop_when(start(*split), lambda: finished() >= 1, "a finished chunk", signal.SIGTERM)
    assert code == 143, stderr
    kept = finished()
    resume = continue_with(last_word(stderr), r"with \d+ of 16 chunks finished")
    assert resume[3:] == [*split, "--resume"]
    process = subprocess.Popen(resume, cwd=HOME, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    code, stderr = stop_when(process, lambda: finished() > kept, "one more chunk", signal.SIGTERM)
    assert code == 143, stderr
    assert continue_with(last_word(stderr), r"with \d+ of 16 chunks finished") == resume
    assert finished() > kept  # kept for the next resume
