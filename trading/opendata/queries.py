"""OCDS releases built from the audit trail, read-only. Each public lot-level audit entry (rules.TAGS)
is one release of the lot's contracting process; the process's state is folded entry by entry in
audit order, so a release carries everything known at its entry (parties with all their roles, the
tender, the awards, the contracts) and never anything later. The data behind an entry is read from
the rows it names (the notice, the opening record, the candidate list, the award) — rows that do not
change once written.

Secrecy: the entries that reveal a bidder before the deadline (registration, downloads, deposits,
submissions) carry an embargo lot and are not among the mapped actions; the query also applies the
platform's own embargo rule (supervision.embargo.visible_now). Tenderers come only from the opening
record, which exists only once the lot is opened.

The feed is stable under appends: audit seqs are assigned under the audit head lock, held to the
commit, so entries become visible in seq order and nothing appears later behind a cursor (the mapped
entries carry no embargo, so the embargo filter never hides one that could surface afterwards)."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from datetime import datetime

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from trading.accounts.models import Organisation
from trading.audit.models import AuditEntry
from trading.evaluation.criteria.models import LotCriteria
from trading.procedures.common.awards.models import Award, CandidateList
from trading.procedures.common.models import LotTrade, Notice
from trading.procedures.common.opening.models import OpeningRecord
from trading.projects.models import Lot, Project
from trading.supervision.embargo import visible_now

from . import rules
from .sales import auction_outcome

MAPPED_ACTIONS = tuple(rules.TAGS)

#: notice kind → OCDS documentType
DOCUMENT_TYPES = {
    "announcement": "tenderNotice", "land_grant": "tenderNotice", "disclosure": "tenderNotice",
    "change": "clarifications", "termination": "cancellationDetails", "candidates": "evaluationReports",
    "result": "awardNotice", "deal_publicity": "awardNotice", "contract": "contractNotice",
}
AWARD_TITLES = {"pending": "第{rank}名中标（中选）候选人", "active": "中标（成交）结果"}
_DATE_LABELS = {"deadline_at": "投标（响应）截止时间", "opening_at": "开标时间", "docs_from": "文件获取开始时间",
                "docs_until": "文件获取截止时间"}


def _payload(entry: AuditEntry) -> dict:
    return json.loads(bytes(entry.body).decode("utf-8")).get("payload") or {}


class _Process:
    """The cumulative state of one lot's contracting process while its entries are folded."""

    def __init__(self, session: Session, pub: rules.Publication, trade: LotTrade) -> None:
        self.session, self.pub, self.trade = session, pub, trade
        self.project = session.get(Project, trade.project_id)
        self.lot = session.get(Lot, trade.lot_id)
        self.sale = rules.is_sale(trade.procedure)
        self.ocid = rules.ocid(pub.prefix, trade.lot_code)
        self.parties: dict[str, dict] = {}
        self.buyer: dict | None = None
        self.tender: dict = {"id": trade.lot_code}
        self.awards: dict[str, dict] = {}
        self.contracts: dict[str, dict] = {}
        self.related: list[dict] = []

    # --- parties ---

    def party(self, name: str, credit_code: str, role: str, org: Organisation | None = None) -> dict:
        """Add `role` to the party (made on first sight); its OrganizationReference."""
        pid = rules.party_id(credit_code)
        p = self.parties.get(pid)
        if p is None:
            p = self.parties[pid] = {"id": pid, "name": name,
                                     "identifier": {"scheme": rules.ORG_SCHEME, "id": credit_code, "legalName": name},
                                     "roles": []}
            if org is not None and org.address:
                p["address"] = {"streetAddress": org.address, "countryName": "中国"}
        if role not in p["roles"]:
            p["roles"].append(role)
        return {"id": pid, "name": p["name"]}

    def org_party(self, org_id: int, role: str, *, contact: bool = False) -> dict:
        org = self.session.get(Organisation, org_id)
        ref = self.party(org.name, org.credit_code, role, org)
        if contact and (org.contact_name or org.contact_phone):
            point = {k: v for k, v in (("name", org.contact_name), ("telephone", org.contact_phone)) if v}
            self.parties[ref["id"]]["contactPoint"] = point
        return ref

    def document(self, notice_id: int | None) -> dict | None:
        notice = self.session.get(Notice, notice_id) if notice_id else None
        if notice is None or notice.status != "published":
            return None
        doc = {"id": f"notice-{notice.id}", "documentType": DOCUMENT_TYPES.get(notice.kind, "tenderNotice"),
               "title": notice.title, "url": self.pub.notice_url(notice.id), "format": "text/html",
               "language": rules.LANGUAGE}
        if notice.published_at is not None:
            doc["datePublished"] = rules.date(notice.published_at)
        return doc

    def _add_tender_document(self, notice_id: int | None) -> None:
        doc = self.document(notice_id)
        if doc is not None:
            docs = self.tender.setdefault("documents", [])
            if all(d["id"] != doc["id"] for d in docs):
                docs.append(doc)

    # --- the events ---

    def apply(self, entry: AuditEntry, tag: str) -> bool:
        """Fold one entry in; False when it makes no release after all (a sale without an outcome)."""
        p = _payload(entry)
        at = rules.date(entry.created_at)
        action = entry.action
        if action == "lot.trading_opened":
            self._announced(p, at)
        elif action == "lot.redated":
            self._redated(entry.seq, p, at)
        elif tag == "tenderCancellation":
            self.tender["status"] = "cancelled"
            self._add_tender_document(p.get("notice_id"))
        elif action == "opening.record_published":
            self._opened()
        elif action == "lot.fail":
            self.tender["status"] = "unsuccessful"
        elif action == "award.candidates_publicized":
            self._candidates(p, at)
        elif action in ("award.determined", "award.reawarded"):
            self._determined(p, at)
        elif action == "award.winner_defaulted":
            self._defaulted(p)
        elif action == "award.ended_for_reprocurement":
            self.tender["status"] = "unsuccessful"
        elif action in ("award.contract_recorded", "award.contract_corrected"):
            self._contract(p)
        elif action == "land_tender.parcel_set":
            self.tender["items"] = [rules.parcel_item(p.get("new") or {}, mining=self.trade.procedure == "mining_tender")]
        if self.trade.procedure in rules.TENDER_SALES:
            self._sale_criteria(entry.seq)
        elif action == "lot.sell":
            return self._sold(at)
        elif action == "lot.sign_contract":
            return self._sale_contract(at)
        return True

    def _announced(self, p: dict, at: str) -> None:
        project, trade = self.project, self.trade
        method, details = rules.METHODS.get(trade.procedure, ("open", trade.procedure))
        title = project.name if self.lot.name in ("", project.name) else f"{project.name}（{self.lot.name}）"
        t = self.tender
        t.update({"title": title, "status": "active", "procurementMethod": method,
                  "procurementMethodDetails": details,
                  "submissionMethod": ["electronicSubmission" if trade.sealed else "electronicAuction"]})
        period = {"startDate": at}
        if p.get("deadline_at"):
            period["endDate"] = p["deadline_at"]
        t["tenderPeriod"] = period
        if self.sale:
            seller = self.org_party(project.owner_org_id, "seller", contact=True)
            t["procuringEntity"] = (self.org_party(project.agency_org_id, "procuringEntity", contact=True)
                                    if project.agency_org_id else self.org_party(project.owner_org_id, "procuringEntity"))
            t["saleMethod"] = rules.SALE_METHODS[trade.procedure]
            if project.category in rules.SALE_OBJECTS:
                t["saleObject"] = rules.SALE_OBJECTS[project.category]
            t["startingPrice"] = rules.value(self.lot.budget_fen)
            t["seller"] = seller
        else:
            self.buyer = self.org_party(project.owner_org_id, "buyer", contact=True)
            owner_runs = project.agency_org_id is None
            t["procuringEntity"] = self.org_party(project.owner_org_id if owner_runs else project.agency_org_id,
                                                  "procuringEntity", contact=True)
            t["value"] = rules.value(self.lot.budget_fen)
            if project.category in rules.MAIN_CATEGORIES:
                t["mainProcurementCategory"] = rules.MAIN_CATEGORIES[project.category]
            if trade.procedure in rules.AWARD_CRITERIA:
                t["awardCriteria"] = rules.AWARD_CRITERIA[trade.procedure]
        self._add_tender_document(p.get("notice_id"))
        previous = p.get("previous_lot_code")
        if previous:
            self.related = [{"id": "1", "relationship": ["unsuccessfulProcess"], "scheme": "ocid",
                             "identifier": rules.ocid(self.pub.prefix, previous), "title": title,
                             "uri": self.pub.record_url(rules.ocid(self.pub.prefix, previous))}]

    def _sale_criteria(self, upto_seq: int) -> None:
        """招标出让: awardCriteria from the method of the lot's latest criteria version whose audit entry
        (criteria.set / criteria.carried_over) comes before audit seq `upto_seq` (versions are never
        changed; the criteria are public with the grant notice)."""
        method = self.session.execute(
            select(LotCriteria.body)
            .join(AuditEntry, (AuditEntry.object_type == "lot_criteria")
                  & (AuditEntry.object_id == cast(LotCriteria.id, String)))
            .where(LotCriteria.lot_id == self.trade.lot_id, AuditEntry.seq < upto_seq)
            .order_by(LotCriteria.version.desc()).limit(1)).scalar_one_or_none()
        self.tender.update(rules.sale_award_criteria((method or {}).get("method")))

    def _redated(self, seq: int, p: dict, at: str) -> None:
        new, old = p.get("new") or {}, p.get("old") or {}
        if new.get("deadline_at"):
            self.tender.setdefault("tenderPeriod", {})["endDate"] = new["deadline_at"]
        notice = self.session.get(Notice, p.get("notice_id")) if p.get("notice_id") else None
        changes = "；".join(f"{_DATE_LABELS.get(k, k)}由 {rules.date(old.get(k)) or '—'} 变更为 {rules.date(v)}"
                           for k, v in sorted(new.items()))
        amendment = {"id": str(seq), "date": at, "description": changes}
        if notice is not None:
            amendment["rationale"] = notice.title
        self.tender.setdefault("amendments", []).append(amendment)
        self._add_tender_document(p.get("notice_id"))

    def _opened(self) -> None:
        rec = self.session.execute(select(OpeningRecord).where(OpeningRecord.lot_id == self.trade.lot_id)).scalar_one()
        bidders = rec.body.get("bidders", [])
        self.tender["tenderers"] = [self.party(b["name"], b["credit_code"], "tenderer") for b in bidders]
        self.tender["numberOfTenderers"] = len(bidders)
        self.tender["status"] = "complete" if rec.outcome == "opened" else "unsuccessful"

    def _award_row(self, award_id: str, status: str, rank: int, at: str, price_fen: int, org_id: int,
                   role: str) -> dict:
        a = self.awards.setdefault(award_id, {"id": award_id})
        a.update({"title": AWARD_TITLES[status].format(rank=rank), "status": status, "date": at,
                  "value": rules.value(price_fen), "suppliers": [self.org_party(org_id, role)]})
        if self.sale:
            self._sale_fields(a, price_fen, None)
        return a

    def _candidates(self, p: dict, at: str) -> None:
        cl = self.session.get(CandidateList, p["list_id"])
        for c in cl.candidates:
            a = self._award_row(f"{cl.id}-{c.rank}", "pending", c.rank, at, c.price_fen, c.bidder_org_id, "tenderer")
            self._add_award_document(a, p.get("notice_id"))

    def _determined(self, p: dict, at: str) -> None:
        list_id = p["list_id"]
        for aid, a in self.awards.items():
            if aid.startswith(f"{list_id}-") and a["status"] == "pending":
                a["status"] = "unsuccessful"
        a = self._award_row(f"{list_id}-{p['rank']}", "active", p["rank"], at, p["price_fen"], p["bidder_org_id"],
                            "supplier")
        self._add_award_document(a, p.get("result_notice_id"))

    def _add_award_document(self, award: dict, notice_id: int | None) -> None:
        doc = self.document(notice_id)
        if doc is not None:
            docs = award.setdefault("documents", [])
            if all(d["id"] != doc["id"] for d in docs):
                docs.append(doc)

    def _defaulted(self, p: dict) -> None:
        award = self.session.get(Award, p["award_id"])
        a = self.awards.get(f"{award.list_id}-{award.rank}")
        if a is not None:
            a["status"] = "cancelled"

    def _contract(self, p: dict) -> None:
        award = self.session.get(Award, p["award_id"])
        cid = f"contract-{award.id}"
        c = self.contracts.setdefault(cid, {"id": cid})
        c.update({"awardID": f"{award.list_id}-{award.rank}", "title": f"{self.tender.get('title', '')}合同",
                  "status": "active", "value": rules.value(p["amount_fen"]),
                  "dateSigned": rules.beijing_day(p["signed_on"])})

    # --- sales (auction outcome hook) ---

    def _sale_fields(self, award: dict, deal_fen: int, reserve_met: bool | None) -> None:
        rate = rules.premium_rate(deal_fen, self.lot.budget_fen)
        if rate is not None:
            award["premiumRate"] = rate
        if reserve_met is not None:
            award["reserveMet"] = reserve_met

    def _sold(self, at: str) -> bool:
        outcome = auction_outcome(self.session, self.trade)
        if outcome is None or outcome.winner_org_id is None or outcome.deal_fen is None:
            return False
        a = self.awards.setdefault(f"sale-{self.trade.lot_id}", {"id": f"sale-{self.trade.lot_id}"})
        a.update({"title": AWARD_TITLES["active"], "status": "active", "date": at,
                  "value": rules.value(outcome.deal_fen), "suppliers": [self.org_party(outcome.winner_org_id, "supplier")]})
        self._sale_fields(a, outcome.deal_fen, outcome.reserve_met)
        return True

    def _sale_contract(self, at: str) -> bool:
        outcome = auction_outcome(self.session, self.trade)
        award_id = f"sale-{self.trade.lot_id}"
        if outcome is None or outcome.deal_fen is None or award_id not in self.awards:
            return False
        cid = f"contract-{award_id}"
        self.contracts[cid] = {"id": cid, "awardID": award_id, "title": f"{self.tender.get('title', '')}成交确认书",
                               "status": "active", "value": rules.value(outcome.deal_fen), "dateSigned": at}
        return True

    # --- the release ---

    def release(self, entry: AuditEntry, tag: str) -> dict:
        r = {"ocid": self.ocid, "id": rules.release_id(entry.seq, tag), "date": rules.date(entry.created_at),
             "tag": [tag], "initiationType": "tender", "language": rules.LANGUAGE,
             "parties": list(self.parties.values())}
        if self.buyer is not None:
            r["buyer"] = self.buyer
        r["tender"] = self.tender
        if self.awards:
            r["awards"] = list(self.awards.values())
        if self.contracts:
            r["contracts"] = list(self.contracts.values())
        if self.related:
            r["relatedProcesses"] = self.related
        return copy.deepcopy(r)


def _mapped(now: datetime):
    return select(AuditEntry).where(AuditEntry.object_type == "lot", AuditEntry.action.in_(MAPPED_ACTIONS),
                                    visible_now(now))


def _fold(session: Session, pub: rules.Publication, lot_id: int, upto: int | None, now: datetime) -> dict[int, dict]:
    """{seq: release} for the lot's mapped entries up to seq `upto` (all when None)."""
    trade = session.get(LotTrade, lot_id)
    if trade is None:
        return {}
    stmt = _mapped(now).where(AuditEntry.object_id == str(lot_id))
    if upto is not None:
        stmt = stmt.where(AuditEntry.seq <= upto)
    process = _Process(session, pub, trade)
    out: dict[int, dict] = {}
    for entry in session.execute(stmt.order_by(AuditEntry.seq)).scalars():
        tag = rules.tag_for(entry.action, trade.procedure)
        if tag is not None and process.apply(entry, tag):
            out[entry.seq] = process.release(entry, tag)
    return out


def feed_page(session: Session, pub: rules.Publication, after: int, limit: int, now: datetime) -> tuple[list[dict], int]:
    """The releases of the next `limit` mapped entries after audit seq `after`, in seq order, and the
    seq the page ends at (the next cursor; `after` itself on an empty page). An entry that makes no
    release (a sale step without an outcome yet) still moves the cursor."""
    entries = session.execute(_mapped(now).where(AuditEntry.seq > after).order_by(AuditEntry.seq)
                              .limit(limit)).scalars().all()
    if not entries:
        return [], after
    last: dict[int, int] = defaultdict(int)
    for e in entries:
        last[int(e.object_id)] = max(last[int(e.object_id)], e.seq)
    by_seq: dict[int, dict] = {}
    for lot_id, upto in last.items():
        by_seq.update(_fold(session, pub, lot_id, upto, now))
    return [by_seq[e.seq] for e in entries if e.seq in by_seq], entries[-1].seq


def process_releases(session: Session, pub: rules.Publication, lot_code: str, now: datetime) -> list[dict]:
    """Every release of one lot's process, in audit order ([] for an unknown lot)."""
    trade = session.execute(select(LotTrade).where(LotTrade.lot_code == lot_code)).scalar_one_or_none()
    if trade is None:
        return []
    return list(_fold(session, pub, trade.lot_id, None, now).values())


def all_ocids(session: Session, pub: rules.Publication, now: datetime) -> list[tuple[str, str]]:
    """(ocid, lot code) of every lot with at least one release, in lot order."""
    lot_ids = session.execute(_mapped(now).with_only_columns(AuditEntry.object_id).distinct()).scalars().all()
    ids = sorted(int(x) for x in lot_ids)
    codes = dict(session.execute(select(LotTrade.lot_id, LotTrade.lot_code).where(LotTrade.lot_id.in_(ids))).all()) if ids else {}
    return [(rules.ocid(pub.prefix, codes[i]), codes[i]) for i in ids if i in codes]
