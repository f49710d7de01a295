"""拍卖 / 挂牌 / 网络竞价 records. Nothing here is ever deleted: an application that is refused keeps
its row, every bid attempt (accepted or refused) is a row, a correction is a new audited action.

The Auction row is the lot's lock: every bid, phase change and pause takes it first (services.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from trading.core.db import Base, Fen, UTCDateTime


class Auction(Base):
    """The auction / listing of one lot: the subject (parcel or asset), the terms, the schedule and the
    live state of the engine (rules.State), with a version bumped by every change."""
    __tablename__ = "auction"

    lot_id: Mapped[int] = mapped_column(Integer, ForeignKey("lot_trade.lot_id"), primary_key=True, autoincrement=False)
    project_id: Mapped[int] = mapped_column(Integer, ForeignKey("project.id"), nullable=False, index=True)
    lot_code: Mapped[str] = mapped_column(String(44), unique=True, nullable=False)
    #: Project.procedure (land_auction … online_bidding); method: rules.Method (auction | listing | online)
    procedure: Mapped[str] = mapped_column(String(30), nullable=False)
    method: Mapped[str] = mapped_column(String(10), nullable=False)
    #: parcel (宗地) | asset (资产/产权)
    subject: Mapped[str] = mapped_column(String(10), nullable=False)
    #: 宗地编号 / 资产编号
    subject_ref: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    location: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    #: parcel area in ㎡ (亩 is derived: rules.mu_of)
    area_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    #: 土地用途, e.g. 城镇住宅用地
    land_use: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    #: 出让年限 (years)
    term_years: Mapped[int | None] = mapped_column(Integer)
    #: 容积率, as announced (e.g. "1.0–2.5", "≤2.0")
    plot_ratio: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    #: asset description (资产/产权 标的情况)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: 评估值 (fen), for assets; the 90 % approval rule after a 流拍 reads it
    appraisal_fen: Mapped[int | None] = mapped_column(Fen)
    #: 起始价/挂牌价 and 加价幅度 (fen)
    starting_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    increment_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    #: countdown C of the timed phase, seconds (setting auction.countdown_s by default)
    countdown_s: Mapped[int] = mapped_column(Integer, nullable=False)
    #: 底价 (fen) as OPENED by the custodians after bidding ended (reserve.py); None before the opening
    #: or when there is no reserve. The owner enters it sealed (AuctionReserve): never in plain text.
    reserve_fen: Mapped[int | None] = mapped_column(Fen)
    #: when the owner's sealed reserve envelope was accepted (None: no reserve entered)
    reserve_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: start of the bidding (拍卖开始 / 挂牌开始) and the end of the free phase (挂牌截止 / 自由报价截止)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    free_until: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # --- the engine's state (rules.State) -----------------------------------------------------------
    #: rules.Phase: scheduled | free | opt_in | timed | ended
    phase: Mapped[str] = mapped_column(String(10), nullable=False, default="scheduled")
    price_fen: Mapped[int | None] = mapped_column(Fen)
    leader_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("auction_application.id"))
    #: accepted bids so far: the last accepted bid's sequence number
    bids: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: end of the running phase (free-phase end, or the countdown); None while paused or not running
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: while paused: milliseconds the running phase had left; the reason and when
    paused_left_ms: Mapped[int | None] = mapped_column(BigInteger)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pause_reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    #: rules.Outcome (sold | no_sale) and its basis (rules.OUTCOME_BASIS)
    outcome: Mapped[str | None] = mapped_column(String(10))
    basis: Mapped[str | None] = mapped_column(String(20))
    #: the timed phase's announced start price (rules.State.timed_start_fen)
    timed_start_fen: Mapped[int | None] = mapped_column(Fen)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the head of the lot's bid chain (SHA-256 of the last bid attempt's row)
    last_bid_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    #: bumped by every change of the row (clients compare it to know their view is current)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_by: Mapped[int | None] = mapped_column(Integer, ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class AuctionReserve(Base):
    """The owner's sealed 底价 (rules.md G3.4; issue 5 item 1): a ptbid/v1 envelope, part "reserve",
    context (lot code, owner organisation's credit code, "reserve", the server-issued submission id),
    encrypted to the lot's opening key (OpeningKey, the k-of-n ceremony). Write-once: one accepted
    envelope per lot, entered before the free phase ends. No column holds the amount: it exists only
    inside the envelope until the custodians open it after bidding ends (then Auction.reserve_fen).
    The envelope is signed by a key the owner presents with it (its raw public point is kept and its
    kid audited): owners register no bidder signing keys."""
    __tablename__ = "auction_reserve"

    lot_id: Mapped[int] = mapped_column(Integer, ForeignKey("auction.lot_id"), primary_key=True, autoincrement=False)
    submission_id: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    #: the owner organisation's 统一社会信用代码: the envelope context's bidder_id
    sealer_code: Mapped[str] = mapped_column(String(40), nullable=False)
    #: uploading | sealed | opened | failed
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="uploading")
    started_by: Mapped[int] = mapped_column(Integer, ForeignKey("user_account.id"), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    manifest: Mapped[dict | None] = mapped_column(JSON)
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    payload_sha256: Mapped[str | None] = mapped_column(String(64))
    #: the signer's raw public point (65 bytes), presented with the envelope
    signer_public: Mapped[bytes | None] = mapped_column(LargeBinary(65))
    sealed_by: Mapped[int | None] = mapped_column(Integer, ForeignKey("user_account.id"))
    sealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: failed opening: the envelope failure kind or reserve-sheet problem
    failure_kind: Mapped[str | None] = mapped_column(String(40))


class AuctionApplication(Base):
    """A buyer's 竞买申请 for a lot, qualified or refused by the operator. The 竞买号 is random,
    unique within the lot, says nothing about the organisation and is shown only to the buyer itself
    (and, after the end, to the centre)."""
    __tablename__ = "auction_application"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(Integer, ForeignKey("lot_trade.lot_id"), nullable=False)
    #: the registration that carries the deposit sub-account (participation / deposits)
    participation_id: Mapped[int] = mapped_column(Integer, ForeignKey("participation.id"), nullable=False)
    bidder_org_id: Mapped[int] = mapped_column(Integer, ForeignKey("organisation.id"), nullable=False)
    applied_by: Mapped[int] = mapped_column(Integer, ForeignKey("user_account.id"), nullable=False)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: applied | qualified | refused
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="applied")
    decided_by: Mapped[int | None] = mapped_column(Integer, ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    #: 竞买号 (6 digits), given with the qualification
    bidder_no: Mapped[str | None] = mapped_column(String(8))
    #: 挂牌: the buyer asks to continue in the timed phase (限时竞价)
    wants_timed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    __table_args__ = (UniqueConstraint("lot_id", "bidder_org_id", name="uq_auction_application_lot_org"),
                      UniqueConstraint("lot_id", "bidder_no", name="uq_auction_application_lot_no"))


class AuctionBid(Base):
    """Every bid attempt that reached the engine, accepted or refused, in arrival order under the lot
    lock. Accepted ones carry the lot's dense sequence number (1, 2, 3 …); refused ones the reason.
    Each row is chained to the one before it (prev_hash → entry_hash) and every accepted bid's audit
    entry carries its hash, so a removed or edited refusal is detectable too. A bid naming a price
    that was already beaten when it arrived never reaches the lock: it is refused from one read and
    not stored (services._superseded_before_lock; the price only rises, so no later state could
    have accepted it)."""
    __tablename__ = "auction_bid"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(Integer, ForeignKey("auction.lot_id"), nullable=False)
    application_id: Mapped[int] = mapped_column(Integer, ForeignKey("auction_application.id"), nullable=False)
    #: the client's id for this bid: a retry with the same id gets the first answer
    client_bid_id: Mapped[str] = mapped_column(String(64), nullable=False)
    answers_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    amount_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    #: server time of arrival (under the lock): it decides
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: phase when it arrived
    phase: Mapped[str] = mapped_column(String(10), nullable=False)
    accepted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    #: accepted: the lot's dense sequence number
    seq: Mapped[int | None] = mapped_column(Integer)
    #: refused: rules.REASONS code
    reason: Mapped[str | None] = mapped_column(String(40))
    #: accepted: the deadline the bid left (the countdown it restarted)
    deadline_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    entry_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)

    __table_args__ = (UniqueConstraint("application_id", "client_bid_id", name="uq_auction_bid_client"),
                      UniqueConstraint("lot_id", "seq", name="uq_auction_bid_lot_seq"),
                      Index("ix_auction_bid_lot_id", "lot_id", "id"))
