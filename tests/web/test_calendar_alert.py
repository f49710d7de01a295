"""Fail closed on a missing calendar year: the user gets a 422 naming the year, nothing the request
did is kept, and the administrators get one alert (deduplicated), resolved by loading the year."""

from datetime import date

from sqlalchemy import func, select

from trading.extensions import db
from trading.reference import services
from trading.reference.alerts import open_alerts
from trading.reference.models import AdminAlert, RuleSetting
from trading.reference.workdays import CalendarYearMissing


def _add_route(app):
    @app.route("/_test/needs-2027", methods=["POST"])
    def needs_2027():
        from trading.core.web import service_context
        ctx = service_context()
        db.session.add(RuleSetting(code="half.written", value=1, updated_at=ctx.now()))
        db.session.flush()
        services.get_calendar(ctx).is_workday(date(2027, 3, 1))
        return "unreachable"


def test_missing_year_refuses_alerts_and_keeps_nothing(app, client, ctx):
    app.config["WTF_CSRF_ENABLED"] = False
    _add_route(app)
    for _ in range(2):
        resp = client.post("/_test/needs-2027", headers={"Accept": "application/json"})
        assert resp.status_code == 422
        assert resp.get_json()["error"] == "calendar.year_missing"
        assert "2027" in resp.get_json()["message"]
    assert db.session.get(RuleSetting, "half.written") is None
    alerts = open_alerts(db.session)
    assert len(alerts) == 1 and alerts[0].hits == 2 and "2027" in alerts[0].message

    services.load_calendar_year(ctx, 2027, [(date(2027, 1, 1), False, "元旦")], "测试用安排")
    db.session.commit()
    assert open_alerts(db.session) == []
    assert db.session.scalar(select(func.count()).select_from(AdminAlert)) == 1


def test_calendar_missing_is_a_rule_violation():
    err = CalendarYearMissing(2027)
    assert err.status == 422 and err.details == {"year": 2027}
