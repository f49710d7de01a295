"""竞争性谈判 (财政部令74号) rounds as data: the negotiation of a lot (NegotiationCase), the suppliers
still in it (NegotiationSupplier), its rounds (NegotiationRound, each with its own opening key whose
private half exists only as custodians' shares, RoundKeyShare), the sealed revised quotes of a round
(RoundQuote), the changes to the requirements every supplier still in receives (RequirementChange)
and the team's separate talks with each supplier (NegotiationSession). Nothing is deleted: a replaced
quote is "superseded", a withdrawn supplier "withdrawn". See services.py for the design."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from trading.core.db import Base, Fen, UTCDateTime


class NegotiationCase(Base):
    """One lot's negotiation, from start_negotiation: the team's composition and the minimum of
    suppliers that applies (3; 2 only after a failed tender with an approval reference, Art. 27 ¶2)."""
    __tablename__ = "negotiation_case"

    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), primary_key=True, autoincrement=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: 谈判小组: members and experts among them (≥ 3, odd; experts ≥ 2/3)
    team_size: Mapped[int] = mapped_column(Integer, nullable=False)
    team_experts: Mapped[int] = mapped_column(Integer, nullable=False)
    #: the lot records a failed prior public tender (Art. 27 ¶2) …
    prior_tender_failed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: … and the finance department's approval reference (批准文号); both needed for the 2-supplier minimum
    approval_ref: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    #: fewest suppliers to go on (3, or 2 under the exception)
    min_suppliers: Mapped[int] = mapped_column(Integer, nullable=False)
    audit_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)


class NegotiationSupplier(Base):
    """A supplier in the negotiation of a lot: those whose first response opened valid. How it was
    invited (announcement, or recommended by the buyer or an expert, Art. 12) and whether it is still in."""
    __tablename__ = "negotiation_supplier"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False)
    bidder_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    #: announcement | database | buyer | expert
    source: Mapped[str] = mapped_column(String(12), nullable=False, default="announcement")
    #: active | withdrawn (Art. 34, before the final offer; deposit refunded) | excluded (non-responsive)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="active")
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")

    __table_args__ = (UniqueConstraint("lot_id", "bidder_org_id", name="uq_negotiation_supplier"),)


class NegotiationRound(Base):
    """A round (轮次) of a lot's negotiation: normal rounds, then one final-offer round (最后报价).
    Its trade code `<lot_code>-R<no>` is the lot_id of its quotes' envelope context; its opening key
    (Q, kid, k of n) is made at open_round like a lot's at publication."""
    __tablename__ = "negotiation_round"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False)
    no: Mapped[int] = mapped_column(Integer, nullable=False)
    #: normal | final
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    #: `<lot_code>-R<no>`: never a lot code (a lot code ends in two digits or A<n>, this in R<no>)
    code: Mapped[str] = mapped_column(String(60), unique=True, nullable=False)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: quotes are taken until this instant (server time)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when k custodians' shares opened the round's quotes
    quotes_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: the round's opening key Q (raw 65 bytes) and kid = SHA-256(Q)[:8]
    public_raw: Mapped[bytes] = mapped_column(LargeBinary(65), nullable=False)
    kid: Mapped[bytes] = mapped_column(LargeBinary(8), nullable=False)
    k: Mapped[int] = mapped_column(Integer, nullable=False)
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    #: the audit entry that published Q, k, n and the commitments
    key_audit_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)

    __table_args__ = (UniqueConstraint("lot_id", "no", name="uq_negotiation_round_no"),)


class RoundKeyShare(Base):
    """A custodian's share of a round's opening key (same scheme as opening.CustodianShare)."""
    __tablename__ = "negotiation_round_share"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("negotiation_round.id"), nullable=False)
    x: Mapped[int] = mapped_column(Integer, nullable=False)
    custodian_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    custodian_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    custodian_key_id: Mapped[int] = mapped_column(ForeignKey("custodian_key.id"), nullable=False)
    commitment: Mapped[bytes] = mapped_column(LargeBinary(65), nullable=False)
    sealed_share: Mapped[dict] = mapped_column(JSON, nullable=False)
    #: held | accepted
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="held")
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: y_i after the round closed, wiped as soon as the round's quotes are opened
    accepted_y: Mapped[bytes | None] = mapped_column(LargeBinary(32))

    __table_args__ = (UniqueConstraint("round_id", "x", name="uq_negotiation_round_share_x"),)


class RoundShareAttempt(Base):
    """Every share submission for a round's key, valid or not (evidence, and the throttle's count)."""
    __tablename__ = "negotiation_share_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_share_id: Mapped[int] = mapped_column(ForeignKey("negotiation_round_share.id"), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ip: Mapped[str] = mapped_column(String(45), nullable=False, default="")
    #: accepted | wrong_passphrase | bad_share
    outcome: Mapped[str] = mapped_column(String(20), nullable=False)


class RoundQuote(Base):
    """A supplier's sealed revised quote (price sheet, ptbid/v1 "price" part) for a round. At most one
    per (round, supplier) is accepted; a replaced one is superseded (kept, never opened)."""
    __tablename__ = "negotiation_quote"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("negotiation_round.id"), nullable=False)
    bidder_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    #: server-issued random token: the envelope context's submission_id
    submission_id: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    #: uploading | accepted | superseded
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    manifest: Mapped[dict | None] = mapped_column(JSON)
    payload_sha256: Mapped[str | None] = mapped_column(String(64))
    payload_len: Mapped[int | None] = mapped_column(BigInteger)
    signing_key_id: Mapped[int | None] = mapped_column(ForeignKey("signing_key.id"))
    started_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    audit_seq: Mapped[int | None] = mapped_column(BigInteger)
    #: after the round's opening: opened | failed, and the price sheet
    outcome: Mapped[str | None] = mapped_column(String(8))
    failure_kind: Mapped[str | None] = mapped_column(String(40))
    price_fen: Mapped[int | None] = mapped_column(Fen)
    duration_days: Mapped[int | None] = mapped_column(Integer)
    quality: Mapped[str | None] = mapped_column(String(200))
    remarks: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_negotiation_quote_round", "round_id", "bidder_org_id", "status"),)


class RequirementChange(Base):
    """A substantive change to the requirements (Art. 32): proposed by the team, confirmed by the buyer,
    and from that instant published identically to every supplier still in the negotiation."""
    __tablename__ = "negotiation_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("negotiation_round.id"), nullable=False)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False, index=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: proposed | published
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="proposed")
    #: the buyer's (采购人) confirmation: who and when; publication is that same instant
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    audit_seq: Mapped[int | None] = mapped_column(BigInteger)


class NegotiationSession(Base):
    """The team's talk with one supplier in a round (separately, all members together: Art. 31)."""
    __tablename__ = "negotiation_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("negotiation_round.id"), nullable=False)
    bidder_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    held_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    minutes: Mapped[str] = mapped_column(Text, nullable=False)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class NegotiationReport(Base):
    """The team's 谈判报告 (74号令 Art. 35): recorded once the final-offer stage is closed, it ranks the
    responsive suppliers by final price from low to high and recommends the first ones as 成交候选人
    (proposed to the awards package in the same transaction). Suppliers the team found not to meet
    the substantive requirements are listed with the team's reason. Fewer responsive suppliers than
    the minimum end the negotiation (Art. 37): outcome "terminated", no candidates."""
    __tablename__ = "negotiation_report"

    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), primary_key=True, autoincrement=False)
    #: [{"bidder_org_id", "price_fen", "rank"}] of the responsive suppliers, lowest final price first
    ranking: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    #: {"<org id>": reason} of the suppliers the team found non-responsive
    excluded: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    #: the team's opinion (评审意见) and any member's dissent, as written in the report
    opinion: Mapped[str] = mapped_column(Text, nullable=False, default="")
    dissent: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: recommended (candidates proposed) | terminated (too few responsive)
    outcome: Mapped[str] = mapped_column(String(12), nullable=False)
    #: the awards package's candidate list it proposed (a plain id: awards is a sibling package)
    candidate_list_id: Mapped[int | None] = mapped_column(Integer)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    audit_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
