"""Issue 10, day one at the gallery: small, huge, unreadable and clashing inputs and outputs.

Every misuse exits 2 with one line on stderr and leaves nothing behind. Real processes
only where the process's own stderr is the point (C libraries write to fd 2 directly).
"""

from __future__ import annotations

import resource
import shutil
import signal
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import run
from engine.errors import DreamwallError
from engine.objectives import LayerEnergy
from engine.step import OctaveParams, StepParams, dream_octaves
from installation.outputs.images import dreamable_size, read_image, write_image
from installation.outputs.video_io import open_source as open_video
from installation.outputs.video_io import probe
from installation.rendering.work_folder import work_folder
from installation.sources.openers import open_source

ROOT = Path(__file__).resolve().parents[2]
TINY_GIF = Path(__import__("skimage").data_dir) / "no_time_for_that_tiny.gif"  # 14x25, 24 frames
FAST = ["--steps", "1", "--octaves", "1"]


def exit_code(argv: list[str]) -> int:
    try:
        return run.main(argv)
    except SystemExit as exit_:
        return int(exit_.code)


def run_cli(*args: str, **options: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          **options)  # fmt: skip


def png(path: Path, width: int, height: int) -> Path:
    rng = np.random.default_rng(width * 1000 + height)
    write_image(path, rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    return path


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height and holds a few bytes of pixels: only a header check sizes it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)))
    return path


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    return lines[0]


# -- 4: smaller than the network's minimum -------------------------------------------------


@pytest.mark.parametrize(("size", "extra"), [((1, 1), []), ((8, 8), []), ((14, 25), []),
                                             ((64, 48), ["--size", "16x16"])])  # fmt: skip
def test_small_images_are_dreamed_upscaled_and_scaled_back(size, extra, tmp_path, capsys):
    source = png(tmp_path / "small.png", *size)
    out = tmp_path / "out.png"
    assert exit_code(["dream", str(source), "-o", str(out), *FAST, "--octaves", "3", *extra]) == 0
    expected = (16, 16) if extra else size
    assert read_image(out).shape == (expected[1], expected[0], 3)


def test_the_tiny_gif_renders_at_its_own_size_and_leaves_no_work_folder(tmp_path, capsys):
    out = tmp_path / "gif.mp4"
    assert exit_code(["render", str(TINY_GIF), "-o", str(out), *FAST]) == 0  # the preset's fire layer needs 17 px
    assert probe(out).size == (14, 26)  # yuv420p pads the odd side by one pixel
    assert not work_folder(out).exists()


def test_dreamable_size_keeps_the_aspect_and_refuses_only_the_impossibly_thin():
    assert dreamable_size((640, 360), "squeezenet1_1") == (640, 360)
    assert dreamable_size((1, 1), "squeezenet1_1") == (32, 32)
    assert dreamable_size((14, 25), "squeezenet1_1") == (32, 58)
    with pytest.raises(DreamwallError, match=r"a 1x300 picture is too thin to dream: squeezenet1_1 needs at "
                                             r"least 32 px on each side, which makes it 32x9600"):  # fmt: skip
        dreamable_size((1, 300), "squeezenet1_1")


def test_the_octave_pyramid_stops_at_the_min_dream_side(squeezenet, monkeypatch):
    monkeypatch.setattr("engine.step.min_dream_side", lambda name: 48)
    seen: list[tuple[int, int]] = []

    def gradient(image):
        seen.append(tuple(image.shape[-2:]))
        return torch.zeros_like(image)

    image = torch.rand(1, 3, 100, 100)
    dream_octaves(squeezenet, image, LayerEnergy("fire3"), StepParams(), OctaveParams(4, 1.4, 1),
                  torch.Generator().manual_seed(0), gradient)  # fmt: skip
    assert seen == [(51, 51), (71, 71), (100, 100)]  # 36x36 would be below 48
    with pytest.raises(DreamwallError, match=r"image is 40x40; squeezenet1_1 dreams at least 48x48"):
        dream_octaves(squeezenet, torch.rand(1, 3, 40, 40), LayerEnergy("fire3"), StepParams(),
                      OctaveParams(2, 1.4, 1), torch.Generator(), gradient)  # fmt: skip


# -- 5: larger than the limit, seen in the header ------------------------------------------


def test_an_8000x8000_image_is_refused_from_its_header(tmp_path, capsys):
    big = png_header_only(tmp_path / "big.png", 8000, 8000)
    limit = "is 8000x8000 = 64.0 Mpx, more than the limit of 7680x4320 = 33.2 Mpx; scale it down first"
    assert exit_code(["dream", str(big), "-o", str(tmp_path / "out.png")]) == 2
    assert one_line(capsys.readouterr().err) == f"error: image {big} {limit}"
    folder = tmp_path / "frames"
    folder.mkdir()
    shutil.copy(big, folder / "0001.png")
    assert exit_code(["render", str(folder), "-o", str(tmp_path / "out.mp4")]) == 2
    assert one_line(capsys.readouterr().err) == f"error: image {folder / '0001.png'} {limit}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.png", "frames"]


# -- 10 and 11: one output-path rule ---------------------------------------------------------


@pytest.fixture
def cat(tmp_path) -> Path:
    return png(tmp_path / "cat.png", 40, 40)


@pytest.mark.parametrize(("argv", "message"), [
    (["dream", "{cat}", "-o", "/proc/x.png"],
     "error: output folder is not writable: /proc (No such file or directory)"),
    (["dream", "{cat}", "-o", "/sys/x.png"], "error: output folder is not writable: /sys (Permission denied)"),
    (["dream", "{cat}", "-o", "{tmp}/folder.png"],
     "error: output {tmp}/folder.png exists and is not a regular file (a folder or a device); "
     "expected the name of a file to write"),
    (["dream", "{cat}", "-o", "{tmp}/full.png"],
     "error: output {tmp}/full.png exists and is not a regular file (a folder or a device); "
     "expected the name of a file to write"),
    (["render", str(TINY_GIF), "-o", "{tmp}/folder.mp4"],
     "error: output {tmp}/folder.mp4 exists and is not a regular file (a folder or a device); "
     "expected the name of a file to write"),
    (["dream", "{cat}", "-o", "{cat}"],
     "error: output {cat} is the input file; choose another name, or add --overwrite to replace the input"),
    (["render", "{tmp}/clip.mp4", "-o", "{tmp}/clip.mp4"],
     "error: output {tmp}/clip.mp4 is the input file; choose another name, or add --overwrite to replace the input"),
    (["live", "--headless", "--source", "demo", "--out", "/proc/x.mp4"],
     "error: output folder is not writable: /proc (No such file or directory)"),
    (["live", "--headless", "--source", "demo", "--out", "{tmp}/x.xyz"],
     "error: output {tmp}/x.xyz needs a video extension: .mp4, .m4v, .mov"),
    (["live", "--headless", "--source", "demo", "--out", "{tmp}/missing/dir/x.mp4"],
     "error: output folder does not exist: {tmp}/missing/dir"),
])  # fmt: skip
def test_outputs_that_cannot_be_written_fail_first_in_one_line(argv, message, cat, tmp_path, capsys):
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "folder.mp4").mkdir()
    (tmp_path / "full.png").symlink_to("/dev/full")  # replacing it would replace the device node
    (tmp_path / "clip.mp4").write_bytes(b"stands in for a video: the output check comes first")
    before = sorted(tmp_path.rglob("*"))
    values = {"cat": cat, "tmp": tmp_path}
    assert exit_code([a.format(**values) for a in argv]) == 2
    assert one_line(capsys.readouterr().err) == message.format(**values)
    assert sorted(tmp_path.rglob("*")) == before, "nothing created, nothing left behind"
    assert cat.read_bytes() == png(tmp_path / "again.png", 40, 40).read_bytes(), "the input is untouched"


def test_overwrite_lets_the_dream_replace_its_input(cat, capsys):
    original = read_image(cat)
    assert exit_code(["dream", str(cat), "-o", str(cat), *FAST, "--overwrite"]) == 0
    assert read_image(cat).shape == original.shape and not np.array_equal(read_image(cat), original)
    assert sorted(p.name for p in cat.parent.iterdir()) == ["cat.png"]


def _small_file_limit() -> None:
    """In the child: files may not grow past 64 kB, and that is an error (EFBIG), not a kill."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))


def test_a_write_that_fails_midway_is_one_line_and_leaves_nothing(tmp_path):
    source = png(tmp_path / "noise.png", 200, 200)  # ~120 kB as PNG: past the limit
    out = tmp_path / "out.png"
    result = run_cli("dream", str(source), "-o", str(out), *FAST, preexec_fn=_small_file_limit)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    # past the start the log has spoken (backend, progress); the failure is the last line
    assert result.stderr.splitlines()[-1] == f"error: cannot write {out}: File too large"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["noise.png"]


def test_a_render_whose_disk_fills_keeps_its_frames_and_says_how_to_continue(tmp_path, capsys, monkeypatch):
    from installation.rendering import work_folder as render_work

    def full_at_frame_2(path: Path, rgb: np.ndarray) -> None:
        if path.name == "000002.png":
            raise DreamwallError(f"cannot write {path}: No space left on device")
        write_image(path, rgb)

    monkeypatch.setattr(render_work, "write_image", full_at_frame_2)
    out = tmp_path / "out.mp4"
    assert exit_code(["render", str(TINY_GIF), "-o", str(out), *FAST, "--layers", "fire3"]) == 2
    work = work_folder(out)
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: cannot write {work}/frames/000002.png: No space left on device; 2 finished frames are kept in "
        f"{work}: make room and run the same command with --resume")
    assert (work / "frames" / "000001.png").is_file() and not out.exists()


# -- 9: a --source file that gives no frame --------------------------------------------------


def test_a_source_file_without_frames_is_refused_at_start(tmp_path):
    text = tmp_path / "some.txt"
    text.write_text("not a video")
    with pytest.raises(DreamwallError, match=rf"source {text}: no video frame can be read from it; expected"):
        open_source(str(text))
    result = run_cli("live", "--headless", "--frames", "2", "--source", str(text), "--out", str(tmp_path / "o.mp4"))
    assert result.returncode == 2
    assert one_line(result.stderr).startswith(f"error: source {text}: no video frame can be read from it")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["some.txt"]


def test_a_real_video_file_source_still_opens(tmp_path):
    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"mp4v"), 10, (64, 48))
    for index in range(3):
        writer.write(np.full((48, 64, 3), 40 * index, dtype=np.uint8))
    writer.release()
    source = open_source(str(clip))
    source.open()
    try:
        assert source.read().shape == (48, 64, 3)
    finally:
        source.close()


# -- 12: resume checks what it keeps ---------------------------------------------------------


@pytest.fixture(scope="module")
def kept_render(tmp_path_factory) -> tuple[Path, Path]:
    """A finished render of a 3-image folder whose work folder was kept: (input folder, work folder)."""
    base = tmp_path_factory.mktemp("kept")
    folder = base / "in"
    folder.mkdir()
    for index in range(3):
        png(folder / f"{index}.png", 40, 32 + index)
    out = base / "out.mp4"
    assert exit_code(["render", str(folder), "-o", str(out), *FAST, "--layers", "fire3", "--keep-frames"]) == 0
    return folder, work_folder(out)


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-20])


@pytest.mark.parametrize(("damage", "message"), [
    (lambda w: (w / "state.json").write_text('{"done": 99999}'),
     "{w}/state.json says 99999 frames are done, expected a whole number from 0 to 3; delete {w} and render again"),
    (lambda w: (w / "state.json").write_text('{"done": -5}'),
     "{w}/state.json says -5 frames are done, expected a whole number from 0 to 3; delete {w} and render again"),
    (lambda w: (w / "state.json").write_text('{"done": "2"}'),
     "{w}/state.json says '2' frames are done, expected a whole number from 0 to 3; delete {w} and render again"),
    (lambda w: truncate(w / "frames" / "000001.png"),
     "cannot resume: cannot decode image {w}/frames/000001.png: the file is empty, corrupt or not an image; "
     "delete {w} and render again"),
    (lambda w: (w / "frames" / "000000.png").unlink(),
     "cannot resume: image not found: {w}/frames/000000.png; delete {w} and render again"),
    (lambda w: truncate(w / "last_dream.png"),
     "cannot resume: cannot decode image {w}/last_dream.png: the file is empty, corrupt or not an image; "
     "delete {w} and render again"),
])  # fmt: skip
def test_resume_refuses_a_damaged_work_folder_in_one_line(damage, message, kept_render, tmp_path, capsys):
    folder, kept = kept_render
    out = tmp_path / "out.mp4"
    work = work_folder(out)
    shutil.copytree(kept, work)
    damage(work)
    assert exit_code(["render", str(folder), "-o", str(out), *FAST, "--layers", "fire3", "--resume"]) == 2
    assert one_line(capsys.readouterr().err) == "error: " + message.format(w=work)
    assert not out.exists()


def test_resume_of_an_intact_work_folder_finishes(kept_render, tmp_path, capsys):
    folder, kept = kept_render
    out = tmp_path / "out.mp4"
    shutil.copytree(kept, work_folder(out))
    (work_folder(out) / "state.json").write_text('{"done": 2}')
    assert exit_code(["render", str(folder), "-o", str(out), *FAST, "--layers", "fire3", "--resume"]) == 0
    assert open_video(out).info.frame_count == 3


# -- 14: the error is the one line a person reads --------------------------------------------


def test_a_truncated_png_is_one_line_in_a_real_process(tmp_path):
    """libpng reports on fd 2 itself ("libpng error: ..."), OpenCV adds a WARN line: neither may show."""
    broken = png(tmp_path / "broken.png", 64, 64)
    broken.write_bytes(broken.read_bytes()[:-1])
    out = tmp_path / "out.png"
    result = run_cli("dream", str(broken), "-o", str(out))
    assert result.returncode == 2
    assert result.stderr == f"error: cannot decode image {broken}: the file is empty, corrupt or not an image\n"


def test_start_logs_are_held_until_the_start_passed_and_shown_with_verbose(kept_render, tmp_path, capsys):
    folder, kept = kept_render
    out = tmp_path / "out.mp4"
    shutil.copytree(kept, work_folder(out))
    (work_folder(out) / "state.json").write_text('{"done": -1}')
    argv = ["render", str(folder), "-o", str(out), *FAST, "--resume"]
    assert exit_code(argv) == 2
    assert one_line(capsys.readouterr().err).startswith("error: ")  # the INFO line about the input was held
    assert exit_code(["-v", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert any(f"INFO installation.commands.render: {folder}: 3 frames" in line for line in err)
    assert err[-1].startswith("error: ")
    shutil.rmtree(work_folder(out))
    assert exit_code(argv) == 0  # a start that passes releases the held lines into the log
    assert f"INFO installation.commands.render: {folder}: 3 frames" in capsys.readouterr().err
