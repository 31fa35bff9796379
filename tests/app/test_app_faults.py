"""The show survives its faults: a camera pulled out mid-show, a worker that keeps failing, bad control files."""

import pytest

from installation.ops.status import read_status
from installation.testing.waiting import wait_for


class PluggableCamera:
    """The demo camera with a cable that the test can pull out and put back."""

    def __init__(self):
        import threading

        from installation.sources.demo import DemoSource

        self.inner = DemoSource(size=(160, 90), fps=30.0)
        self.description = "pluggable test camera"
        self.plugged = True
        self.refused_opens = 0  # open() calls while unplugged
        self.reopened = threading.Event()  # set by the first open() after a replug
        self._cable = threading.Lock()

    def plug(self, plugged):
        """Returns how many opens were refused so far (none can be in flight while the cable moves)."""
        with self._cable:
            self.plugged = plugged
            return self.refused_opens

    def open(self):
        with self._cable:
            if not self.plugged:
                self.refused_opens += 1
                raise ConnectionError("no such device")
        self.inner.open()
        if self.refused_opens:
            self.reopened.set()

    def read(self):
        if not self.plugged:
            raise ConnectionError("device unplugged")
        return self.inner.read()

    def close(self):
        self.inner.close()


def test_camera_unplugged_mid_show_keeps_the_dream_alive_and_resumes_when_it_is_back(presets_dir, tmp_path, make_app):
    """Events, not a stopwatch: the first reconnect attempt after the replug opens the camera (so the
    return takes at most one backoff delay, whose cap test_capture checks), the worker's mode goes back
    to camera and camera frames flow again. Timeouts here only guard against a hang."""
    import threading

    from installation.sources.capture import Backoff

    camera = PluggableCamera()
    app = make_app(presets_dir, tmp_path, source="test", seconds=120, out=tmp_path / "u.mp4",
                   source_factory=lambda spec: camera)
    codes = []
    runner = threading.Thread(target=lambda: codes.append(app.run()))
    runner.start()
    try:
        wait_for(lambda: app.worker.health().frames > 3, "first dreams", timeout=30)
        camera.plug(False)
        wait_for(lambda: app.worker.health().mode == "source-lost", "the source-lost loop", timeout=15)
        assert app.capture.health().state == "reconnecting"
        seq = app.worker.health().frames
        wait_for(lambda: app.worker.health().frames > seq + 3, "dreams while the camera is gone", timeout=10)
        refused = camera.plug(True)
        assert camera.reopened.wait(30), "the camera was never opened again"
        assert camera.refused_opens == refused  # back on the first attempt after the replug
        assert Backoff().cap < 5.0  # so back within 5 s of the replug
        wait_for(lambda: app.capture.health().state == "ok" and app.worker.health().mode == "camera",
                 "the worker to dream the camera again", timeout=30)
        assert app.capture.health().reconnects >= 1
        source_seq = app.worker.latest().source_seq
        wait_for(lambda: app.worker.latest().source_seq > source_seq + 3 and app.worker.latest().mode == "camera",
                 "camera frames to flow into the dream", timeout=30)
    finally:
        app.stop()
        runner.join(30)
    assert codes == [0]


def test_a_worker_that_keeps_failing_ends_the_process_non_zero(presets_dir, tmp_path, monkeypatch, make_app):
    from installation.dreaming.backend_choice import BackendChooser

    def broken_gradient(self, net, objective, size):
        def gradient(image):
            raise RuntimeError("simulated engine fault")

        return gradient

    monkeypatch.setattr(BackendChooser, "__call__", broken_gradient)
    app = make_app(presets_dir, tmp_path, seconds=120, out=tmp_path / "f.mp4")
    assert app.run() == 1
    status = read_status(tmp_path / "status.json")
    assert status["worker"]["state"] == "fatal"
    assert status["errors"] >= 10
    assert "simulated engine fault" in status["worker"]["last_error"]


@pytest.mark.parametrize(("flag", "content", "message"), [
    ("--schedule", "timezone: Europe/Berlin\nweekly:\n  mondy: 10:00-18:00\n",
     "weekly.mondy: unknown weekday 'mondy' (did you mean 'monday'?)"),
    ("--bindings", "keyboard:\n  q: quitt\n", "unknown action 'quitt' (did you mean 'quit'?)"),
])
def test_bad_control_file_at_start_is_one_line_exit_2(tmp_path, capsys, flag, content, message):
    import run

    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    code = run.main(["live", "--source", "demo", "--headless", "--frames", "1", "--no-midi", flag, str(bad)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("error: ") and str(bad) in err[-1] and message in err[-1]


