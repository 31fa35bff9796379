"""The safe reader of user files, the excerpt of untrusted text and numbers as given (issue 20: 2, 12, 14)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.errors import DreamwallError, check_range, excerpt, number_text
from installation.common.userfile import check_regular_file, display_path, read_user_file


def refusal(path: Path, what: str = "preset", max_bytes: int = 1024) -> str:
    with pytest.raises(DreamwallError) as caught:
        read_user_file(path, what, max_bytes)
    return str(caught.value)


def test_a_regular_file_and_a_link_to_one_are_read(tmp_path: Path) -> None:
    path = tmp_path / "melt.yaml"
    path.write_bytes(b"lr: 0.02\n")
    (tmp_path / "link.yaml").symlink_to(path)
    assert read_user_file(path, "preset", 1024) == b"lr: 0.02\n"
    assert read_user_file(tmp_path / "link.yaml", "preset", 1024) == b"lr: 0.02\n"


@pytest.mark.timeout(20)  # a read that blocks fails the test (SIGALRM interrupts it) instead of hanging
def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "melt.yaml"
    os.mkfifo(fifo)
    assert refusal(fifo) == f"{display_path(fifo)} is a FIFO (named pipe); a preset must be a regular file"
    with pytest.raises(DreamwallError, match="is a FIFO"):
        check_regular_file(fifo, "render input")


def test_a_link_to_dev_zero_is_refused_without_reading(tmp_path: Path) -> None:
    link = tmp_path / "melt.yaml"
    link.symlink_to("/dev/zero")
    assert refusal(link, max_bytes=10**12) == (
        f"{display_path(link)} (a link to /dev/zero) is a character device; a preset must be a regular file"
    )


def test_a_folder_and_a_missing_file_are_one_line(tmp_path: Path) -> None:
    assert refusal(tmp_path, "guide image").endswith("is a folder; a guide image must be a regular file")
    assert refusal(tmp_path / "none.yaml") == f"{display_path(tmp_path / 'none.yaml')}: file not found"


def test_the_size_cap_is_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * 1025)
    assert refusal(path) == f"{display_path(path)}: file is 1025 bytes, a preset file must be under 1024"
    path.write_bytes(b"#" * 1024)
    assert len(read_user_file(path, "preset", 1024)) == 1024


def test_a_file_name_with_a_newline_or_escape_is_shown_escaped(tmp_path: Path) -> None:
    name = tmp_path / "evil\n\x1b[2J.yaml"
    assert display_path(name).endswith("evil\\n\\x1b[2J.yaml")


def test_an_excerpt_is_short_one_line_and_escaped() -> None:
    passwd = "root:x:0:0:root:/root:/bin/bash\n" * 200 + "\x1b[31mred\u2028\x85\u202e"
    shown = excerpt(passwd)
    assert "\n" not in shown and "\x1b" not in shown and len(shown) < 100
    assert shown.startswith("root:x:0:0:root:/root:/bin/bash\\nroot:x")
    assert shown.endswith(" more characters)")
    assert excerpt("\x1b[31mred\u2028\x85\u202e") == "\\x1b[31mred\\u2028\\x85\\u202e"
    assert excerpt("fire7", None) == "fire7" and excerpt("x" * 500, None) == "x" * 500
    assert excerpt("\n" * 100, 10) == "\\n\\n\\n\\n\\n... (95 more characters)"  # an escape is never cut


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.0000001, "1.0000001"), (3.0, "3"), (0.5, "0.5"), (2**32, "4294967296"), (1e-07, "1e-07"),
     (float("inf"), "inf")],
)  # fmt: skip
def test_numbers_are_shown_as_given(value: float, text: str) -> None:
    assert number_text(value) == text


def test_a_range_error_prints_the_value_as_given_not_rounded() -> None:
    with pytest.raises(DreamwallError) as caught:
        check_range("feedback", 1.0000001, 0.0, 1.0)
    assert str(caught.value) == "feedback must be between 0 and 1, got 1.0000001"
