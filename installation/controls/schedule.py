"""Opening hours: the installation sleeps (black screen, camera released, GPU idle) when closed.

File format (YAML, `python run.py live --schedule FILE`):

    timezone: Europe/Berlin            # IANA name, required: kiosks' clocks are often UTC
    weekly:                            # a weekday left out is closed all day
      monday: closed
      tuesday: "10:00-18:00"
      friday: ["10:00-13:00", "14:00-22:00"]
      saturday: "20:00-02:00"          # an end at or before the start runs past midnight
      sunday: "00:00-24:00"            # all day
    exceptions:                        # dates override their weekday
      2026-12-24: "10:00-14:00"
      2026-12-25: closed

Times are wall-clock times in `timezone`, so opening hours follow daylight saving.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from engine.errors import DreamwallError, did_you_mean
from installation.common.yamlfile import read_yaml_mapping, reject_unknown
from installation.controls.actions import Action, Dispatcher

log = logging.getLogger(__name__)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_DAY_MINUTES = 24 * 60
# How far ahead next_change looks; a year covers every weekly pattern plus its exceptions.
_HORIZON_DAYS = 400

Span = tuple[int, int]  # minutes after local midnight; end > start, end may pass 24:00


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Schedule:
    timezone: ZoneInfo
    weekly: tuple[tuple[Span, ...], ...]  # Monday first
    exceptions: dict[dt.date, tuple[Span, ...]] = field(default_factory=dict)
    source: str = "<schedule>"

    def spans_on(self, day: dt.date) -> tuple[Span, ...]:
        return self.exceptions.get(day, self.weekly[day.weekday()])

    def _intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The opening intervals that start on local `day`, as aware datetimes."""
        return [(self._local(day, start), self._local(day, end)) for start, end in self.spans_on(day)]

    def _local(self, day: dt.date, minutes: int) -> dt.datetime:
        days, minutes = divmod(minutes, _DAY_MINUTES)
        moment = dt.datetime.combine(day + dt.timedelta(days=days), dt.time(minutes // 60, minutes % 60))
        # Compared in UTC: aware datetimes sharing a tzinfo compare by wall time, wrong across DST.
        return moment.replace(tzinfo=self.timezone).astimezone(dt.UTC)

    def is_open(self, now: dt.datetime) -> bool:
        now = _aware(now)
        today = now.astimezone(self.timezone).date()
        # Yesterday's spans matter too: they may run past midnight.
        return any(
            start <= now < end
            for day in (today - dt.timedelta(days=1), today)
            for start, end in self._intervals(day)
        )

    def next_change(self, now: dt.datetime) -> dt.datetime | None:
        """When is_open() next flips after `now`, or None if it never does within a year."""
        now = _aware(now)
        today = now.astimezone(self.timezone).date()
        merged: list[list[dt.datetime]] = []
        for offset in range(-1, _HORIZON_DAYS + 2):
            for start, end in self._intervals(today + dt.timedelta(days=offset)):
                if merged and start <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], end)
                else:
                    merged.append([start, end])
        horizon = self._local(today + dt.timedelta(days=_HORIZON_DAYS), 0)
        for start, end in merged:
            for moment in (start, end):
                if now < moment <= horizon:
                    return moment
        return None


def _aware(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError("the schedule needs an aware datetime (use datetime.now(UTC))")
    return now.astimezone(dt.UTC)


def load_schedule(path: Path) -> Schedule:
    """Read and validate a schedule file; errors name the file and the key."""
    data = read_yaml_mapping(path, "schedule")
    return parse_schedule(data, str(path))


def parse_schedule(data: dict[str, Any], source: str = "<schedule>") -> Schedule:
    reject_unknown(source, "", data, ("timezone", "weekly", "exceptions"))
    if "timezone" not in data:
        raise DreamwallError(f"{source}: timezone: missing; give an IANA name such as 'Europe/Berlin'")
    timezone = _parse_timezone(source, data["timezone"])
    weekly_data = _mapping(source, "weekly", data.get("weekly", {}))
    for day in weekly_data:
        if day not in WEEKDAYS:
            raise DreamwallError(
                f"{source}: weekly.{day}: unknown weekday '{day}'{did_you_mean(str(day), WEEKDAYS)}"
            )
    weekly = tuple(_parse_spans(source, f"weekly.{day}", weekly_data.get(day, "closed")) for day in WEEKDAYS)
    exceptions = {}
    for key, value in _mapping(source, "exceptions", data.get("exceptions", {})).items():
        day = _parse_date(source, key)
        exceptions[day] = _parse_spans(source, f"exceptions.{day.isoformat()}", value)
    return Schedule(timezone, weekly, exceptions, source)


def _mapping(source: str, key: str, value: Any) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DreamwallError(f"{source}: {key}: expected a mapping, got {value!r}")
    return value


def _parse_timezone(source: str, name: Any) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise DreamwallError(f"{source}: timezone: expected an IANA name such as 'Europe/Berlin', got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DreamwallError(
            f"{source}: timezone: unknown time zone '{name}'{did_you_mean(name, available_timezones())}"
        ) from None


def _parse_date(source: str, key: Any) -> dt.date:
    if isinstance(key, dt.date) and not isinstance(key, dt.datetime):
        return key
    try:
        return dt.date.fromisoformat(str(key))
    except ValueError:
        raise DreamwallError(f"{source}: exceptions.{key}: expected a date like 2026-12-25, got '{key}'") from None


def _parse_spans(source: str, where: str, value: Any) -> tuple[Span, ...]:
    if isinstance(value, str) and value.strip().lower() == "closed":
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(sorted(_parse_range(source, where, item) for item in items))


def _parse_range(source: str, where: str, item: Any) -> Span:
    expected = "'closed' or times like \"10:00-18:00\" (quoted)"
    match = _RANGE.match(item) if isinstance(item, str) else None
    if match is None:
        raise DreamwallError(f"{source}: {where}: expected {expected}, got {item!r}")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        raise DreamwallError(f"{source}: {where}: times must be 00:00-24:00, got '{item}'")
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if end <= start:  # past midnight: closes the next day
        end += _DAY_MINUTES
    return start, end


class Scheduler:
    """Turns the schedule into sleep/wake actions; the app starts awake, so only changes are posted.

    It compares states rather than waiting for edges, so a clock jump (NTP, a suspended
    machine) still lands in the right state on the next poll.
    """

    def __init__(
        self,
        schedule: Schedule,
        dispatcher: Dispatcher,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._schedule = schedule
        self._dispatcher = dispatcher
        self._clock = clock
        self._open = True
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_open(self) -> bool:
        """The state last posted (True before the first poll)."""
        return self._open

    def replace(self, schedule: Schedule) -> None:
        """Hot reload: the next poll follows the new schedule."""
        with self._lock:
            self._schedule = schedule

    def poll(self) -> Action | None:
        """Post sleep or wake if the state changed since the last poll; return what was posted."""
        now = self._clock()
        with self._lock:
            schedule = self._schedule
            is_open = schedule.is_open(now)
            if is_open == self._open:
                return None
            self._open = is_open
        action = Action("wake" if is_open else "sleep", source="schedule")
        change = schedule.next_change(now)
        until = f" until {change.astimezone(schedule.timezone):%a %Y-%m-%d %H:%M %Z}" if change else ""
        log.info("schedule: %s%s", "open" if is_open else "closed", until)
        self._dispatcher.post(action)
        return action

    def seconds_until_change(self) -> float | None:
        now = self._clock()
        with self._lock:
            change = self._schedule.next_change(now)
        return None if change is None else max(0.0, (change - now).total_seconds())

    def start(self, max_wait: float = 30.0) -> Scheduler:
        """Poll on a daemon thread: at each change, and every `max_wait` s in case the clock jumps."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, args=(max_wait,), name="schedule", daemon=True)
            self._thread.start()
        return self

    def _run(self, max_wait: float) -> None:
        while not self._stop.is_set():
            self.poll()
            until = self.seconds_until_change()
            # +0.05 s so the wake-up lands just after the change, not just before it.
            self._stop.wait(max_wait if until is None else min(max_wait, until + 0.05))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
