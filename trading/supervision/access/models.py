"""The supervisors' access log: one row per record page or API answer a supervisor read.

Deliberately NOT the audit chain: an audit append takes the chain's head lock until the request
commits, so writing every read there would serialise all reading with all trading. These rows are
append-only on their own (services only insert; on PostgreSQL a trigger refuses UPDATE and DELETE)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, ForeignKey, Index, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column

from trading.audit.models import APPEND_ONLY_TABLES, PG_APPEND_ONLY_FUNCTION, PG_APPEND_ONLY_TRIGGERS
from trading.core.db import Base, UTCDateTime


class SupervisionViewLog(Base):
    __tablename__ = "supervision_view_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    username: Mapped[str] = mapped_column(String(40), nullable=False)
    #: the Flask endpoint read, e.g. supervision.project_timeline, api.audit_entries
    endpoint: Mapped[str] = mapped_column(String(80), nullable=False)
    #: the path with its query string, as requested (cut at 300 characters)
    path: Mapped[str] = mapped_column(String(300), nullable=False)
    #: what was looked at: project, lot, notice, document, alert, … and its code or id ("" for lists)
    object_type: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    object_code: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    ip: Mapped[str] = mapped_column(String(45), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(String(200), nullable=False, default="")

    __table_args__ = (
        Index("ix_supervision_view_log_user", "user_id", "id"),
        Index("ix_supervision_view_log_object", "object_type", "object_code", "id"),
        Index("ix_supervision_view_log_at", "at"),
    )


#: PostgreSQL refuses UPDATE and DELETE on the log whatever the caller: the audit tables' function and
#: a trigger from audit.models' list of append-only tables (the migration creates the same ones).
PG_VIEW_LOG_TRIGGER = PG_APPEND_ONLY_TRIGGERS[APPEND_ONLY_TABLES.index(SupervisionViewLog.__tablename__)]
event.listen(SupervisionViewLog.__table__, "after_create",
             DDL(PG_APPEND_ONLY_FUNCTION.replace("%", "%%")).execute_if(dialect="postgresql"))
event.listen(SupervisionViewLog.__table__, "after_create", DDL(PG_VIEW_LOG_TRIGGER).execute_if(dialect="postgresql"))
