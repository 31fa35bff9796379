"""The CPU thread tuner: tries all threads and one fewer in the running show, keeps the faster, tunes again for
a new look, and the worker feeds it each frame's time (CPU only)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from engine.networks import load_network
from engine.objectives import parse_objective
from installation.dreaming.thread_tuner import ThreadTuner, thread_candidates
from installation.dreaming.worker import DreamSettings, DreamWorker, look_cost
from installation.testing.feeds import ListFeed


class Machine:
    """torch.set_num_threads's stand-in: frames cost `cost[threads]` ms; remembers what was set."""

    def __init__(self, cost: dict[int, float]) -> None:
        self.cost, self.threads, self.calls = cost, max(cost), []  # torch starts on all threads

    def set_threads(self, threads: int) -> None:
        self.threads = threads
        self.calls.append(threads)

    def run(self, tuner: ThreadTuner, key: object, frames: int, noise: float = 0.0) -> None:
        rng = np.random.default_rng(0)
        for _ in range(frames):
            tuner.frame_done(key, self.cost[self.threads] + rng.normal(0, noise))


def test_candidates_are_all_threads_and_one_fewer():
    assert thread_candidates(2) == (2, 1) and thread_candidates(16) == (16, 15) and thread_candidates(1) == (1,)


@pytest.mark.parametrize(("cost", "best"), [({2: 68.0, 1: 40.0}, 1), ({2: 164.0, 1: 189.0}, 2)])
def test_the_faster_thread_count_is_kept_even_with_noisy_frames(cost, best):
    machine = Machine(cost)
    tuner = ThreadTuner((2, 1), set_threads=machine.set_threads)
    machine.run(tuner, "look", 40, noise=8.0)
    assert tuner.chosen == best and machine.threads == best
    assert machine.calls[:3] == [2, 1, 2]  # alternating blocks, not one long trial each
    assert tuner.summary.startswith(f"{best} torch thread") and "ms per frame" in tuner.summary


def test_a_new_look_tunes_again_and_the_same_look_does_not():
    machine = Machine({2: 60.0, 1: 40.0})
    tuner = ThreadTuner((2, 1), set_threads=machine.set_threads)
    machine.run(tuner, "small", 40)
    settled = len(machine.calls)
    machine.run(tuner, "small", 40)
    assert len(machine.calls) == settled  # nothing more to try
    machine.cost = {2: 150.0, 1: 190.0}  # a larger look: now the second thread pays
    machine.run(tuner, "large", 40)
    assert tuner.chosen == 2 and machine.threads == 2


def test_one_core_has_nothing_to_try():
    machine = Machine({1: 50.0})
    tuner = ThreadTuner(thread_candidates(1), set_threads=machine.set_threads)
    tuner.frame_done("look", 50.0)
    assert tuner.chosen == 1 and machine.calls == [1, 1]


class Recorder(ThreadTuner):
    def __init__(self) -> None:
        super().__init__((1,), set_threads=lambda threads: None)
        self.seen: list[tuple[object, float]] = []
        self.fed = threading.Event()

    def frame_done(self, key, ms):
        self.seen.append((key, ms))
        self.fed.set()


def test_the_worker_feeds_each_cpu_frame_to_the_tuner():
    net = load_network("squeezenet1_1")
    settings = DreamSettings(net=net, objective=parse_objective("fire2", net), process_size=(48, 32), steps=1)
    frames = [np.full((32, 48, 3), value, np.uint8) for value in (60, 120, 180)]
    tuner = Recorder()
    threads = torch.get_num_threads()
    with DreamWorker(ListFeed(frames), settings, thread_tuner=tuner) as worker:
        worker.start()
        assert tuner.fed.wait(30)
    assert torch.get_num_threads() == threads
    assert tuner.seen and all(key == look_cost(settings) and ms > 0 for key, ms in tuner.seen)


def test_a_students_build_ending_tunes_the_threads_again():
    """The compiled pass takes over from the eager one, and the build stops taking a core the tuner measured with."""
    from pathlib import Path

    from engine.student import StudentNet, StudentShape
    from installation.dreaming.student_builds import BuiltPerSize
    from installation.dreaming.students import LookStudent

    net = load_network("squeezenet1_1")
    jobs = []
    runner = BuiltPerSize(StudentNet(StudentShape(4, 8, 1)), lambda shape, dtype: (lambda image: image), "test",
                          start=jobs.append)  # fmt: skip
    settings = DreamSettings(net=net, objective=parse_objective("fire2", net), process_size=(48, 32), steps=1,
                             dreamer="student", student=LookStudent(runner, 0.05, Path("a.student")))  # fmt: skip
    before = look_cost(settings)
    runner(torch.rand(1, 3, 32, 48))
    assert look_cost(settings) == before  # building: the eager pass still runs
    jobs.pop()()
    assert look_cost(settings) != before
    machine = Machine({2: 40.0, 1: 60.0})
    tuner = ThreadTuner((2, 1), set_threads=machine.set_threads)
    machine.run(tuner, before, 40)
    machine.run(tuner, look_cost(settings), 1)
    assert tuner.chosen is None  # measuring again
