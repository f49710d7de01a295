"""Time-limit lights (限时办结, 预警纠错: rules.md §5.3), pure: the one rule that colours a step with a
deadline. It lives in core so that every layer's own step (the entry review in projects, contracts and
objection replies in awards, deposit refunds, the monthly report in stats) colours the same way; the
supervision package (supervision/timelimits) collects them into one overdue list.

A due instant is the END of a period: statutory periods end at 24:00 Beijing time of their last day
(reference.workdays.period_end), so at the due instant itself the time is up. Hence:

- open step:  red from the due instant on (now >= due_at), yellow when the time left is at most the
  warning window (0 < due_at - now <= warn), green before that;
- finished step: done (on time) when done_at < due_at, done_late when done_at >= due_at.

No Flask, no SQLAlchemy; time comes in as `now`."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class Light(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    #: finished before the due instant (按时办结)
    DONE = "done"
    #: finished at or after the due instant (超时办结)
    DONE_LATE = "done_late"


#: reddest first: the order of the overdue list and of the counts at its top
SEVERITY: dict[Light, int] = {Light.RED: 0, Light.YELLOW: 1, Light.GREEN: 2, Light.DONE_LATE: 3, Light.DONE: 4}
OPEN = frozenset({Light.GREEN, Light.YELLOW, Light.RED})
FINISHED = frozenset({Light.DONE, Light.DONE_LATE})

LABELS: dict[Light, tuple[str, str]] = {
    Light.GREEN: ("正常", "On time"),
    Light.YELLOW: ("临近时限", "Due soon"),
    Light.RED: ("已超时", "Overdue"),
    Light.DONE: ("按时办结", "Done on time"),
    Light.DONE_LATE: ("超时办结", "Done late"),
}


def light(due_at: datetime, now: datetime, done_at: datetime | None = None, *,
          warn: timedelta = timedelta(hours=24)) -> Light:
    """The light of a step due at `due_at`, seen at `now`, finished at `done_at` (None: still open).
    `warn` is the yellow window before the due instant (zero: never yellow)."""
    if warn < timedelta(0):
        raise ValueError("the warning window cannot be negative")
    if done_at is not None:
        return Light.DONE_LATE if done_at >= due_at else Light.DONE
    if now >= due_at:
        return Light.RED
    if due_at - now <= warn:
        return Light.YELLOW
    return Light.GREEN


def overdue_by(due_at: datetime, now: datetime, done_at: datetime | None = None) -> timedelta:
    """How far past the due instant the step is (or was, when it finished); negative: time left."""
    return (done_at or now) - due_at
