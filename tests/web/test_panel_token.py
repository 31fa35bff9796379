"""The token on disk: made once, 0600, kept across starts, rotated on demand; the bind rule."""

from __future__ import annotations

import stat

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
