"""The status file (README, kiosk operation): a JSON snapshot rewritten atomically about once a second."""

from installation.ops.status import StatusFile, read_status


def test_rewritten_once_a_second_atomically(tmp_path):
    now = [100.0]
    path = tmp_path / "status.json"
    status = StatusFile(path, clock=lambda: now[0])
    writes = []
    for t, frames in ((100.0, 1), (100.5, 2), (100.99, 3), (101.0, 4), (101.2, 5), (102.1, 6)):
        now[0] = t
        if status.maybe_write(lambda frames=frames: {"frames": frames}):
            writes.append((t, read_status(path)["frames"]))
    assert writes == [(100.0, 1), (101.0, 4), (102.1, 6)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["status.json"]  # no temporary file left behind
