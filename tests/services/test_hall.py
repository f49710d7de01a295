"""The opening hall's services: who may enter, check-in rules, host announcements, the snapshot per
role before and after the deadline (secrecy: 招标投标法 Art. 22), stages and the list of openings."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from tests.factories.accounts import actor_ctx, make_org, make_user
from tests.factories.notices import notice_project, published_notice
from trading.audit.models import AuditEntry
from trading.core.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from trading.core.events import LiveEvent, publish
from trading.procedures.common.models import LotTrade
from trading.procedures.common.opening import hall
from trading.procedures.common.participation.models import Participation
from trading.procedures.common.participation.services import register_for_lot


class Lot:
    """A published tender lot with two registered bidders (A, B), one unregistered bidder (C)."""

    def __init__(self, ctx, session, clock):
        self.session, self.clock = session, clock
        self.owner = make_user(ctx, "owner")
        self.project = notice_project(ctx, self.owner, procedure="tender")
        published_notice(actor_ctx(session, clock, self.owner), self.project)
        self.trade = session.execute(select(LotTrade).where(LotTrade.project_id == self.project.id)).scalar_one()
        self.code = self.trade.lot_code
        self.a, self.b, self.c = (make_user(ctx, "bidder") for _ in range(3))
        for bidder in (self.a, self.b):
            register_for_lot(self.as_(bidder), self.code)
        self.operator = make_user(ctx, "operator", totp=True)
        self.supervisor = make_user(ctx, "supervisor", totp=True)
        self.other_owner = make_user(ctx, "owner")
        self.expert = make_user(ctx, "expert")
        self.admin = make_user(ctx, "admin", totp=True)

    def as_(self, user):
        return actor_ctx(self.session, self.clock, user)

    def after_deadline(self, seconds: float = 0):
        self.clock.set(self.trade.deadline_at + timedelta(seconds=seconds))

    def events(self, name=None):
        stmt = select(LiveEvent).where(LiveEvent.channel == hall.channel_of(self.code)).order_by(LiveEvent.id)
        rows = list(self.session.execute(stmt).scalars())
        return [e for e in rows if name is None or e.name == name]

    def org_name(self, user):
        return user.organisation.name


@pytest.fixture
def lot(ctx, session, clock):
    return Lot(ctx, session, clock)


# --- who may enter -----------------------------------------------------------------------------------

@pytest.mark.parametrize("who, staff", [("operator", True), ("supervisor", True), ("owner", True),
                                        ("a", False), ("b", False)])
def test_who_enters(lot, who, staff):
    viewer = hall.hall_viewer(lot.as_(getattr(lot, who)), lot.trade)
    assert viewer.staff is staff
    assert (viewer.participation_id is not None) is (who in ("a", "b"))


@pytest.mark.parametrize("who", ["c", "other_owner", "expert", "admin"])
@pytest.mark.parametrize("deadline_passed", [False, True])
def test_others_get_the_same_404_as_an_unknown_lot(lot, who, deadline_passed):
    if deadline_passed:
        lot.after_deadline()
    with pytest.raises(NotFound) as known:
        hall.hall_state(lot.as_(getattr(lot, who)), lot.code)
    with pytest.raises(NotFound) as unknown:
        hall.hall_state(lot.as_(getattr(lot, who)), "SFX2026-GC-9999-01")
    assert (known.value.code, known.value.message_zh) == (unknown.value.code, unknown.value.message_zh)


# --- secrecy before the deadline -----------------------------------------------------------------

@pytest.mark.parametrize("who", ["operator", "supervisor", "owner", "a"])
def test_snapshot_before_deadline_reveals_no_participants(lot, who):
    lot.clock.set(lot.trade.deadline_at - timedelta(microseconds=1))
    state = hall.hall_state(lot.as_(getattr(lot, who)), lot.code)
    assert state["before_deadline"] is True and state["stage"] == "waiting"
    assert state["checkin"] == {"open": False, "count": None}
    assert state["registered"] is None and state["attendees"] is None
    text = json.dumps(state, ensure_ascii=False)
    assert lot.org_name(lot.b) not in text
    if who != "a":
        assert lot.org_name(lot.a) not in text and state["me"] is None
    else:  # a bidder learns about itself only
        assert state["me"] == {"registered": True, "checked_in_at": None}


def test_registration_publishes_no_event(lot):
    assert lot.events() == []


def test_check_in_opens_at_the_deadline(lot):
    lot.clock.set(lot.trade.deadline_at - timedelta(microseconds=1))
    with pytest.raises(RuleViolation) as err:
        hall.check_in(lot.as_(lot.a), lot.code)
    assert err.value.code == "hall.checkin_not_open"
    assert lot.events() == []
    lot.after_deadline()
    part, new = hall.check_in(lot.as_(lot.a), lot.code)
    assert new and part.checked_in_at == lot.trade.deadline_at


def test_unregistered_bidder_cannot_check_in_and_learns_nothing(lot):
    lot.after_deadline()
    with pytest.raises(NotFound) as err:
        hall.check_in(lot.as_(lot.c), lot.code)
    assert err.value.code == "not_found"


@pytest.mark.parametrize("who", ["operator", "supervisor", "owner", "expert"])
def test_only_bidders_check_in(lot, who):
    lot.after_deadline()
    with pytest.raises(Forbidden):
        hall.check_in(lot.as_(getattr(lot, who)), lot.code)


# --- after the deadline ----------------------------------------------------------------------------

def test_check_in_is_audited_published_and_idempotent(lot):
    lot.after_deadline(60)
    part, new = hall.check_in(lot.as_(lot.a), lot.code)
    assert new
    again, new_again = hall.check_in(lot.as_(lot.a), lot.code)
    assert again.id == part.id and not new_again
    entries = lot.session.execute(select(AuditEntry).where(AuditEntry.action == "opening.checked_in")).scalars().all()
    assert len(entries) == 1 and entries[0].object_id == str(part.id)
    checkins = lot.events("hall:checkin")
    assert [(e.data, e.audience) for e in checkins] == [({"count": 1}, "all")]
    attendees = lot.events("hall:attendee")
    assert [(e.data["bidder"], e.audience) for e in attendees] == [(lot.org_name(lot.a), "staff")]
    hall.check_in(lot.as_(lot.b), lot.code)
    assert [e.data["count"] for e in lot.events("hall:checkin")] == [1, 2]


def test_snapshot_after_deadline_per_role(lot):
    lot.after_deadline(60)
    hall.check_in(lot.as_(lot.a), lot.code)
    staff = hall.hall_state(lot.as_(lot.operator), lot.code)
    assert staff["stage"] == "custodians" and staff["checkin"] == {"open": True, "count": 1}
    assert staff["registered"] == 2
    assert [x["bidder"] for x in staff["attendees"]] == [lot.org_name(lot.a)]
    owner = hall.hall_state(lot.as_(lot.owner), lot.code)
    assert owner["registered"] == 2 and len(owner["attendees"]) == 1
    b = hall.hall_state(lot.as_(lot.b), lot.code)
    assert b["checkin"]["count"] == 1 and b["me"] == {"registered": True, "checked_in_at": None}
    assert b["registered"] is None and b["attendees"] is None  # bidders do not see who
    assert lot.org_name(lot.a) not in json.dumps(b, ensure_ascii=False)
    a = hall.hall_state(lot.as_(lot.a), lot.code)
    assert a["me"]["checked_in_at"] == (lot.trade.deadline_at + timedelta(seconds=60)).isoformat()


def test_withdrawn_registration_neither_enters_nor_counts(lot):
    part = lot.session.execute(select(Participation).where(Participation.bidder_org_id == lot.b.org_id)).scalar_one()
    part.status = "withdrawn"
    lot.after_deadline()
    with pytest.raises(NotFound):
        hall.check_in(lot.as_(lot.b), lot.code)
    assert hall.hall_state(lot.as_(lot.operator), lot.code)["registered"] == 1


def test_snapshot_stands_at_the_last_event(lot):
    lot.after_deadline()
    hall.check_in(lot.as_(lot.a), lot.code)
    state = hall.hall_state(lot.as_(lot.a), lot.code)
    assert state["last_event_id"] == lot.events()[-1].id


def test_decrypt_progress_and_announced_stage_in_the_snapshot(lot):
    lot.after_deadline()
    ch = hall.channel_of(lot.code)
    publish(lot.as_(lot.operator), ch, "opening:stage", {"stage": "decrypting"})
    publish(lot.as_(lot.operator), ch, "decrypt:status", {"done": 1, "total": 4})
    state = hall.hall_state(lot.as_(lot.b), lot.code)
    assert state["stage"] == "decrypting" and state["decrypt"] == {"done": 1, "total": 4}


# --- host announcements --------------------------------------------------------------------------

def test_host_posts_an_announcement(lot):
    eid = hall.post_message(lot.as_(lot.operator), lot.code, "  开标会议将于 9:30 准时开始，请各投标人签到。 ")
    (event,) = lot.events("hall:message")
    assert event.id == eid and event.audience == "all"
    assert event.data["text"] == "开标会议将于 9:30 准时开始，请各投标人签到。"
    audit = lot.session.execute(select(AuditEntry).where(AuditEntry.action == "opening.hall_message")).scalar_one()
    assert json.loads(bytes(audit.body))["payload"]["text"] == event.data["text"]
    for who in ("a", "owner", "supervisor"):
        msgs = hall.hall_state(lot.as_(getattr(lot, who)), lot.code)["messages"]
        assert [(m["id"], m["text"]) for m in msgs] == [(eid, event.data["text"])]


@pytest.mark.parametrize("who", ["supervisor", "owner", "a", "expert"])
def test_only_the_operator_hosts(lot, who):
    with pytest.raises(Forbidden):
        hall.post_message(lot.as_(getattr(lot, who)), lot.code, "x")


@pytest.mark.parametrize("text, code", [("", "hall.message_empty"), ("   \n ", "hall.message_empty"),
                                        ("长" * (hall.MESSAGE_MAX + 1), "hall.message_too_long")])
def test_announcement_text_is_checked(lot, text, code):
    with pytest.raises(InvalidInput) as err:
        hall.post_message(lot.as_(lot.operator), lot.code, text)
    assert err.value.code == code
    assert lot.events() == []


# --- stages ---------------------------------------------------------------------------------------

def _trade(status, deadline_delta_s):
    from tests.timeline import DEADLINE
    return SimpleNamespace(status=status, deadline_at=DEADLINE + timedelta(seconds=deadline_delta_s))


@pytest.mark.parametrize("status, delta, record, custody, announced, expected", [
    ("accepting", 10, None, None, None, "waiting"),
    ("accepting", 0, None, None, None, "custodians"),          # the deadline instant closes it
    ("accepting", -5, None, {"accepted": 1, "k": 3, "n": 5}, None, "custodians"),
    ("opening", -5, None, {"accepted": 3, "k": 3, "n": 5}, None, "decrypting"),
    ("opening", -5, None, {"accepted": 1, "k": 3, "n": 5}, "decrypting", "decrypting"),
    ("opening", -5, None, None, "waiting", "custodians"),      # an older announcement never goes back
    ("opened", -5, {"outcome": "opened", "open_for_responses": True}, None, None, "record"),
    ("opened", -5, {"outcome": "opened", "open_for_responses": False}, None, None, "completed"),
    ("failed", -5, {"outcome": "failed", "open_for_responses": True}, None, None, "failed"),
    ("terminated", 10, None, None, None, "terminated"),
])
def test_stage(status, delta, record, custody, announced, expected):
    from tests.timeline import DEADLINE
    assert hall._stage(_trade(status, delta), DEADLINE, record, custody, announced) == expected


# --- the list of openings ---------------------------------------------------------------------------

def test_list_of_openings_per_role(lot, ctx, session, clock):
    other_owner = make_user(ctx, "owner", org=make_org(ctx, "owner"))
    other = notice_project(ctx, other_owner, procedure="tender")
    published_notice(actor_ctx(session, clock, other_owner), other)
    codes = lambda user: [r["lot_code"] for r in hall.list_openings(lot.as_(user))]  # noqa: E731
    assert len(codes(lot.operator)) == 2 and len(codes(lot.supervisor)) == 2
    assert codes(lot.owner) == [lot.code]
    assert codes(lot.a) == [lot.code]
    assert codes(lot.c) == []
    with pytest.raises(Forbidden):
        hall.list_openings(lot.as_(lot.admin))
    (row,) = hall.list_openings(lot.as_(lot.a))
    assert row["stage"] == "waiting" and "count" not in row
    lot.clock.set(lot.trade.deadline_at)
    assert hall.list_openings(lot.as_(lot.a))[0]["today"] is True


# --- a whole opening, through the opening services --------------------------------------------------

def test_hall_follows_a_whole_opening(ctx, session, clock):
    from tests.factories.custodians import add_offer, ensure_custodians, sealed_lot
    from trading.procedures.common.opening.services import submit_share

    trade, key = sealed_lot(ctx)
    prices = [98_000_000, 95_500_000, 99_000_000]
    bidders = [add_offer(ctx, trade, key, price_fen=p)[0] for p in prices]
    operator = make_user(ctx, "operator", totp=True)
    as_ = lambda u: actor_ctx(session, clock, u)  # noqa: E731
    clock.set(trade.deadline_at + timedelta(minutes=1))
    hall.check_in(as_(bidders[0]), trade.lot_code)
    holders = {s.custodian_user_id for s in key.shares}
    custodians = [(u, p) for u, p in ensure_custodians(ctx) if u.id in holders][:key.k]
    assert hall.hall_state(as_(operator), trade.lot_code)["stage"] == "custodians"
    for i, (user, passphrase) in enumerate(custodians, start=1):
        submit_share(as_(user), trade.lot_code, passphrase)
        if i < key.k:
            state = hall.hall_state(as_(bidders[1]), trade.lot_code)
            assert state["custody"] == {"accepted": i, "k": key.k, "n": key.n}
            assert state["stage"] == "custodians"
    state = hall.hall_state(as_(bidders[1]), trade.lot_code)
    assert state["stage"] == "record"
    assert state["record"]["outcome"] == "opened" and state["record"]["valid_offers"] == 3
    assert state["decrypt"]["done"] == state["decrypt"]["total"]
    assert state["checkin"] == {"open": False, "count": 1}  # the opening is over: check-in closed
    rows = hall.record_rows(as_(bidders[1]), trade)
    assert sorted(r["price_fen"] for r in rows) == sorted(prices)
    assert all(r["valid"] for r in rows) and [r["no"] for r in rows] == [1, 2, 3]
    from trading.procedures.common.opening.services import respond_to_record
    respond_to_record(as_(bidders[1]), trade.lot_code, "confirm")
    rows = hall.record_rows(as_(operator), trade)
    assert sorted(str(r["response"]) for r in rows) == ["None", "None", "confirm"]
    assert hall.hall_state(as_(operator), trade.lot_code)["record"]["confirmed"] == 1
    names = [e.name for e in session.execute(select(LiveEvent).where(
        LiveEvent.channel == hall.channel_of(trade.lot_code)).order_by(LiveEvent.id)).scalars()]
    assert {"hall:checkin", "custody:progress", "decrypt:status", "opening:record", "opening:stage"} <= set(names)
    clock.advance(days=1)
    assert hall.hall_state(as_(operator), trade.lot_code)["stage"] == "completed"
    with pytest.raises(Exception) as err:
        hall.check_in(as_(bidders[2]), trade.lot_code)
    assert getattr(err.value, "code", None) == "hall.checkin_closed"


def test_a_custodian_expert_enters_the_hall_of_its_lot_only(ctx, session, clock):
    from tests.factories.custodians import ensure_custodians, sealed_lot

    trade, key = sealed_lot(ctx)
    holders = {s.custodian_user_id for s in key.shares}
    expert = next(u for u, _ in ensure_custodians(ctx) if u.role == "expert" and u.id in holders)
    viewer = hall.hall_viewer(actor_ctx(session, clock, expert), trade)
    assert viewer.custodian and not viewer.staff
    state = hall.hall_state(actor_ctx(session, clock, expert), trade.lot_code)
    assert state["custody"]["accepted"] == 0 and state["registered"] is None
