"""Files that are not files, or not presets (issue 20.2 and 20.12): a FIFO, /dev/zero, /etc/passwd.

Each must be a one-line refusal within moments, in the commands and in a running show's
reload thread, and the show's shutdown must not wait on that thread for ever. Every
call that could block runs under `within`, so a regression fails instead of hanging.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest

import run
from installation import HOME
from installation.common.userfile import display_path
from installation.ops.housekeeping import Housekeeping
from installation.outputs.images import write_image
from installation.presets.hot_reload import HotReloader, watch_presets
from installation.presets.loader import PresetLibrary, load_preset
from tests.refusals import one_line_error

PASSWD = "root:x:0:0:root:/root:/bin/bash\n" + "".join(
    f"user{n}:x:{1000 + n}:{1000 + n}:User {n}:/home/user{n}:/bin/sh\n" for n in range(300)
)


T = TypeVar("T")


def within(seconds: float, call: Callable[[], T]) -> T:
    """`call()`'s result, or a failure if it takes longer (a blocked read must fail the test, not hang it)."""
    outcome: list[object] = []

    def target() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # noqa: BLE001 - handed back to the test thread
            outcome.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still blocked after {seconds} s"
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]  # type: ignore[return-value]


def main(argv: list[str]) -> int:
    try:
        return run.main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)




# ---------------------------------------------------------------------------- a running show


@pytest.mark.parametrize("replacement", ["fifo", "dev-zero"])
def test_the_reload_thread_reports_a_preset_replaced_by_a_fifo_or_dev_zero(folder: Path, replacement: str) -> None:
    """The real housekeeping thread polls the real reloader: an error arrives, and shutdown returns."""
    library = PresetLibrary(folder)
    reported = threading.Event()
    errors: list[str] = []

    def on_error(message: str) -> None:
        errors.append(message)
        reported.set()

    reloader = HotReloader(on_error=on_error, interval=0.05)
    applied: list[object] = []
    watch_presets(reloader, library, ["melt"], applied.append)
    housekeeping = Housekeeping([reloader.poll], interval_s=0.05).start()
    try:
        melt = folder / "melt.yaml"
        melt.unlink()
        os.mkfifo(melt) if replacement == "fifo" else melt.symlink_to("/dev/zero")
        assert reported.wait(20), "the reload thread never reported the broken preset"
        kind = "a FIFO (named pipe)" if replacement == "fifo" else "a character device"
        assert errors == [f"{display_path(melt)}{' (a link to /dev/zero)' if replacement != 'fifo' else ''} "
                          f"is {kind}; a preset must be a regular file"]  # fmt: skip
        assert applied == [] and reloader.errors == {"preset melt": errors[0]}
    finally:
        within(10, housekeeping.close)


def test_shutdown_does_not_wait_for_ever_on_a_stuck_housekeeping_round() -> None:
    stuck, release = threading.Event(), threading.Event()

    def chore() -> None:
        stuck.set()
        release.wait(60)  # a disk that does not answer

    housekeeping = Housekeeping([chore], interval_s=0.01).start()
    assert stuck.wait(10)
    try:
        within(5, lambda: housekeeping.close(timeout_s=0.2))
    finally:
        release.set()


# ---------------------------------------------------------------------------- the commands


def test_presets_check_of_a_fifo_is_one_line_exit_2_in_a_real_process(folder: Path) -> None:
    fifo = folder / "pipe.yaml"
    os.mkfifo(fifo)
    result = subprocess.run([sys.executable, str(HOME / "run.py"), "presets", "--check", str(fifo)],
                            capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "is a FIFO (named pipe); a preset must be a regular file" in result.stderr


def test_a_guide_image_that_is_a_fifo_is_refused(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(folder / "guide.jpg")
    preset = folder / "guided.yaml"
    preset.write_text("objective: {guide: guide.jpg, layer: fire7}\n")
    assert within(30, lambda: main(["presets", "--check", str(preset)])) == 2
    assert "key 'objective': guide image " in one_line_error(capsys)


def test_from_image_of_a_fifo_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(tmp_path / "shot.png")
    argv = ["presets", "--from-image", str(tmp_path / "shot.png"), "-o", str(tmp_path / "found.yaml")]
    assert within(30, lambda: main(argv)) == 2
    assert "is a FIFO (named pipe); a picture must be a regular file" in one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot.png"]


def test_render_of_a_fifo_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(tmp_path / "clip.mp4")
    argv = ["render", str(tmp_path / "clip.mp4"), "-o", str(tmp_path / "out.mp4")]
    assert within(60, lambda: main(argv)) == 2
    assert "is a FIFO (named pipe); a render input must be a regular file" in one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_a_guide_that_is_a_link_to_dev_zero_is_refused(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "guide.png").symlink_to("/dev/zero")
    write_image(folder / "fine.png", np.zeros((64, 64, 3), np.uint8))
    preset = folder / "guided.yaml"
    preset.write_text("objective: {guide: guide.png, layer: fire7}\n")
    assert within(30, lambda: main(["presets", "--check", str(preset)])) == 2
    assert "(a link to /dev/zero) is a character device; a guide image must be a regular file" in one_line_error(
        capsys
    )


# ---------------------------------------------------------------------------- what errors quote


def passwd_error(folder: Path) -> str:
    (folder / "passwd").write_text(PASSWD)
    (folder / "melt.yaml").unlink()
    (folder / "melt.yaml").symlink_to(folder / "passwd")
    with pytest.raises(ValueError) as caught:
        load_preset(folder / "melt.yaml")
    return str(caught.value)


def test_a_preset_linked_to_a_passwd_file_quotes_a_short_escaped_excerpt(folder: Path) -> None:
    message = passwd_error(folder)
    shown = display_path(folder / "melt.yaml")
    assert message.startswith(f"{shown}: must be a mapping of keys to values, got 'root:x:0:0:root:/root:/bin/bash")
    assert len(message) < 200 + len(shown) and "\n" not in message and "user299" not in message
    assert message.endswith(" more characters)'")


@pytest.mark.skipif(not Path("/etc/passwd").is_file(), reason="no /etc/passwd here")
def test_the_real_etc_passwd_is_not_echoed(folder: Path) -> None:
    (folder / "melt.yaml").unlink()
    (folder / "melt.yaml").symlink_to("/etc/passwd")
    with pytest.raises(ValueError) as caught:
        load_preset(folder / "melt.yaml")
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 200 + len(str(folder))


def test_the_reload_error_shown_on_the_hud_and_status_is_the_short_one(folder: Path) -> None:
    library = PresetLibrary(folder)
    errors: list[str] = []
    reloader = HotReloader(on_error=errors.append)
    watch_presets(reloader, library, ["melt"], lambda preset: None)
    message = passwd_error(folder)
    for moment in (1.0, 2.0):
        reloader.poll(moment)
    assert errors == [message] and reloader.errors == {"preset melt": message}


def test_keys_and_values_with_newlines_or_escapes_are_quoted_escaped(folder: Path) -> None:
    preset = folder / "evil.yaml"
    preset.write_text('"\\e[2Jevil\\nkey": 1\n')
    with pytest.raises(ValueError) as caught:
        load_preset(preset)
    assert "unknown key '\\x1b[2Jevil\\nkey'" in str(caught.value) and "\x1b" not in str(caught.value)
    preset.write_text('network: "squeeze\\nnet\\e[0m"\n')
    with pytest.raises(ValueError) as caught:
        load_preset(preset)
    assert "got 'squeeze\\nnet\\x1b[0m'" in str(caught.value)
