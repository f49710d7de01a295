"""How notices are shown: labels in the page's language, the public status, the key-date timeline
and the body as paragraphs of plain text. Shared by the owner pages and the public portal; no Flask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from . import rules
from .rules import DATE_LABELS, KEY_DATES, KIND_LABELS, STATUS_LABELS, TRADE_LABELS


@dataclass(frozen=True)
class TimelineItem:
    field: str
    label: str
    at: datetime
    state: str  # done | next | later


def helpers(locale: str) -> dict:
    """Template globals: kind_label, trade_label, status_label, date_label, notice_status, countdown_for."""
    def notice_status(notice, now: datetime) -> str:
        return rules.public_status(notice.deadline_at, notice.publicity_until, notice.superseded_by_id is not None, now)

    def next_for(notice, now: datetime):
        return rules.next_deadline({f: getattr(notice, f) for f in KEY_DATES}, now)

    return {
        "kind_label": lambda k: rules.label(KIND_LABELS, k, locale),
        "trade_label": lambda t: rules.label(TRADE_LABELS, t, locale),
        "status_label": lambda s: rules.label(STATUS_LABELS, s, locale),
        "date_label": lambda f, family="": rules.date_label(f, family, locale),
        "notice_status": notice_status,
        "next_deadline_of": next_for,
    }


def timeline(notice, family: str, now: datetime, locale: str = "zh") -> list[TimelineItem]:
    """发布 → 文件获取截止 → 异议截止 → 投标截止/开标 → 公示期, in time order, marking what is past
    and the next one ahead."""
    items = [("published_at", notice.published_at)] if notice.published_at else []
    items += [(f, getattr(notice, f)) for f in KEY_DATES if getattr(notice, f) is not None]
    items.sort(key=lambda x: (x[1], list(DATE_LABELS).index(x[0])))
    out, seen_next = [], False
    for f, at in items:
        if at <= now:
            state = "done"
        elif not seen_next:
            state, seen_next = "next", True
        else:
            state = "later"
        out.append(TimelineItem(f, rules.date_label(f, family, locale), at, state))
    return out


def paragraphs(body: str) -> list[list[str]]:
    """Plain text → paragraphs (split on blank lines) of lines; the template escapes every line, so
    no markup in a notice body ever reaches the page as HTML."""
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for block in text.split("\n\n"):
        lines = [ln.rstrip() for ln in block.split("\n")]
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        if lines:
            out.append(lines)
    return out
