"""How notices are shown: labels in the page's language, the public status, the key-date timeline
and the body as paragraphs of plain text. Shared by the owner pages and the public portal; no Flask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from . import rules
from .rules import DATE_LABELS, KEY_DATES, KIND_LABELS, STATUS_LABELS, TRADE_LABELS, NoticeKind

#: What a key date is called once the procedure is known, where rules.date_label has only the
#: generic name ("投标（响应）截止" covers a tender's bid deadline and a negotiation's response
#: deadline). A countdown must say which one it counts down to (ux.md §1.1).
_PRECISE_LABELS: dict[tuple[str, str], tuple[str, str]] = {
    **{(f, "deadline_at"): ("投标截止", "Bid deadline") for f in ("tender", "gp_tender")},
    ("selection", "deadline_at"): ("比选申请截止", "Selection applications close"),
    **{(f, "deadline_at"): ("响应截止", "Response deadline")
       for f in ("negotiation", "inquiry", "consultation")},
    **{(f, "opening_at"): ("响应文件开启", "Response opening") for f in ("negotiation", "inquiry", "consultation")},
    ("auction", "deadline_at"): ("竞买申请截止", "Bidder applications close"),
}
#: the family a notice's kind implies when its project's procedure is not at hand
_KIND_FAMILIES = {NoticeKind.LAND_GRANT: "land", NoticeKind.DISCLOSURE: "asset"}


@dataclass(frozen=True)
class TimelineItem:
    field: str
    label: str
    at: datetime
    state: str  # done | next | later


def date_label(field: str, family: str = "", locale: str = "zh", kind: str = "") -> str:
    """The name of a key date for this procedure family (or, without one, the family the notice's
    kind implies): 投标截止 / 响应截止 / 竞买申请截止 / 挂牌开始 / 挂牌截止 / 开标 / 公示期截止 …"""
    family = family or _KIND_FAMILIES.get(kind, "")
    precise = _PRECISE_LABELS.get((family, field))
    if precise:
        return precise[1] if locale == "en" else precise[0]
    return rules.date_label(field, family, locale)


def helpers(locale: str) -> dict:
    """Template globals: kind_label, trade_label, status_label, date_label(field, family, kind),
    notice_status, next_deadline_of."""
    def notice_status(notice, now: datetime) -> str:
        return rules.public_status(notice.deadline_at, notice.publicity_until, notice.superseded_by_id is not None, now)

    def next_for(notice, now: datetime):
        return rules.next_deadline({f: getattr(notice, f) for f in KEY_DATES}, now)

    return {
        "kind_label": lambda k: rules.label(KIND_LABELS, k, locale),
        "trade_label": lambda t: rules.label(TRADE_LABELS, t, locale),
        "status_label": lambda s: rules.label(STATUS_LABELS, s, locale),
        "date_label": lambda f, family="", kind="": date_label(f, family, locale, kind),
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
        out.append(TimelineItem(f, date_label(f, family, locale, notice.kind), at, state))
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
