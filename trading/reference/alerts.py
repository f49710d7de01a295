"""Alerts to administrators. A refused working-day computation raises one (deduplicated per year) so
the missing holiday schedule gets loaded; loading the year resolves it."""

from __future__ import annotations

from sqlalchemy import select

from trading.audit.services import record
from trading.core.context import ServiceContext

from .models import AdminAlert


def raise_alert(ctx: ServiceContext, key: str, message: str) -> AdminAlert:
    alert = ctx.session.execute(
        select(AdminAlert).where(AdminAlert.key == key, AdminAlert.resolved_at.is_(None))).scalar_one_or_none()
    if alert is not None:
        alert.hits += 1
        return alert
    alert = AdminAlert(key=key, message=message[:400], raised_at=ctx.now())
    ctx.session.add(alert)
    ctx.session.flush()
    record(ctx, "admin_alert.raised", "admin_alert", alert.id, payload={"key": key})
    return alert


def resolve_alerts(ctx: ServiceContext, key: str) -> int:
    alerts = ctx.session.execute(
        select(AdminAlert).where(AdminAlert.key == key, AdminAlert.resolved_at.is_(None))).scalars().all()
    for alert in alerts:
        alert.resolved_at = ctx.now()
        record(ctx, "admin_alert.resolved", "admin_alert", alert.id, payload={"key": key})
    return len(alerts)


def open_alerts(session) -> list[AdminAlert]:
    return list(session.execute(select(AdminAlert).where(AdminAlert.resolved_at.is_(None))
                                .order_by(AdminAlert.raised_at.desc())).scalars())


def calendar_key(year: int) -> str:
    return f"calendar.year_missing:{year}"
