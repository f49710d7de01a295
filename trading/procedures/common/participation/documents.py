"""Tender documents (招标/采购文件): uploaded by the project's owner or agency into the blob store with
their SHA-256, obtained by registered bidders. Every download is recorded (who, when, IP) — private
to the platform; the lists are readable only after the deadline (queries.downloads_after_deadline).

Imports: like services.py. Never Flask."""

from __future__ import annotations

from typing import BinaryIO

from trading.audit.services import record
from trading.core.blobs import get_store
from trading.core.context import ServiceContext
from trading.core.errors import Forbidden, InvalidInput, RuleViolation, not_found
from trading.projects.models import Project
from trading.projects.services import can_see

from ..lots import before_deadline, get_trade
from .models import DocumentDownload, TenderDocument
from .rules import DOCUMENT_MAX_BYTES, ParticipationStatus
from .services import own_participation

PROJECT_SIDE = ("owner", "agency")


def _clean(text: str | None, maximum: int, code: str, zh: str, en: str) -> str:
    value = " ".join((text or "").split())
    if not value:
        raise InvalidInput(f"document.{code}_required", f"请填写{zh}", f"Enter the {en}", field=code)
    if len(value) > maximum:
        raise InvalidInput(f"document.{code}_too_long", f"{zh}不能超过 {maximum} 个字",
                           f"The {en} may have at most {maximum} characters", field=code)
    return value


def upload_tender_document(ctx: ServiceContext, lot_code: str, *, title: str, filename: str, content_type: str,
                           stream: BinaryIO, description: str = "") -> TenderDocument:
    ctx.require(*PROJECT_SIDE)
    trade = get_trade(ctx, lot_code)
    project = ctx.session.get(Project, trade.project_id)
    if not can_see(ctx, project):
        raise not_found("标段", "Lot")
    if not before_deadline(trade, ctx.now()):
        raise RuleViolation("document.deadline_passed", "投标截止后不能再发布招标文件",
                            "Tender documents cannot be added after the deadline")
    title = _clean(title, 100, "title", "文件名称", "title")
    filename = _clean(filename.replace("/", "_").replace("\\", "_"), 200, "file", "文件", "file")
    sha, size = get_store().put_file(stream)
    if size == 0 or size > DOCUMENT_MAX_BYTES:
        raise InvalidInput("document.size", f"文件须为 1 字节至 {DOCUMENT_MAX_BYTES // 1024 // 1024} MiB",
                           f"The file must be 1 byte to {DOCUMENT_MAX_BYTES // 1024 // 1024} MiB", field="file")
    doc = TenderDocument(lot_id=trade.lot_id, title=title, filename=filename,
                         content_type=(content_type or "application/octet-stream")[:100], size=size, sha256=sha,
                         uploaded_by=ctx.actor.user_id, uploaded_at=ctx.now(), description=(description or "")[:2000])
    ctx.session.add(doc)
    ctx.session.flush()
    record(ctx, "document.published", "tender_document", doc.id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "title": title, "filename": filename, "sha256": sha, "size": size})
    return doc


def obtain_document(ctx: ServiceContext, document_id: int) -> tuple[TenderDocument, BinaryIO]:
    """(document, open binary file) for a bidder registered for the lot, or the project's own side,
    the centre and supervisors. Each download is recorded (not in the audit trail, which supervisors
    read before the deadline: the record itself is private)."""
    doc = ctx.session.get(TenderDocument, document_id) if isinstance(document_id, int) else None
    if doc is None:
        raise not_found("文件", "document")
    from ..models import LotTrade

    trade = ctx.session.get(LotTrade, doc.lot_id)
    if ctx.actor.has("bidder"):
        part = own_participation(ctx, trade, ctx.actor.org_id) if ctx.actor.org_id else None
        if part is None or part.status != ParticipationStatus.REGISTERED:
            raise Forbidden("document.register_first", "请先报名本标段，再下载招标文件",
                            "Register for this lot before downloading its documents")
    elif not (ctx.actor.has("owner", "agency", "operator", "supervisor")
              and can_see(ctx, ctx.session.get(Project, trade.project_id))):
        raise not_found("文件", "document")
    ctx.session.add(DocumentDownload(document_id=doc.id, lot_id=doc.lot_id, org_id=ctx.actor.org_id,
                                     user_id=ctx.actor.user_id, at=ctx.now(), ip=(ctx.ip or "")[:45]))
    ctx.session.flush()
    return doc, get_store().open(doc.sha256)
