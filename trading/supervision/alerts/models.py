"""Supervision alerts (电子监察预警), the users each alert is about, and the evaluator's cursor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trading.core.db import Base, UTCDateTime


class SupervisionAlert(Base):
    __tablename__ = "supervision_alert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: rules.RULES code, e.g. RF-04
    rule: Mapped[str] = mapped_column(String(16), nullable=False)
    #: what the alert is about, e.g. "lot:7:ip:10.0.0.5": unique with the rule (raised once)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    #: red (严重) | yellow (警告)
    severity: Mapped[str] = mapped_column(String(8), nullable=False)
    #: open | acknowledged | investigating | closed
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot_trade.lot_id"))
    #: a lot before whose deadline nobody may read the alert (its evidence reveals bidders:
    #: 招标投标法 Art. 22, rules.md §2.4); NULL when the evidence reveals no participation
    embargo_lot_id: Mapped[int | None] = mapped_column(Integer)
    summary_zh: Mapped[str] = mapped_column(String(400), nullable=False)
    summary_en: Mapped[str] = mapped_column(String(400), nullable=False)
    #: {"seqs": [...audit seqs], "lots": [...], "orgs": [...], "facts": {...}}
    evidence: Mapped[dict] = mapped_column(JSON, nullable=False)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: the audit seq of the event whose evaluation raised it
    trigger_seq: Mapped[int | None] = mapped_column(BigInteger)
    #: the live event announcing it to the dashboard was published (deferred while embargoed)
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    investigating_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    investigating_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: confirmed | unfounded | referred (the finding's outcome) and its written reasons
    outcome: Mapped[str | None] = mapped_column(String(12))
    finding: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: notes written while investigating (appended, newest last)
    notes: Mapped[list] = mapped_column(JSON, nullable=False, default=list)

    __table_args__ = (
        UniqueConstraint("rule", "subject", name="uq_supervision_alert_rule_subject"),
        Index("ix_supervision_alert_status", "status", "id"),
        Index("ix_supervision_alert_lot", "lot_id"),
    )


class AlertSubjectUser(Base):
    """A user whose own action is part of an alert's evidence: an operator never sees alerts about
    their own actions (issue 6: operators cannot see alerts about themselves being closed)."""

    __tablename__ = "supervision_alert_user"

    alert_id: Mapped[int] = mapped_column(ForeignKey("supervision_alert.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)


class AlertCursor(Base):
    """One row (id = 1): every audit entry with seq < next_seq has been evaluated."""

    __tablename__ = "supervision_alert_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    next_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
