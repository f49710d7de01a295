"""Awards: candidate lists and their candidates, objections (异议/质疑), the award with its result
letters (中选/成交通知书 and the notices to the others), the contract record. Nothing is deleted: a
re-evaluation makes a new list and marks the old one superseded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trading.core.db import Base, Fen, UTCDateTime


class CandidateList(Base):
    """The ranked candidates (中标/中选/成交候选人) of one lot from one evaluation report."""
    __tablename__ = "candidate_list"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False)
    #: the evaluation report it comes from (evaluation is a later layer: a plain id, no foreign key)
    report_id: Mapped[int | None] = mapped_column(Integer)
    #: rules.Regime: tender_law (publicity, 异议) | gp (confirmation, 质疑)
    regime: Mapped[str] = mapped_column(String(12), nullable=False)
    #: rules.ListStatus
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: when the owner/buyer received the report: the publish and confirmation clocks start here
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: 比选/tender: publish the candidates by then (实施条例 54: 3 days)
    publish_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id"))
    publicity_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    publicity_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: GP: the buyer decides by then; silence → rank 1 stands
    confirm_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_bidder_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: buyer | deemed (silence observed and recorded)
    confirmation: Mapped[str | None] = mapped_column(String(8))
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("candidate_list.id"))

    candidates: Mapped[list[Candidate]] = relationship(back_populates="list", order_by="Candidate.rank")

    __table_args__ = (Index("ix_candidate_list_lot", "lot_id", "id"),)


class Candidate(Base):
    __tablename__ = "candidate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("candidate_list.id"), nullable=False)
    bidder_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    rank: Mapped[int] = mapped_column(Integer, nullable=False)
    #: the evaluated (GP: final) price in fen
    price_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    score: Mapped[object | None] = mapped_column(Numeric(7, 2))
    note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    #: rules.PassReason once the candidate waived / cannot perform / … (then the next rank may win)
    passed_reason: Mapped[str | None] = mapped_column(String(20))
    passed_note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    passed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    list: Mapped[CandidateList] = relationship(back_populates="candidates")

    __table_args__ = (UniqueConstraint("list_id", "rank", name="uq_candidate_rank"),
                      UniqueConstraint("list_id", "bidder_org_id", name="uq_candidate_bidder"))


class Objection(Base):
    """异议 (比选/tender: during the candidate publicity) or 质疑 (GP: after the result publicity)."""
    __tablename__ = "objection"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False)
    list_id: Mapped[int] = mapped_column(ForeignKey("candidate_list.id"), nullable=False)
    #: rules.ObjectionKind
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    bidder_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    filed_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    #: the window it was filed in closed then (kept for the record)
    window_closes_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reply_due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: open | answered
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    reply: Mapped[str] = mapped_column(Text, nullable=False, default="")
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: answered after reply_due_at
    late: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    __table_args__ = (Index("ix_objection_lot", "lot_id", "status"),)


class Award(Base):
    """定标/确定成交: the winner of a lot, the result notice and the contract clock."""
    __tablename__ = "award"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False)
    #: a list has one award at a time; a re-award to the next candidate adds one and supersedes the first
    list_id: Mapped[int] = mapped_column(ForeignKey("candidate_list.id"), nullable=False)
    bidder_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    rank: Mapped[int] = mapped_column(Integer, nullable=False)
    price_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    #: active | defaulted (the winner refused, did not sign or gave up; recorded in AwardDefault) |
    #: superseded (the next candidate was awarded: superseded_by_id). Never deleted.
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="active")
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("award.id"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    determined_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    determined_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: GP: the result must be published by then (2 WD of the determination)
    result_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result_notice_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id"))
    #: GP: 质疑 on the result may be filed until then
    challenge_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: GP: names of the negotiation/inquiry team as published (74号令 18)
    team_names: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    #: the contract is due by then (30 days of the notice; 招标出让: award.land_contract_wd working days)
    contract_due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    letters: Mapped[list[ResultLetter]] = relationship(back_populates="award", order_by="ResultLetter.id",
                                                       foreign_keys="ResultLetter.award_id")

    __table_args__ = (Index("ix_award_lot", "lot_id"), Index("ix_award_list", "list_id"),
                      Index("ix_award_contract_due", "contract_due_at"))


class ResultLetter(Base):
    """中选/成交通知书 to the winner, 结果通知书 to every other participant; the PDF is rendered once
    and cached in the blob store."""
    __tablename__ = "result_letter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id"), nullable=False)
    bidder_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    #: winner | other
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    #: 通知书编号, e.g. the lot code + "-ZX-01"
    number: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))

    award: Mapped[Award] = relationship(back_populates="letters")

    __table_args__ = (UniqueConstraint("award_id", "bidder_org_id", name="uq_result_letter_bidder"),)


class ContractRecord(Base):
    """合同签订 as recorded by the owner/buyer; a correction is a new row (the latest one counts)."""
    __tablename__ = "contract_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id"), nullable=False, index=True)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    amount_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    #: signed after the contract_due_at of the award
    late: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class AwardDefault(Base):
    """The awarded supplier refused to sign, did not sign within the period, gave up, or cannot perform
    (rules.DefaultKind), as the buyer recorded it with its reason and evidence; what happened to its
    deposit; then the buyer's decision: the next candidate awarded (next_award_id) or the lot ended
    for re-procurement. One per award; kept for the record."""
    __tablename__ = "award_default"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id"), unique=True, nullable=False)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False, index=True)
    bidder_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    #: rules.DefaultKind
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    #: what the evidence is (e.g. the supplier's written waiver of 12-01) and the file, if uploaded
    evidence_note: Mapped[str] = mapped_column(String(500), nullable=False)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    evidence_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    #: rules.DepositOutcome applied to the defaulting winner's deposit (forfeit | refund)
    deposit: Mapped[str] = mapped_column(String(8), nullable=False)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: None while the buyer decides | reawarded | ended (re-procurement)
    outcome: Mapped[str | None] = mapped_column(String(10))
    next_award_id: Mapped[int | None] = mapped_column(ForeignKey("award.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
