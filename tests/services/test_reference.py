"""Rule settings and the loaded calendar: admin-only changes, range checks, audit, fail-closed years."""

from datetime import date

import pytest

from trading.audit.models import AuditHead
from trading.core.context import Actor, ServiceContext
from trading.core.errors import Forbidden, InvalidInput, NotFound
from trading.extensions import db
from trading.reference import services
from trading.reference.settings import get_setting
from trading.reference.workdays import CalendarYearMissing


def _as(role, clock):
    return ServiceContext(session=db.session, clock=clock,
                          actor=Actor(user_id=None, org_id=None, roles=frozenset({role}), acting_role=role))


def _seq():
    db.session.expire_all()
    return db.session.get(AuditHead, 1).next_seq


def test_default_then_override(ctx, clock):
    assert get_setting(ctx, "period.selection_notice_cd") == 5
    services.update_setting(_as("admin", clock), "period.selection_notice_cd", 7)
    db.session.commit()
    fresh = ServiceContext(session=db.session, clock=clock)
    assert get_setting(fresh, "period.selection_notice_cd") == 7


@pytest.mark.parametrize("role", ["operator", "supervisor", "owner", "bidder"])
def test_only_admin_changes_settings(clock, role, app):
    before = _seq()
    with pytest.raises(Forbidden):
        services.update_setting(_as(role, clock), "period.selection_notice_cd", 7)
    db.session.rollback()
    assert _seq() == before


@pytest.mark.parametrize("code,value,exc", [("period.selection_notice_cd", 0, InvalidInput),
                                            ("period.selection_notice_cd", "7", InvalidInput),
                                            ("period.selection_notice_cd", 1.5, InvalidInput),
                                            ("no.such.setting", 1, NotFound)])
def test_bad_setting_values(clock, app, code, value, exc):
    before = _seq()
    with pytest.raises(exc):
        services.update_setting(_as("admin", clock), code, value)
    db.session.rollback()
    assert _seq() == before


def test_builtin_years_load_and_2027_fails_closed(ctx):
    services.load_builtin_years(ctx, [2026])
    db.session.commit()
    cal = services.get_calendar(ServiceContext(session=db.session))
    assert not cal.is_workday(date(2026, 10, 1))       # National Day
    assert cal.is_workday(date(2026, 10, 10))          # make-up Saturday
    with pytest.raises(CalendarYearMissing) as err:
        cal.is_workday(date(2027, 1, 4))
    assert "2027" in err.value.message_zh and err.value.code == "calendar.year_missing"


def test_builtin_refuses_unknown_year(ctx):
    with pytest.raises(InvalidInput):
        services.load_builtin_years(ctx, [2027])


def test_load_year_from_file_data(ctx):
    days = [(date(2027, 1, 1), False, "元旦"), (date(2027, 2, 6), True, "春节调休")]
    services.load_calendar_year(ctx, 2027, days, "国办发明电〔2026〕X号（测试数据）")
    db.session.commit()
    cal = services.get_calendar(ServiceContext(session=db.session))
    assert not cal.is_workday(date(2027, 1, 1)) and cal.is_workday(date(2027, 2, 6))


@pytest.mark.parametrize("days,source,code", [
    ([(date(2026, 1, 1), False, "x")], "src", "calendar.wrong_year"),
    ([(date(2027, 1, 1), False, "x"), (date(2027, 1, 1), True, "y")], "src", "calendar.duplicate_day"),
    ([], "", "calendar.source"),
])
def test_load_year_bad_input(ctx, days, source, code):
    with pytest.raises(InvalidInput) as err:
        services.load_calendar_year(ctx, 2027, days, source)
    assert err.value.code == code


def test_create_region_audited(ctx):
    region = services.create_region(ctx, code="511001", name="青山镇", name_en="Qingshan", sort=2)
    db.session.commit()
    assert [r.name for r in services.list_regions(db.session)] == ["青山镇"]
    from sqlalchemy import select

    from trading.audit.models import AuditEntry
    actions = db.session.execute(select(AuditEntry.action, AuditEntry.object_id)).all()
    assert ("region.created", str(region.id)) in actions


@pytest.mark.parametrize("fields,code", [
    ({"code": "51 1", "name": "x"}, "region.code"), ({"code": "", "name": "x"}, "region.code"),
    ({"code": "511002", "name": ""}, "region.name"), ({"code": "511002", "name": "长" * 41}, "region.name"),
])
def test_create_region_bad_input(ctx, fields, code):
    before = _seq()
    with pytest.raises(InvalidInput) as err:
        services.create_region(ctx, **fields)
    assert err.value.code == code
    db.session.rollback()
    assert _seq() == before


def test_create_region_duplicate_and_role(ctx, clock):
    services.create_region(ctx, code="511003", name="石桥镇")
    from trading.core.errors import Conflict
    with pytest.raises(Conflict):
        services.create_region(ctx, code="511003", name="另一个")
    with pytest.raises(Forbidden):
        services.create_region(_as("operator", clock), code="511004", name="白马镇")
