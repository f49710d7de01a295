"""Every procedure kind's package, imported so that its stage machine registers itself
(common.flow.register) in every process: the factory and trading.models import this module.

Imports: every procedures.<kind> rules module."""

from __future__ import annotations

from trading.procedures.auction import rules as auction_rules
from trading.procedures.common.flow import registered
from trading.procedures.inquiry import rules as inquiry_rules
from trading.procedures.land_tender import rules as land_tender_rules
from trading.procedures.negotiation import rules as negotiation_rules
from trading.procedures.selection import rules as selection_rules

KINDS = {m.PROCEDURE: m.MACHINE for m in (selection_rules, negotiation_rules, inquiry_rules)}
KINDS.update(auction_rules.MACHINES)  # one machine per 拍卖/挂牌/网络竞价 procedure
KINDS.update(land_tender_rules.MACHINES)  # 招标出让: land and mining rights, one machine each

__all__ = ["KINDS", "registered"]
