"""The progress line of long offline jobs: speed and ETA of this run only, a resumed start learnt from the first
count, the workers' state after the ETA, and on logs one final line however often the end is repeated."""

from __future__ import annotations

import io

from installation.ops.progress import ProgressBar
from installation.testing.clocks import HandClock


def test_a_bar_whose_start_is_the_first_count_measures_only_this_run():
    clock, stream = HandClock(), io.StringIO()
    bar = ProgressBar("render", unit="frames", start=None, stream=stream, clock=clock, every_s=0)
    clock.now += 50  # connecting and checking the work folder: not dreaming
    bar(40, 100, "0/2 workers busy")  # 40 frames were finished by an earlier run
    clock.now += 10
    bar(60, 100, "2/2 workers busy")
    assert bar.rate == 2.0  # 20 frames in 10 s, not 60 in 60 s
    assert bar.text().endswith("60/100 frames  2.00 frames/s  ETA 0:20  2/2 workers busy")


def test_on_a_log_the_final_line_is_written_once():
    clock, stream = HandClock(), io.StringIO()
    bar = ProgressBar("render", unit="frames", stream=stream, clock=clock, every_s=10)
    bar(1, 3)
    bar(2, 3)  # within 10 s of the last line: not written
    clock.now += 1
    for busy in (2, 1, 0):
        bar(3, 3, f"{busy}/2 workers busy")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].split("]")[1].startswith(" 1/3") and "3/3 frames" in lines[1]
