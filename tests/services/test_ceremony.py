"""Custodian enrolment and the opening-key ceremony at publication: n custodians from ≥ 3 institutions,
Q, kid and commitments audited, shares sealed to each custodian's passphrase key, d never stored; too
few custodians refuse the publish with a message naming what is missing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import actor_ctx, make_org, make_user
from tests.factories.custodians import FAST_N, ensure_custodians, sealed_lot
from tests.factories.notices import make_notice, notice_project
from trading.accounts import custodians as custody
from trading.accounts.models import CustodianKey
from trading.audit.models import AuditEntry
from trading.core.errors import Conflict, Forbidden, InvalidInput, RuleViolation
from trading.extensions import db
from trading.procedures.common import services as notices
from trading.procedures.common.models import LotTrade, Notice
from trading.procedures.common.opening.models import CustodianShare, OpeningKey
from trading.procedures.common.opening.services import get_opening_key
from trading.sealing import custodian as crypto
from trading.sealing import shamir


def _entries(session, action):
    return [json.loads(e.body) for e in session.execute(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).scalars()]


# --- enrolment -------------------------------------------------------------------------------------

def test_enrol_stores_only_public_values_and_audits_without_the_passphrase(session, clock, ctx):
    op = make_user(ctx, "operator", totp=True)
    key = custody.enrol_custodian(actor_ctx(session, clock, op), "my passphrase 2026", scrypt_n=FAST_N)
    assert key.user_id == op.id and key.org_id == op.org_id and key.revoked_at is None
    assert len(key.public_raw) == 65 and len(key.salt) == 16 and key.kdf_params == {"n": FAST_N, "r": 8, "p": 1}
    material = custody.custodian_material(key)
    assert crypto.passphrase_matches("my passphrase 2026", material)
    entry = _entries(session, "custodian.enrolled")[-1]
    assert entry["payload"]["kid"] == key.kid.hex()
    assert "my passphrase 2026" not in json.dumps(entry, ensure_ascii=False)


def test_enrol_default_parameters_are_the_production_ones(session, clock, ctx):
    op = make_user(ctx, "supervisor", totp=True)
    key = custody.enrol_custodian(actor_ctx(session, clock, op), "my passphrase 2026")
    assert key.kdf_params == {"n": 2**15, "r": 8, "p": 1}


@pytest.mark.parametrize("role, totp, error", [
    ("bidder", True, Forbidden), ("owner", True, Forbidden), ("agency", False, Forbidden),
    ("expert", False, Forbidden),   # two-factor not enabled
    ("expert", True, None), ("operator", True, None), ("supervisor", True, None),
])
def test_who_may_enrol(session, clock, ctx, role, totp, error):
    user = make_user(ctx, role, totp=totp)
    call = lambda: custody.enrol_custodian(actor_ctx(session, clock, user), "my passphrase 2026", scrypt_n=FAST_N)  # noqa: E731
    if error is None:
        assert call().user_id == user.id
    else:
        with pytest.raises(error):
            call()


@pytest.mark.parametrize("passphrase, code", [
    ("short 1", "custodian.passphrase_too_short"), ("only letters here", "custodian.passphrase_needs_digit"),
    ("1234567890123", "custodian.passphrase_needs_letter"), ("a1" * 200, "custodian.passphrase_too_long"),
])
def test_weak_passphrases_refused(session, clock, ctx, passphrase, code):
    op = make_user(ctx, "operator", totp=True)
    with pytest.raises(InvalidInput) as err:
        custody.enrol_custodian(actor_ctx(session, clock, op), passphrase, scrypt_n=FAST_N)
    assert err.value.code == code and err.value.field == "passphrase"


def test_re_enrol_revokes_the_old_key_when_no_share_waits(session, clock, ctx):
    op = make_user(ctx, "operator", totp=True)
    octx = actor_ctx(session, clock, op)
    old = custody.enrol_custodian(octx, "my passphrase 2026", scrypt_n=FAST_N)
    new = custody.enrol_custodian(octx, "my new passphrase 2027", scrypt_n=FAST_N)
    assert old.revoked_at == clock.now() and new.revoked_at is None
    assert custody.active_custodian_key(ctx, op.id).id == new.id
    assert _entries(session, "custodian.enrolled")[-1]["payload"]["replaces_key_id"] == old.id


def test_re_enrol_refused_while_a_share_waits_for_its_opening(session, clock, ctx):
    people = ensure_custodians(ctx)
    sealed_lot(ctx)
    user, _ = people[0]
    with pytest.raises(Conflict) as err:
        custody.enrol_custodian(actor_ctx(session, clock, user), "my new passphrase 2027", scrypt_n=FAST_N)
    assert err.value.code == "custodian.key_in_use" and err.value.details["shares_waiting"] == 1
    assert session.execute(select(func.count()).select_from(CustodianKey)
                           .where(CustodianKey.user_id == user.id)).scalar_one() == 1


# --- the ceremony -----------------------------------------------------------------------------------

def test_ceremony_at_publication(session, clock, ctx):
    people = ensure_custodians(ctx)
    trade, key = sealed_lot(ctx)
    assert (key.k, key.n) == (3, 5) and key.kid == shamir.kid_of(key.public_raw)
    assert get_opening_key(ctx, trade.lot_code).id == key.id == get_opening_key(ctx, trade.lot_id).id
    shares = list(session.execute(select(CustodianShare).where(CustodianShare.opening_key_id == key.id)
                                  .order_by(CustodianShare.x)).scalars())
    assert [s.x for s in shares] == [1, 2, 3, 4, 5] and all(s.status == "held" and s.accepted_y is None for s in shares)
    orgs = [s.custodian_org_id for s in shares]
    assert len(set(orgs)) >= 3 and max(orgs.count(o) for o in orgs) <= 2   # no institution can open alone
    # every share unseals with its custodian's passphrase and matches its commitment; any 3 rebuild Q
    passphrases = {u.id: p for u, p in people}
    opened = []
    for s in shares:
        material = custody.custodian_material(session.get(CustodianKey, s.custodian_key_id))
        share = crypto.unseal_share(s.sealed_share, passphrases[s.custodian_user_id], material,
                                    lot_code=trade.lot_code, index=s.x, custodian_id=s.custodian_user_id)
        assert shamir.verify_share(share, s.commitment)
        opened.append((s.x, share))
    commitments = [s.commitment for s in shares]
    for subset in ([0, 1, 2], [2, 3, 4], [0, 2, 4]):
        shamir.rebuild_private_key([opened[i] for i in subset], commitments, 3, key.public_raw)
    entry = _entries(session, "opening.key_ceremony")[-1]["payload"]
    assert entry["public_key"] == key.public_raw.hex() and entry["kid"] == key.kid.hex()
    assert entry["commitments"] == [c.hex() for c in commitments] and (entry["k"], entry["n"]) == (3, 5)
    assert sorted(c["user_id"] for c in entry["custodians"]) == sorted(s.custodian_user_id for s in shares)


def test_custodians_are_drawn_at_random(session, clock, ctx):
    ensure_custodians(ctx, n=8, institutions=4)
    draws = set()
    for _ in range(4):
        trade, key = sealed_lot(ctx)
        draws.add(tuple(sorted(s.custodian_user_id for s in key.shares)))
    assert len(draws) > 1


def _revoke_all_but(session, keep_user_ids):
    for key in session.execute(select(CustodianKey)).scalars():
        if key.user_id not in keep_user_ids:
            session.delete(key)
    session.flush()


def test_publish_refused_when_too_few_institutions(session, clock, ctx):
    people = ensure_custodians(ctx, n=5, institutions=2)   # 5 people but 2 institutions
    assert len({u.org_id for u, _ in people}) == 2
    # notice_project adds the default pool of three institutions: keep only the two-institution one
    owner = make_user(ctx, "owner")
    project = notice_project(ctx, owner)
    keep = {u.id for u, _ in people}
    _revoke_all_but(session, keep)
    octx = actor_ctx(session, clock, owner)
    draft = make_notice(octx, project)
    session.commit()
    with pytest.raises(RuleViolation) as err:
        notices.publish_notice(octx, draft.id)
    assert err.value.code == "opening.custodians_unavailable"
    assert err.value.details["missing_institutions"] == 1 and err.value.details["available_institutions"] == 2
    assert "保管人" in err.value.message_zh and "交易中心" in err.value.message_zh
    assert "custody page" in err.value.message_en


def test_publish_refused_without_custodians_and_nothing_is_written(session, clock, ctx):
    owner = make_user(ctx, "owner")
    project = notice_project(ctx, owner)
    _revoke_all_but(session, set())
    octx = actor_ctx(session, clock, owner)
    draft = make_notice(octx, project)
    session.commit()
    with pytest.raises(RuleViolation) as err:
        notices.publish_notice(octx, draft.id)
    db.session.rollback()
    assert err.value.code == "opening.custodians_unavailable" and err.value.details["available_custodians"] == 0
    assert session.get(Notice, draft.id).status == "draft"
    assert session.execute(select(func.count()).select_from(LotTrade)).scalar_one() == 0
    assert session.execute(select(func.count()).select_from(OpeningKey)).scalar_one() == 0


def test_ineligible_custodians_are_not_drawn(session, clock, ctx):
    """Deactivated users, users without two-factor and revoked keys do not count."""
    people = ensure_custodians(ctx)
    owner = make_user(ctx, "owner")
    project = notice_project(ctx, owner)
    user, _ = people[0]
    user.is_active = False
    session.flush()
    octx = actor_ctx(session, clock, owner)
    draft = make_notice(octx, project)
    session.commit()
    with pytest.raises(RuleViolation) as err:
        notices.publish_notice(octx, draft.id)
    assert err.value.details["available_custodians"] == 4
    db.session.rollback()
    # a fifth custodian in a fourth institution makes it possible again
    extra = make_user(ctx, "expert", org=make_org(ctx, "expert_employer"), totp=True)
    custody.enrol_custodian(actor_ctx(session, clock, extra), "extra custodian 1", scrypt_n=FAST_N)
    notices.publish_notice(octx, draft.id)
    key = session.execute(select(OpeningKey)).scalar_one()
    assert user.id not in {s.custodian_user_id for s in key.shares}
    assert extra.id in {s.custodian_user_id for s in key.shares}

