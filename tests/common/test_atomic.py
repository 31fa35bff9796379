import os
import stat

import pytest

from installation.common.atomic import atomic_path, atomic_write_text


def test_atomic_write_gives_normal_permissions(tmp_path):
    target = tmp_path / "shot.png"
    old = os.umask(0o022)
    try:
        atomic_write_text(target, "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "status.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as temp:
        temp.write_text("half")
        raise RuntimeError("disk vanished")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]
