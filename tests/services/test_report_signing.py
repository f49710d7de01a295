"""The evaluation report: generated once every sheet is in, signed by each active member with a
two-factor code (agree / dissent / refusal — a refusal without reason counts as agreeing, on the
record), final after the last member: the lot is reported and the candidates proposed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import totp_code
from tests.factories.evaluation import evaluation_lot, fill_and_submit
from trading.audit.models import AuditEntry
from trading.core.errors import Conflict, InvalidInput
from trading.core.events import LiveEvent
from trading.evaluation.reports import services as reports
from trading.evaluation.reports.models import ReportSignature
from trading.evaluation.scoring import services as scoring


def signed_lot(ctx):
    ev = evaluation_lot(ctx, prices=(800_000_00, 900_000_00, 850_000_00, 700_000_00))
    b1, b2, b3, b4 = ev.bidders
    reject = {"decision": "reject", "reject_code": "R1", "reject_note": "资格证书缺失"}
    fill_and_submit(ev, {b1.id: ("35", "15"), b2.id: ("40", "20"), b3.id: ("30", "10"),
                         b4.id: {0: reject, 1: reject, 2: ("30", "10")}})
    return ev


def state(session):
    return (session.execute(select(func.count()).select_from(ReportSignature)).scalar_one(),
            session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


def test_report_needs_every_sheet(ctx, session):
    ev = evaluation_lot(ctx)
    fill_and_submit(ev, members=ev.members[:2])
    with pytest.raises(Conflict) as err:
        reports.generate_report(ev.members[0].ctx, ev.code)
    assert err.value.code == "evaluation.summary_not_ready"


def test_signature_flow_with_dissent_and_refusal(ctx, session, clock):
    from trading.procedures.common.awards.models import CandidateList

    ev = signed_lot(ctx)
    a, b, c = ev.members
    report = reports.generate_report(a.ctx, ev.code)
    assert reports.generate_report(b.ctx, ev.code).id == report.id
    b1, b2, b3, b4 = ev.bidders
    assert report.body["summary"]["candidates"] == [b2.id, b1.id, b3.id]
    assert report.status == "signing"

    before = state(session)
    with pytest.raises(InvalidInput) as err:           # a wrong code: nothing signed
        reports.sign_report(a.ctx, ev.code, "agree", code="000000")
    assert err.value.code == "auth.totp_invalid"
    with pytest.raises(InvalidInput) as err:
        reports.sign_report(a.ctx, ev.code, "dissent", code=totp_code(a.user, clock))
    assert err.value.code == "report.dissent_required"
    with pytest.raises(Conflict) as err:
        reports.sign_report(a.ctx, ev.code, "agree", code=totp_code(a.user, clock), report_sha256="0" * 64)
    assert err.value.code == "report.changed"
    assert state(session)[0] == before[0]

    s1 = reports.sign_report(a.ctx, ev.code, "agree", code=totp_code(a.user, clock), report_sha256=report.sha256)
    assert (s1.act, s1.counts_as, s1.confirmed_by) == ("agree", "agree", "totp")
    with pytest.raises(Conflict) as err:
        reports.sign_report(a.ctx, ev.code, "agree", code=totp_code(a.user, clock, 1))
    assert err.value.code == "report.already_signed"
    s2 = reports.sign_report(b.ctx, ev.code, "dissent", code=totp_code(b.user, clock), dissent="丙的技术分偏低")
    assert (s2.act, s2.counts_as, s2.dissent) == ("dissent", "dissent", "丙的技术分偏低")
    assert report.status == "signing" and ev.trade.status == "evaluating"

    s3 = reports.sign_report(c.ctx, ev.code, "refused", code=totp_code(c.user, clock))
    assert (s3.act, s3.counts_as) == ("refused", "agree")      # no written reason: counts as agreeing
    entry = session.execute(select(AuditEntry).where(AuditEntry.action == "evaluation.report_signed")
                            .order_by(AuditEntry.seq.desc())).scalars().first()
    assert b'"refused_without_reason_counts_as_agreeing":true' in bytes(entry.body).replace(b" ", b"")

    assert report.status == "final" and report.finalised_at is not None
    assert ev.trade.status == "reported"
    cl = session.execute(select(CandidateList).where(CandidateList.lot_id == ev.trade.lot_id)).scalar_one()
    assert cl.report_id == report.id
    with pytest.raises(Conflict):
        reports.sign_report(a.ctx, ev.code, "agree", code=totp_code(a.user, clock, 2))


def test_a_refusal_with_a_reason_is_a_dissent(ctx, session, clock):
    ev = signed_lot(ctx)
    a = ev.members[0]
    reports.generate_report(a.ctx, ev.code)
    s = reports.sign_report(a.ctx, ev.code, "refused", code=totp_code(a.user, clock), dissent="评分有误，拒绝签字")
    assert (s.act, s.counts_as) == ("refused", "dissent")


def test_sheets_and_declarations_are_frozen_once_the_report_exists(ctx, session):
    ev = signed_lot(ctx)
    reports.generate_report(ev.members[0].ctx, ev.code)
    with pytest.raises(Conflict) as err:
        scoring.declare(ev.members[0].ctx, ev.code, ev.bidders[0].id, conflict=True, note="迟报")
    assert err.value.code == "evaluation.report_exists"


def test_a_member_without_two_factor_cannot_sign(ctx, session, clock):
    ev = signed_lot(ctx)
    a = ev.members[0]
    reports.generate_report(a.ctx, ev.code)
    a.user.totp_enabled = False
    session.flush()
    with pytest.raises(Conflict) as err:
        reports.sign_report(a.ctx, ev.code, "agree", code=totp_code(a.user, clock))
    assert err.value.code == "report.two_factor_required"


def test_no_event_of_the_whole_evaluation_carries_a_score(ctx, session, clock):
    ev = signed_lot(ctx)
    reports.generate_report(ev.members[0].ctx, ev.code)
    for m in ev.members:
        reports.sign_report(m.ctx, ev.code, "agree", code=totp_code(m.user, clock))
    events = session.execute(select(LiveEvent)).scalars().all()
    names = {e.name for e in events}
    assert {"evaluation:sheet_submitted", "evaluation:report_signed", "evaluation:report_final"} <= names
    forbidden = ("score", "total", "average", "median", "price", "rank", "candidate")
    for e in events:
        if e.channel != scoring.channel(ev.code):
            continue
        text = repr(e.data).lower()
        assert not any(word in text for word in forbidden), e.data
        assert "95.56" not in text and "35.56" not in text
