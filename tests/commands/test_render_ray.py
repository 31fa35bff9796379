"""`run.py render --ray` from the command line: a real local Ray started for the run, and the refusals that
must come before anything is written (one line, exit 2)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import run
from installation import HOME
from installation.outputs.video_io import count_frames, probe
from installation.rendering.split.folder import ChunkFolder
from installation.rendering.split.plan import ChunkPlan
from installation.rendering.work_folder import work_folder
from installation.testing.clips import pattern_clip
from installation.testing.ports import free_port
from installation.testing.waiting import wait_until

FRAMES = 30
QUICK = ["--octaves", "1", "--steps", "1", "--layers", "fire3", "--size", "48x32"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return pattern_clip(tmp_path_factory.mktemp("cli_clip") / "clip.mp4", FRAMES)


def render_process(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "run.py", "render", *args], cwd=HOME, capture_output=True, text=True,
                          timeout=240, check=False)  # fmt: skip


def assert_refused(result: subprocess.CompletedProcess[str], output: Path, message: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr
    assert lines[0].startswith("error: ")
    assert not output.exists() and not work_folder(output).exists()


def test_render_on_a_local_ray_started_for_the_run(clip, tmp_path):
    output = tmp_path / "out.mp4"
    result = render_process(str(clip), "-o", str(output), "--ray", "--chunk-frames", "10", *QUICK)
    assert result.returncode == 0, result.stderr
    assert count_frames(output) == FRAMES and probe(output).streams == ("video", "audio")
    assert probe(output).size == (48, 32)
    assert f"{FRAMES}/{FRAMES} frames" in result.stderr and "/2 workers busy" in result.stderr
    assert "Traceback" not in result.stderr and not work_folder(output).exists()


def test_a_gpu_asked_of_a_cluster_without_one_is_refused_before_anything_is_written(clip, tmp_path):
    output = tmp_path / "gpu.mp4"
    result = render_process(str(clip), "-o", str(output), "--ray", "--device", "cuda", *QUICK)
    assert_refused(result, output, "--device cuda, which needs a GPU, and a local Ray has none")


def test_an_unreachable_cluster_is_one_line(clip, tmp_path):
    output = tmp_path / "far.mp4"
    result = render_process(str(clip), "-o", str(output), "--ray", "127.0.0.1:9", *QUICK)
    assert_refused(result, output, "cannot reach the Ray cluster at 127.0.0.1:9: Connection refused")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--ray", "ray://10.0.0.5:10001"], "Ray Client cannot stream the frames back"),
        (["--ray", "nowhere"], "--ray address 'nowhere' must be auto or HOST:PORT"),
        (["--chunk-frames", "10"], "--chunk-frames splits a render across Ray: use it with --ray"),
        (["--ray", "--chunk-frames", "0"], "chunk_frames must be between 1 and 100000, got 0"),
    ],
)
def test_misuse_is_one_line_and_exit_2(clip, tmp_path, capsys, arguments, message):
    output = tmp_path / "misuse.mp4"
    try:
        code = run.main(["render", str(clip), "-o", str(output), *arguments, *QUICK])
    except SystemExit as exit_:  # argparse's own one-line refusal
        code = exit_.code
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not output.exists() and not work_folder(output).exists()


def test_ray_not_installed_is_one_line_with_the_install_command(clip, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    output = tmp_path / "noray.mp4"
    assert run.main(["render", str(clip), "-o", str(output), "--ray", *QUICK]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["error: render --ray needs Ray, which is not installed here: pip install -r "
                     "requirements-ray.txt"]  # fmt: skip
    assert not output.exists() and not work_folder(output).exists()


def test_a_split_render_is_not_resumed_on_one_machine(clip, tmp_path, capsys):
    output = tmp_path / "split.mp4"
    plan = ChunkPlan(FRAMES, 10, 0)
    ChunkFolder(output).open({"chunks": plan.manifest()}, plan, (48, 32), resume=False)
    assert run.main(["render", str(clip), "-o", str(output), "--resume", *QUICK]) == 2
    assert "split into chunks: continue it with --ray --resume" in capsys.readouterr().err


def test_render_on_a_running_cluster_by_its_address(clip, tmp_path):
    """`ray start --head` as on a real head node; the render joins it by HOST:PORT and ships this checkout's code.

    The head runs in the foreground (--block) in its own process group, killed as a group at the end: this
    cluster only (`ray stop` would stop every Ray on the machine), at once (a graceful stop takes 30 s)."""
    port = free_port()
    head = subprocess.Popen([str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
                             "--port", str(port), "--num-cpus", "2", "--include-dashboard=false",
                             "--disable-usage-stats"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        assert wait_until(lambda: reachable(port), timeout=60, interval=0.2), f"no Ray head on port {port}"
        output = tmp_path / "cluster.mp4"
        result = render_process(str(clip), "-o", str(output), "--ray", f"127.0.0.1:{port}", "--chunk-frames", "10",
                                *QUICK)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert count_frames(output) == FRAMES and probe(output).streams == ("video", "audio")
    finally:
        os.killpg(head.pid, signal.SIGKILL)
        head.wait(timeout=60)


def reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def test_auto_with_a_stale_address_file_is_one_line_within_seconds(clip, tmp_path):
    """An earlier `ray start` leaves <temp>/ray/ray_current_cluster behind; with that cluster gone, --ray auto
    joined it through Ray's connection retries for minutes. Ray 2.60 finds that file under $RAY_TMPDIR."""
    from ray._private.services import find_gcs_addresses

    if find_gcs_addresses():
        pytest.skip("a Ray runs on this machine: --ray auto would join it, not the stale file's address")
    port = free_port()  # nobody listens there
    (tmp_path / "ray").mkdir()
    address_file = tmp_path / "ray" / "ray_current_cluster"
    address_file.write_text(f"127.0.0.1:{port}")
    output = tmp_path / "stale.mp4"
    environment = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    start = time.monotonic()
    result = subprocess.run([sys.executable, "run.py", "render", str(clip), "-o", str(output), "--ray", "auto",
                             *QUICK], cwd=HOME, capture_output=True, text=True, timeout=60, check=False,
                            env={**environment, "RAY_TMPDIR": str(tmp_path)})  # fmt: skip
    assert time.monotonic() - start < 30
    assert_refused(result, output, f"cannot reach the Ray cluster at 127.0.0.1:{port} (from {address_file}, "
                   "written by an earlier `ray start`): Connection refused")  # fmt: skip
