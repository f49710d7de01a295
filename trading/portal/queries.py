"""Read-only queries of the public portal. Every filter is on a Notice column (trade type, kind,
region and project code are copied onto the notice), and lists are ordered by (published_at, id)
descending, so the (status, …, published_at) indexes serve 100,000 notices. The public status
(报名中/已截止/公示中/已结束) is derived in SQL from the key dates and `now`, mirroring
procedures.common.rules.public_status.

A title keyword is a substring (LIKE) of the title. Its terms (character bigrams) are first looked
up in the posting lists (notice_term, written when a notice is published): a rare keyword is then
checked on its rarest term's few notices only, not on the whole index; a common one is found by the
ordered LIKE scan, which fills a page within a few hundred rows. A keyword of one character, or
with no two adjacent letters or digits, takes the LIKE scan."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from trading.core.clock import BEIJING, to_beijing
from trading.core.errors import not_found
from trading.procedures.common.models import Notice, NoticeTerm
from trading.procedures.common.rules import KIND_LABELS, TRADE_LABELS, PublicStatus, title_terms

PUBLISHED = "published"
KEYWORD_MAX = 100
#: counting stops here: "10000+" is all a reader needs, and an exact count of 100,000 rows is not free
COUNT_CAP = 10_000
#: 统一交易标识码 and lot codes (SFX-2026-GC-0001, …-01): such a keyword is looked up as a code
_CODE = re.compile(r"^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+$")
#: A keyword whose rarest term is in at most this many notices is answered from that posting list
#: (its notices checked by id); a commoner one by the ordered LIKE scan (bench notice_list). At most
#: COUNT_CAP: the rare route lists all its matches.
RARE_TERM_LIMIT = 5_000
#: … and for a lone term, whose count is its posting list's length, a lower limit: above it the
#: ordered LIKE scan meets a page of matches within a few thousand rows
RARE_ONE_TERM_LIMIT = 1_000
#: terms of a long keyword that are looked up (the LIKE checks the whole keyword anyway)
TERMS_LOOKED_UP = 4


@dataclass(frozen=True)
class NoticeFilters:
    trade_type: str | None = None
    kind: str | None = None
    region_id: int | None = None
    date_from: date | None = None     # published on or after (Beijing date)
    date_to: date | None = None       # published on or before (Beijing date)
    keyword: str | None = None        # in the title, or an exact project code
    project_code: str | None = None
    status: str | None = None         # PublicStatus

    @classmethod
    def from_args(cls, args) -> NoticeFilters:
        """Parse query-string values; a value that does not parse is ignored, never an error page."""
        def text(name, maximum=KEYWORD_MAX):
            v = (args.get(name) or "").strip()
            return v[:maximum] or None

        def day(name):
            try:
                return date.fromisoformat(args.get(name) or "")
            except ValueError:
                return None

        region = args.get("region", "")
        status = args.get("status")
        return cls(trade_type=args.get("trade_type") if args.get("trade_type") in TRADE_LABELS else None,
                   kind=args.get("kind") if args.get("kind") in KIND_LABELS else None,
                   region_id=int(region) if region.isdigit() else None,
                   date_from=day("date_from"), date_to=day("date_to"), keyword=text("keyword"),
                   project_code=text("project_code", 40),
                   status=status if status in set(PublicStatus) else None)

    def active(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    pages: int
    total: int
    per_page: int
    #: True when there are more than `total` (= COUNT_CAP) matches
    capped: bool = False

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def day_start(d: date) -> datetime:
    """00:00 Beijing time of d, as an aware instant."""
    return datetime.combine(d, time(0, 0), tzinfo=BEIJING)


def status_condition(status: str, now: datetime):
    """The SQL condition for a public status at `now` (see rules.public_status)."""
    current = Notice.superseded_by_id.is_(None)
    deadline_ahead = Notice.deadline_at > now          # NULL compares as unknown: not ahead
    deadline_not_ahead = or_(Notice.deadline_at.is_(None), Notice.deadline_at <= now)
    publicity_ahead = Notice.publicity_until > now
    publicity_not_ahead = or_(Notice.publicity_until.is_(None), Notice.publicity_until <= now)
    if status == PublicStatus.OPEN:
        return and_(current, deadline_ahead)
    if status == PublicStatus.PUBLICITY:
        return and_(current, publicity_ahead, deadline_not_ahead)
    if status == PublicStatus.CLOSED:
        return and_(current, Notice.deadline_at <= now, publicity_not_ahead)
    if status == PublicStatus.ENDED:
        return or_(Notice.superseded_by_id.is_not(None), and_(Notice.deadline_at.is_(None), publicity_not_ahead))
    return false()


def _conditions(f: NoticeFilters, now: datetime) -> list:
    cond = [Notice.status == PUBLISHED]
    if f.trade_type:
        cond.append(Notice.trade_type == f.trade_type)
    if f.kind:
        cond.append(Notice.kind == f.kind)
    if f.region_id is not None:
        cond.append(Notice.region_id == f.region_id)
    if f.date_from:
        cond.append(Notice.published_at >= day_start(f.date_from))
    if f.date_to:
        cond.append(Notice.published_at < day_start(f.date_to + timedelta(days=1)))
    if f.keyword:
        cond.append(keyword_condition(f.keyword))
    if f.project_code:
        cond.append(Notice.project_code == f.project_code)
    if f.status:
        cond.append(status_condition(f.status, now))
    return cond


def keyword_condition(keyword: str):
    """A code-shaped keyword finds the project by its code (a lot code finds its project); any other
    is a substring of the title (LIKE with % and _ escaped)."""
    if _CODE.match(keyword):
        code = keyword.upper()
        return Notice.project_code.in_({code, code.rsplit("-", 1)[0]})
    return Notice.title.contains(keyword, autoescape=True)


def search_terms(keyword: str) -> list[str]:
    """The terms of a title keyword that are looked up: its character bigrams in keyword order, at
    most TERMS_LOOKED_UP, those without a digit first (years and lot numbers make digit terms common);
    none for a project code or a keyword without two adjacent letters or digits."""
    if _CODE.match(keyword):
        return []
    wanted = title_terms(keyword)
    terms = list(dict.fromkeys(keyword[i:i + 2].lower() for i in range(len(keyword) - 1)))
    terms = [t for t in terms if t in wanted] or sorted(wanted)  # (a character lower-cased to two)
    terms.sort(key=lambda t: any(c.isdigit() for c in t))
    return terms[:TERMS_LOOKED_UP]


def _posting_sizes(session: Session, terms: list[str], cap: int) -> dict[str, int]:
    """How many notices have each term, counted up to `cap` (from the primary key alone), in one statement."""
    def size(term):
        postings = select(NoticeTerm.notice_id).where(NoticeTerm.term == term).limit(cap)
        return select(func.count()).select_from(postings.subquery()).scalar_subquery()

    return dict(zip(terms, session.execute(select(*(size(t) for t in terms))).one(), strict=True))


def _is_one_term(keyword: str, filters: NoticeFilters) -> bool:
    """True when the notices having the keyword's one term are exactly its matches: two caseless
    letters or digits (汉字, 0-9; the terms are lower-cased, LIKE is not) and no other filter."""
    only_keyword = not replace(filters, keyword=None).active()
    return only_keyword and title_terms(keyword) == {keyword} and keyword.lower() == keyword.upper()


def _search_postings(session: Session, cond: list, term: str, page: int, per_page: int) -> Page:
    """A rare term's notices (at most RARE_TERM_LIMIT) are checked one by one against every filter,
    the LIKE included (the term is one of the keyword's); one statement orders the matches and
    returns the page's ids with the number of matches.

    Each candidate is checked by a correlated subquery on the notice's primary key, behind OFFSET 0
    so that it runs once per candidate: the planner cannot turn the check into a scan of every notice
    (a join let PostgreSQL hash all 100,000 notices for 647 candidates: 47 ms against 6)."""
    published = (select(Notice.published_at).where(Notice.id == NoticeTerm.notice_id, *cond)
                 .scalar_subquery().label("published_at"))
    checked = (select(NoticeTerm.notice_id.label("id"), published).where(NoticeTerm.term == term)
               .offset(0).subquery())
    matches = (select(checked.c.id, func.count().over()).where(checked.c.published_at.is_not(None))
               .order_by(checked.c.published_at.desc(), checked.c.id.desc()))

    def ids_and_total(p: int) -> tuple[list[int], int]:
        rows = session.execute(matches.limit(per_page).offset((p - 1) * per_page)).all()
        return [r[0] for r in rows], (rows[0][1] if rows else 0)

    page = max(1, page)
    ids, total = ids_and_total(page)
    if not ids and page > 1:  # past the last page: the last page
        ids, total = ids_and_total(1)
        page = max(1, math.ceil(total / per_page))
        if page > 1:
            ids, total = ids_and_total(page)
    notices = {n.id: n for n in session.scalars(select(Notice).where(Notice.id.in_(ids)))} if ids else {}
    return Page([notices[i] for i in ids], page, max(1, math.ceil(total / per_page)), total, per_page)


def search_notices(session: Session, filters: NoticeFilters, page: int, per_page: int, now: datetime) -> Page:
    """One page of published notices, newest first. The count stops at COUNT_CAP; the page's ids come
    from the index alone and only those rows are read (a deep page does not read the rows it skips).

    A title keyword of two or more letters or digits is first looked up in the posting lists: when
    its rarest term is rare, only that term's notices are checked (_search_postings); otherwise the
    ordered LIKE scan fills the page within a few hundred rows, and the count of a lone term is its
    posting list's length."""
    cond = _conditions(filters, now)
    found = None
    terms = search_terms(filters.keyword) if filters.keyword else []
    if terms:
        one_term = len(terms) == 1 and _is_one_term(filters.keyword, filters)
        sizes = _posting_sizes(session, terms, COUNT_CAP + 1 if one_term else RARE_TERM_LIMIT + 1)
        rarest = min(terms, key=sizes.__getitem__)
        if sizes[rarest] == 0:  # no title has this term, so none has the keyword
            return Page([], 1, 1, 0, per_page)
        if sizes[rarest] <= (RARE_ONE_TERM_LIMIT if one_term else RARE_TERM_LIMIT):
            return _search_postings(session, cond, rarest, page, per_page)
        found = sizes[rarest] if one_term else None
    rows = None
    if found is None and page <= 1:
        # the first page before the count: when it is not full it is everything (a rare match costs
        # one scan, not two)
        rows = _page_rows(session, cond, 1, per_page)
        if len(rows) < per_page:
            return Page(rows, 1, 1, len(rows), per_page)
    if found is None:
        found = session.execute(select(func.count()).select_from(
            select(Notice.id).where(*cond).limit(COUNT_CAP + 1).subquery())).scalar_one()
    total, capped = min(found, COUNT_CAP), found > COUNT_CAP
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    if rows is None:
        rows = _page_rows(session, cond, page, per_page)
    return Page(rows, page, pages, total, per_page, capped)


def _page_rows(session: Session, cond: list, page: int, per_page: int) -> list[Notice]:
    """The page's ids from the index alone, then only those rows."""
    ids = (select(Notice.id, Notice.published_at).where(*cond)
           .order_by(Notice.published_at.desc(), Notice.id.desc())
           .limit(per_page).offset((page - 1) * per_page).subquery())
    return list(session.execute(select(Notice).join(ids, Notice.id == ids.c.id)
                                .order_by(ids.c.published_at.desc(), ids.c.id.desc())).scalars())


def latest_notices(session: Session, trade_type: str | None, limit: int = 8) -> list[Notice]:
    cond = [Notice.status == PUBLISHED]
    if trade_type:
        cond.append(Notice.trade_type == trade_type)
    return list(session.execute(select(Notice).where(*cond)
                                .order_by(Notice.published_at.desc(), Notice.id.desc()).limit(limit)).scalars())


def todays_openings(session: Session, now: datetime) -> list[Notice]:
    """Openings (开标/竞价开始) on the Beijing day of `now`, by time; a changed or terminated notice's
    opening is not listed (the change notice carries the current one)."""
    start = day_start(to_beijing(now).date())
    return list(session.execute(
        select(Notice).where(Notice.status == PUBLISHED, Notice.opening_at >= start,
                             Notice.opening_at < start + timedelta(days=1), Notice.superseded_by_id.is_(None))
        .order_by(Notice.opening_at, Notice.id)).scalars())


def public_notice(session: Session, notice_id: int) -> Notice:
    """A published notice; drafts and unknown ids are a 404."""
    notice = session.get(Notice, notice_id)
    if notice is None or notice.status != PUBLISHED:
        raise not_found("公告", "notice")
    return notice


def notice_chain(session: Session, notice: Notice) -> list[Notice]:
    """Every published notice of the project in publishing order: original → changes → candidates → result."""
    return list(session.execute(
        select(Notice).where(Notice.project_id == notice.project_id, Notice.status == PUBLISHED)
        .order_by(Notice.published_at, Notice.id)).scalars())


def superseding_kinds(session: Session, notices: list[Notice]) -> dict[int, str]:
    """For the page's superseded notices: the kind of the notice that replaced each (change/termination)."""
    ids = {n.superseded_by_id for n in notices if n.superseded_by_id}
    if not ids:
        return {}
    kinds = dict(session.execute(select(Notice.id, Notice.kind).where(Notice.id.in_(ids))).all())
    return {n.id: kinds.get(n.superseded_by_id, "change") for n in notices if n.superseded_by_id}
