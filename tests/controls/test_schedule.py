"""Opening hours: weekly pattern, date exceptions, midnight and DST, validation, the Scheduler's actions."""

from __future__ import annotations

import datetime as dt
import random
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.errors import DreamwallError
from installation.controls.actions import Dispatcher
from installation.controls.schedule import Scheduler, load_schedule, parse_schedule

BERLIN = ZoneInfo("Europe/Berlin")

GALLERY = {
    "timezone": "Europe/Berlin",
    "weekly": {
        "monday": "closed",
        "tuesday": "10:00-18:00",
        "wednesday": "10:00-18:00",
        "thursday": "10:00-18:00",
        "friday": ["10:00-13:00", "14:00-22:00"],
        "saturday": "20:00-02:00",
        "sunday": "00:00-24:00",
    },
    "exceptions": {dt.date(2026, 12, 24): "10:00-14:00", "2026-12-29": "closed"},
}


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


@pytest.fixture(scope="module")
def gallery():
    return parse_schedule(GALLERY, "gallery.yaml")


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (local(2026, 3, 3, 9, 59), False),  # Tuesday before opening
        (local(2026, 3, 3, 10, 0), True),  # opening minute
        (local(2026, 3, 3, 17, 59), True),
        (local(2026, 3, 3, 18, 0), False),  # closing is exclusive
        (local(2026, 3, 2, 12, 0), False),  # Monday closed
        (local(2026, 3, 6, 13, 30), False),  # Friday lunch break
        (local(2026, 3, 6, 21, 0), True),
        (local(2026, 3, 7, 23, 0), True),  # Saturday night
        (local(2026, 3, 8, 1, 30), True),  # ...runs past midnight into Sunday (open anyway)
        (local(2026, 3, 10, 1, 30), False),  # Tuesday 01:30: Monday had nothing past midnight
        (local(2026, 12, 24, 15, 0), False),  # Christmas Eve (Thursday) closes early
        (local(2026, 12, 24, 11, 0), True),
        (local(2026, 12, 29, 12, 0), False),  # a closed Tuesday by exception
    ],
)
def test_is_open(gallery, moment, expected):
    assert gallery.is_open(moment) is expected
    assert gallery.is_open(moment.astimezone(dt.UTC)) is expected  # the zone of `now` does not matter


def test_overnight_span_closes_next_morning():
    schedule = parse_schedule({"timezone": "UTC", "weekly": {"friday": "20:00-02:00"}})
    assert schedule.is_open(dt.datetime(2026, 3, 7, 1, 59, tzinfo=dt.UTC))  # Saturday 01:59
    assert not schedule.is_open(dt.datetime(2026, 3, 7, 2, 0, tzinfo=dt.UTC))
    assert schedule.next_change(dt.datetime(2026, 3, 6, 23, 0, tzinfo=dt.UTC)) == dt.datetime(
        2026, 3, 7, 2, 0, tzinfo=dt.UTC
    )


def test_opening_hours_follow_daylight_saving(gallery):
    # Berlin springs forward on 2026-03-29: 10:00 local is 09:00 UTC before, 08:00 UTC after.
    before = gallery.next_change(local(2026, 3, 24, 8, 0))
    after = gallery.next_change(local(2026, 3, 31, 8, 0))
    assert before.astimezone(dt.UTC).hour == 9
    assert after.astimezone(dt.UTC).hour == 8
    assert before.astimezone(BERLIN).hour == after.astimezone(BERLIN).hour == 10


def test_next_change_is_exactly_where_is_open_flips(gallery):
    """Property: just before a change the state is the old one, at the change the new one."""
    rng = random.Random(7)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for _ in range(40):
        now = start + dt.timedelta(minutes=rng.randrange(365 * 24 * 60))
        change = gallery.next_change(now)
        assert change is not None and change > now
        assert gallery.is_open(change - dt.timedelta(seconds=1)) == gallery.is_open(now)
        assert gallery.is_open(change) != gallery.is_open(now)


def test_next_change_skips_back_to_back_spans():
    schedule = parse_schedule({"timezone": "UTC", "weekly": {"monday": ["10:00-12:00", "12:00-14:00"]}})
    monday = dt.datetime(2026, 3, 2, 11, 0, tzinfo=dt.UTC)
    assert schedule.next_change(monday) == monday.replace(hour=14)


def test_always_open_never_changes():
    schedule = parse_schedule({"timezone": "UTC", "weekly": dict.fromkeys(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"), "00:00-24:00")})
    now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    assert schedule.is_open(now)
    assert schedule.next_change(now) is None


def test_naive_datetime_is_refused(gallery):
    with pytest.raises(ValueError, match="aware"):
        gallery.is_open(dt.datetime(2026, 3, 3, 12, 0))


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def test_scheduler_posts_sleep_and_wake_on_changes(gallery):
    dispatcher = Dispatcher()
    seen = []
    dispatcher.on("sleep", seen.append)
    dispatcher.on("wake", seen.append)
    clock = Clock(local(2026, 3, 3, 9, 0))  # Tuesday, before opening: the app starts awake
    scheduler = Scheduler(gallery, dispatcher, clock)
    assert scheduler.poll().kind == "sleep"
    assert scheduler.poll() is None  # no change, no repeat
    clock.now = local(2026, 3, 3, 10, 0)
    assert scheduler.poll().kind == "wake"
    assert scheduler.seconds_until_change() == 8 * 3600
    clock.now = local(2026, 3, 3, 18, 30)
    assert scheduler.poll().kind == "sleep"
    dispatcher.drain()
    assert [(a.kind, a.source) for a in seen] == [("sleep", "schedule"), ("wake", "schedule"), ("sleep", "schedule")]


def test_scheduler_catches_up_after_a_clock_jump(gallery):
    """Polls compare states, not edges: a jump over a whole opening period posts nothing stale."""
    dispatcher = Dispatcher()
    clock = Clock(local(2026, 3, 3, 12, 0))
    scheduler = Scheduler(gallery, dispatcher, clock)
    assert scheduler.poll() is None  # open, already awake
    clock.now = local(2026, 3, 4, 12, 0)  # a day later, open again
    assert scheduler.poll() is None
    clock.now = local(2026, 3, 9, 12, 0)  # Monday
    assert scheduler.poll().kind == "sleep"


def test_scheduler_thread_posts_the_current_state(gallery):
    dispatcher = Dispatcher()
    scheduler = Scheduler(gallery, dispatcher, Clock(local(2026, 3, 2, 12, 0))).start()
    try:
        for _ in range(200):
            if not scheduler.is_open:
                break
            threading.Event().wait(0.01)
    finally:
        scheduler.close()
    assert not scheduler.is_open


def test_load_schedule_file(tmp_path: Path):
    path = tmp_path / "hours.yaml"
    path.write_text('timezone: America/New_York\nweekly:\n  monday: "09:00-17:00"\nexceptions:\n  2026-03-02: closed\n')
    schedule = load_schedule(path)
    assert not schedule.is_open(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC))  # exception
    assert schedule.is_open(dt.datetime(2026, 3, 9, 14, 0, tzinfo=dt.UTC))  # 10:00 EDT


BAD_SCHEDULES = [
    ("weekly: {}\n", "timezone: missing; give an IANA name such as 'Europe/Berlin'"),
    ("timezone: Europe/Berlni\n", "timezone: unknown time zone 'Europe/Berlni' (did you mean 'Europe/Berlin'?)"),
    ("timezone: UTC\nweekly:\n  tuesdy: closed\n", "weekly.tuesdy: unknown weekday 'tuesdy' (did you mean 'tuesday'?)"),
    (
        "timezone: UTC\nweekley: {}\n",
        "weekley: unknown key 'weekley' (did you mean 'weekly'?); expected one of: timezone, weekly, exceptions",
    ),
    (
        "timezone: UTC\nweekly:\n  monday: 10:00\n",  # YAML reads an unquoted 10:00 as 600
        "weekly.monday: expected 'closed' or times like \"10:00-18:00\" (quoted), got 600",
    ),
    ("timezone: UTC\nweekly:\n  monday: 10:00-25:00\n", "weekly.monday: times must be 00:00-24:00, got '10:00-25:00'"),
    (
        "timezone: UTC\nexceptions:\n  christmas: closed\n",
        "exceptions.christmas: expected a date like 2026-12-25, got 'christmas'",
    ),
    ("timezone: UTC\nweekly: [monday]\n", "weekly: expected a mapping, got ['monday']"),
]


@pytest.mark.parametrize(("text", "message"), BAD_SCHEDULES)
def test_validation_names_file_and_key(tmp_path: Path, text, message):
    path = tmp_path / "hours.yaml"
    path.write_text(text)
    with pytest.raises(DreamwallError) as error:
        load_schedule(path)
    assert str(error.value) == f"{path}: {message}"


def test_missing_file_is_a_user_error(tmp_path: Path):
    with pytest.raises(DreamwallError, match=r"nope.yaml: file not found"):
        load_schedule(tmp_path / "nope.yaml")
