"""Housekeeping: chores on its own thread, results handed back to the show's thread in order."""

import logging
import threading

from installation.ops.housekeeping import Housekeeping, Latest


def test_jobs_handed_from_the_housekeeping_thread_run_on_the_caller_of_run_handed():
    ran_on: list[str] = []
    handed = threading.Event()

    def chore():
        for name in ("first", "second"):
            keeper.hand_over(lambda name=name: ran_on.append(f"{name} on {threading.current_thread().name}"))
        handed.set()

    keeper = Housekeeping([chore], interval_s=0.0)
    keeper.start()
    try:
        assert handed.wait(10.0)
    finally:
        keeper.close()
    assert ran_on == []  # nothing runs on the housekeeping thread itself
    assert keeper.run_handed() >= 2
    here = threading.current_thread().name
    assert ran_on[:2] == [f"first on {here}", f"second on {here}"]
    assert keeper.run_handed() == 0


def test_a_failing_chore_is_logged_and_the_others_still_run(caplog):
    done = []

    def broken():
        raise OSError("disk full")

    keeper = Housekeeping([broken, lambda: done.append(True)])
    with caplog.at_level(logging.ERROR, logger="installation.ops.housekeeping"):
        keeper.run_chores()
    assert done == [True]
    assert "housekeeping chore failed" in caplog.text and "disk full" in caplog.text


def test_close_stops_the_thread_and_may_be_called_twice():
    rounds = threading.Event()
    keeper = Housekeeping([rounds.set], interval_s=0.0).start()
    assert rounds.wait(10.0)
    keeper.close()
    keeper.close()
    assert not any(t.name == "housekeeping" and t.is_alive() for t in threading.enumerate())


def test_latest_gives_the_newest_value():
    latest: Latest[int] = Latest()
    assert latest.get() is None
    latest.put(1)
    latest.put(2)
    assert latest.get() == 2
