"""Live events for Server-Sent Events (opening hall, later the auction room and dashboards).

An event is a row of `live_event`, written by a service in the transaction of the change it reports,
so it commits or rolls back with it; its id is the SSE `id`, and a reconnect resumes with every row
after `Last-Event-ID`. The table is the source of truth; the broker (core/broker.py) only wakes the
streams when new rows commit. Events carry minimal state, never secrets, never scores, and nothing
that reveals bidders before a deadline (their audience decides who may read them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, select, text
from sqlalchemy.orm import Mapped, mapped_column

from .broker import PG_CHANNEL, format_payload
from .context import ServiceContext
from .db import Base, UTCDateTime


class LiveEvent(Base):
    __tablename__ = "live_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: e.g. "hall:SFX2026-GC-0007-01"
    channel: Mapped[str] = mapped_column(String(80), nullable=False)
    #: e.g. "opening:stage", "decrypt:status", "hall:checkin", "opening:record"
    name: Mapped[str] = mapped_column(String(40), nullable=False)
    data: Mapped[dict] = mapped_column(JSON, nullable=False)
    #: who may receive it: "all" (everyone allowed on the channel), "staff" (owner side, operator,
    #: supervisors), or "org:<id>" (one bidder organisation only)
    audience: Mapped[str] = mapped_column(String(24), nullable=False, default="all")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (Index("ix_live_event_channel_id", "channel", "id"),)


def publish(ctx: ServiceContext, channel: str, name: str, data: dict[str, Any], *, audience: str = "all") -> int:
    """Add an event in the caller's transaction; the broker wakes the streams after commit."""
    event = LiveEvent(channel=channel, name=name, data=data, audience=audience, created_at=ctx.now())
    ctx.session.add(event)
    ctx.session.flush()
    info = ctx.session.info
    info.setdefault("live_channels", set()).add(channel)
    ids = info.setdefault("live_event_ids", {})
    ids[channel] = max(ids.get(channel, 0), event.id)
    if ctx.session.get_bind().dialect.name == "postgresql":
        # Delivered to every listening worker at COMMIT, never on rollback (core/broker.py).
        ctx.session.execute(text("SELECT pg_notify(:ch, :payload)"),
                            {"ch": PG_CHANNEL, "payload": format_payload(channel, event.id)})
    return event.id


def events_since(session, channel: str, after_id: int, limit: int = 500) -> list[LiveEvent]:
    return list(session.execute(select(LiveEvent).where(LiveEvent.channel == channel, LiveEvent.id > after_id)
                                .order_by(LiveEvent.id).limit(limit)).scalars())


def last_event_id(session, channel: str) -> int:
    """The id a stream's snapshot stands at: every event after it is a delta."""
    from sqlalchemy import func

    return session.execute(select(func.coalesce(func.max(LiveEvent.id), 0))
                           .where(LiveEvent.channel == channel)).scalar_one()


def audience_allows(audience: str, *, staff: bool, org_id: int | None) -> bool:
    """Who may receive an event: "all", "staff" (owner side, operator, supervisors), "org:<id>"."""
    if audience == "all":
        return True
    if audience == "staff":
        return staff
    if audience.startswith("org:"):
        return org_id is not None and audience == f"org:{org_id}"
    return False  # an unknown audience reaches nobody (fail closed)
