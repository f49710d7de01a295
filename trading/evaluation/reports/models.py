"""The evaluation report (评审报告) and its signatures. The body is the summary as canonical JSON
whose SHA-256 every signature names: a member signs what they saw. A report is `signing` until every
active member has signed (or refused), then `final`. Nothing is edited or deleted.

Imports: core only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trading.core.db import Base, UTCDateTime


class EvaluationReport(Base):
    __tablename__ = "evaluation_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False, unique=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panel.id"), nullable=False)
    criteria_id: Mapped[int] = mapped_column(ForeignKey("lot_criteria.id"), nullable=False)
    #: scoring.rules.summary_body plus the lot, criteria and members (see reports.services)
    body: Mapped[dict] = mapped_column(JSON, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    #: signing | final
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    finalised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the final report's PDF in the blob store (SHA-256 hex), rendered once (WeasyPrint is slow)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))


class ReportSignature(Base):
    """A member's act on the report, confirmed with a fresh two-factor code:
    - `agree`: signed;
    - `dissent`: signed with a written dissent (保留意见);
    - `refused`: refused to sign. With a written reason it is a dissent on the record; without one the
      member counts as agreeing (实施条例 Art. 53), and `counts_as` says so explicitly."""
    __tablename__ = "report_signature"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("evaluation_report.id"), nullable=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("panel_member.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    #: agree | dissent | refused
    act: Mapped[str] = mapped_column(String(8), nullable=False)
    #: agree | dissent — how the act counts (a refusal without a reason counts as agree)
    counts_as: Mapped[str] = mapped_column(String(8), nullable=False)
    dissent: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: the report body's SHA-256 the member saw and signed
    report_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    #: how the signature was confirmed ("totp")
    confirmed_by: Mapped[str] = mapped_column(String(12), nullable=False)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ip: Mapped[str] = mapped_column(String(45), nullable=False, default="")

    __table_args__ = (UniqueConstraint("report_id", "member_id", name="uq_report_signature_member"),)
