"""Which audit entries a reader may see now. An entry recorded with an embargo lot (who registered,
downloaded the documents, paid a deposit or submitted) stays hidden from every reader — supervisors
included — until that lot's bid deadline has passed (招标投标法 Art. 22; rules.md §2.4: stricter
than the minimum, because no role should be able to learn who bids or how many). A lot that was
terminated or opened is past its secrecy too."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, or_, select

from trading.audit.models import AuditEntry
from trading.procedures.common.lots import LotStatus
from trading.procedures.common.models import LotTrade


def visible_now(now: datetime) -> ColumnElement[bool]:
    """A WHERE clause for AuditEntry: not embargoed, or its lot is past the deadline."""
    open_lots = select(LotTrade.lot_id).where(or_(LotTrade.status != LotStatus.ACCEPTING,
                                                  LotTrade.deadline_at <= now))
    return or_(AuditEntry.embargo_lot_id.is_(None), AuditEntry.embargo_lot_id.in_(open_lots))
