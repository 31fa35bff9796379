"""`run.py web-token` on a broken state folder or a bad --url: one line on stderr, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

import run
from installation.web.auth import TOKEN_FILE


def web_token(capsys, monkeypatch, state: Path, *arguments: str) -> tuple[int, str, str]:
    monkeypatch.setenv("DREAMWALL_STATE_DIR", str(state))
    code = run.main(["web-token", *arguments])
    out, err = capsys.readouterr()
    return code, out, err


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def broken_state(tmp_path: Path, kind: str) -> tuple[Path, str]:
    """(state folder, what the error line says) for each way the state folder can be wrong."""
    state = tmp_path / "state"
    if kind == "a file":
        state.write_text("not a folder\n")
        return state, f"state folder {state} is not a folder"
    if kind == "unwritable":
        return Path("/proc/self"), "cannot write the web token in /proc/self: "  # unwritable even for root
    state.mkdir()
    if kind == "not UTF-8":
        (state / TOKEN_FILE).write_bytes(b"\xff\xfe\x00token\n")
        return state, "does not hold a token (16 to 512 letters, digits, '-' or '_'); expected a regular file"
    (state / TOKEN_FILE).mkdir()
    return state, f"web token {state / TOKEN_FILE} is a folder"


@pytest.mark.parametrize("kind", ["a file", "unwritable", "not UTF-8", "a folder for the token"])
@pytest.mark.parametrize("rotate", [[], ["--rotate"]])
def test_a_broken_state_folder_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch, kind, rotate):
    state, says = broken_state(tmp_path, kind)
    if kind == "not UTF-8" and rotate:
        code, out, _ = web_token(capsys, monkeypatch, state, *rotate)  # rotating is the way out of a damaged token
        assert code == 0 and out.startswith("new token") and (state / TOKEN_FILE).read_text().strip() in out
        return
    before = files_under(tmp_path)
    code, out, err = web_token(capsys, monkeypatch, state, *rotate)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and says in err and err.count("\n") == 1, err
    assert files_under(tmp_path) == before  # no temp file, no token left behind


@pytest.mark.parametrize(("url", "says"), [
    ("ftp://kiosk:8080", "the scheme must be http or https"),
    ("http://:8080", "needs a host"),
    ("kiosk:99999", "a port from 0 to 65535"),
    ("kiosk:80/?x=1", "no query"),
    ("kiosk 8080", "no query, spaces or control characters"),
])  # fmt: skip
def test_a_bad_url_is_one_line_and_exit_2_before_any_token_is_made(tmp_path, capsys, monkeypatch, url, says):
    with pytest.raises(SystemExit) as stop:
        web_token(capsys, monkeypatch, tmp_path / "state", "--url", url)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.startswith("run.py web-token: error: argument --url: ") and says in err
    assert err.count("\n") == 1 and not (tmp_path / "state").exists()


def test_a_good_url_prints_the_panel_address_with_the_token(tmp_path, capsys, monkeypatch):
    code, out, _ = web_token(capsys, monkeypatch, tmp_path / "state", "--url", "https://dreamwall.example/panel")
    token = (tmp_path / "state" / TOKEN_FILE).read_text().strip()
    assert code == 0 and f"https://dreamwall.example/panel/?token={token}\n" in out
