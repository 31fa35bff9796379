"""The token on disk: made once, 0600, kept across starts, rotated on demand; the bind rule."""

from __future__ import annotations

import os
import stat

import pytest

from engine.errors import DreamwallError
from installation.web import auth
from installation.web.auth import TOKEN_FILE, load_token, needs_token


def test_the_token_is_made_once_stored_0600_and_rotated(tmp_path):
    first, new = load_token(tmp_path / "state")
    path = tmp_path / "state" / TOKEN_FILE
    assert new and len(first) >= 24
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_token(tmp_path / "state") == (first, False)
    rotated, new = load_token(tmp_path / "state", rotate=True)
    assert new and rotated != first and path.read_text().strip() == rotated
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_loosened_token_file_is_tightened(tmp_path):
    token, _ = load_token(tmp_path)
    (tmp_path / TOKEN_FILE).chmod(0o644)
    assert load_token(tmp_path) == (token, False)
    assert stat.S_IMODE((tmp_path / TOKEN_FILE).stat().st_mode) == 0o600


def test_only_loopback_binds_go_without_a_token():
    assert not needs_token("127.0.0.1") and not needs_token("localhost") and not needs_token("::1")
    assert needs_token("0.0.0.0") and needs_token("192.168.1.20") and needs_token("::")


def test_a_symlinked_token_file_is_refused_and_its_target_left_alone(tmp_path):
    """Its target was printed as the token and chmodded 0600 (a key someone else chose, or /etc/shadow's mode)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("not-a-token-but-readable-by-others\n")
    secret.chmod(0o644)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / TOKEN_FILE).symlink_to(secret)
    for rotate in (False, True):
        with pytest.raises(DreamwallError, match=f"web token {tmp_path}/state/{TOKEN_FILE} is a symlink"):
            load_token(tmp_path / "state", rotate=rotate)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o644 and secret.read_text().startswith("not-a-token")


def test_another_users_token_file_is_refused(tmp_path, monkeypatch):
    load_token(tmp_path)
    me = os.geteuid()
    monkeypatch.setattr(auth.os, "geteuid", lambda: me + 1)  # the file now belongs to someone else
    with pytest.raises(DreamwallError, match=f"belongs to user id {me}, not to you \\({me + 1}\\)"):
        load_token(tmp_path)


def test_a_fifo_or_a_folder_at_the_token_name_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / TOKEN_FILE)  # nobody writes to it: a blocking open would wait for ever
    with pytest.raises(DreamwallError, match="is not a regular file"):
        load_token(tmp_path)
    (tmp_path / TOKEN_FILE).unlink()
    (tmp_path / TOKEN_FILE).mkdir()
    with pytest.raises(DreamwallError, match="is a folder"):
        load_token(tmp_path)

