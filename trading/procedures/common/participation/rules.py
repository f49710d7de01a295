"""Participation rules, pure: the upload chunk layout, submission statuses, what a bidder's lot row
shows (stage, next step, next deadline), receipt time text. Plain values in, plain values out; time
comes in as `now`. No Flask, no SQLAlchemy."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from trading.core.clock import to_beijing

#: upload chunk size of the upload protocol (interfaces: upload_chunk_bytes)
UPLOAD_CHUNK_BYTES = 1 << 20
PARTS = ("price", "documents")
PART_LABELS = {"price": ("报价（唱标）部分", "Price part"), "documents": ("商务技术文件部分", "Documents part")}
#: server-issued submission ids: secrets.token_urlsafe(18) is 24 characters of [A-Za-z0-9_-]
SUBMISSION_ID = re.compile(r"[A-Za-z0-9_-]{24}")
#: tender documents: largest file accepted through the page
DOCUMENT_MAX_BYTES = 50 * 1024 * 1024


class SubmissionStatus(StrEnum):
    UPLOADING = "uploading"
    ACCEPTED = "accepted"
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


class ParticipationStatus(StrEnum):
    REGISTERED = "registered"
    WITHDRAWN = "withdrawn"


def chunks_expected(payload_len: int, chunk_bytes: int = UPLOAD_CHUNK_BYTES) -> int:
    """Upload chunk i covers [i*U, min((i+1)*U, payload_len)); a payload has at least one chunk."""
    return max(1, -(-payload_len // chunk_bytes))


def chunk_size(index: int, payload_len: int, chunk_bytes: int = UPLOAD_CHUNK_BYTES) -> int | None:
    """The exact size upload chunk `index` must have, or None when there is no such chunk."""
    if index < 0 or index >= chunks_expected(payload_len, chunk_bytes):
        return None
    return min(chunk_bytes, payload_len - index * chunk_bytes)


def parse_index(text: str) -> int | None:
    """A chunk index from the URL: decimal digits only, no sign, no leading zeros (but "0")."""
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    if len(text) > 1 and text[0] == "0":
        return None
    return int(text)


def is_submission_id(text: object) -> bool:
    return isinstance(text, str) and SUBMISSION_ID.fullmatch(text) is not None


def beijing_text(at: datetime) -> str:
    """"2026-11-27 10:00:00（北京时间）": the receipt's human-readable time."""
    return to_beijing(at).strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）"


# --- the bidder's lot row ("我参与的项目") ----------------------------------------------------------

@dataclass(frozen=True)
class Stage:
    #: registered | submitted | closed | opening | opened | failed | terminated
    code: str
    #: the next step: submit | replace | hall | result | none
    next_step: str
    #: (what, when) of the next deadline, or None
    next_deadline: tuple[str, datetime] | None


def lot_stage(*, lot_status: str, deadline_at: datetime | None, opening_at: datetime | None,
              accepted_parts: frozenset[str], now: datetime) -> Stage:
    """Where a registered bidder's lot stands and what it does next. `lot_status` is the effective
    LotStatus (accepting turns into closed at the deadline)."""
    if lot_status == "terminated":
        return Stage("terminated", "none", None)
    if lot_status in ("failed", "reannounced"):  # a re-announced attempt failed; the next is another lot
        return Stage("failed", "result", None)
    if lot_status not in ("accepting", "closed", "opening"):  # opened and every stage after it (flow.py)
        return Stage("opened", "result", None)
    if lot_status == "opening":
        return Stage("opening", "hall", None)
    if lot_status == "closed":
        nxt = ("opening", opening_at) if opening_at and opening_at > now else None
        return Stage("closed", "hall", nxt)
    complete = set(PARTS) <= accepted_parts
    nxt = ("deadline", deadline_at) if deadline_at else None
    if complete:
        return Stage("submitted", "replace", nxt)
    return Stage("registered", "submit", nxt)


STAGE_LABELS = {
    "registered": ("已报名，待递交", "Registered; offer to submit"),
    "submitted": ("已递交", "Offer submitted"),
    "closed": ("已截止，待开标", "Closed; awaiting opening"),
    "opening": ("开标中", "Opening"),
    "opened": ("已开标", "Opened"),
    "failed": ("流标", "Failed"),
    "terminated": ("已终止", "Terminated"),
}
NEXT_STEP_LABELS = {
    "submit": ("继续编辑并递交", "Continue and submit"),
    "replace": ("可修改或撤回", "Replace or withdraw"),
    "hall": ("进入开标大厅", "Enter the opening hall"),
    "result": ("查看结果", "See the result"),
    "none": ("—", "—"),
}
DEADLINE_LABELS = {"deadline": ("投标截止", "Offer deadline"), "opening": ("开标", "Opening")}


def label(table: dict, code: str, locale: str = "zh") -> str:
    zh, en = table.get(code, (code, code))
    return en if locale.startswith("en") else zh
