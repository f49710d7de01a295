"""The 招标出让 stage machine, pure (rules.md §1 G common rules, G1; §H for mining rights):

    accepting (出让公告 ≥ 20 CD; mining ≥ 20 WD) → closed → opening → opened → evaluating (评标小组
    ≥ 5, odd, experts ≥ 2/3) → reported → awarded (中标通知书 and the result notice) → contracted →
    archived; fewer than `land_tender.min_bidders` (default 3) bidders at the deadline or valid
    offers at the opening → failed, then the tender ends (cancel → terminated, 39号令 Art. 13 [U]) or
    is announced again (reannounce).

The winner: the offer that meets the requirements with the highest price (`highest_price`: equal
prices → the earlier submission), or the best comprehensive score (`comprehensive`: the price
scores offer ÷ highest valid offer × weight); both are evaluation.criteria methods. There is no
candidate publicity and no buyer's confirmation: rank 1 of the signed report is awarded (a lower
rank only after every higher one was recorded as waived or unable). The result is published with the
award, due within `award.land_result_wd` (10) working days of the activity's end, the losers' deposits are due back
within 5 WD of the result (deposit.land_refund_wd), the winner's deposit becomes part of the price.

Where the other figures live: the notice periods (period.land_notice_cd, period.mining_notice_wd,
common.periods), the deposit floor ≥ 20 % of the starting price with no cap (deposit.land_floor_bp,
common.deposits.rules), the refund (deposit.land_refund_wd).

Imports: reference (settings), procedures.common (flow, phases)."""

from __future__ import annotations

from trading.procedures.common.flow import Machine, Transition, register
from trading.procedures.common.phases import (
    RUNNERS,
    count_at_least,
    count_below,
    failure_paths,
    panel_composition,
    sealed_phase,
    tail,
)
from trading.reference.settings import SettingDef, define

LAND = "land_tender"
MINING = "mining_tender"
PROCEDURES = (LAND, MINING)

define(
    SettingDef("land_tender.min_bidders", 3, "count", "39号令 Art. 13 [U]: 投标人不足三人的，终止招标",
               "招标出让最少投标人数（不足则终止招标）", "Fewest bidders in a land / mining tender (else it ends)", 1, 10),
    SettingDef("land_tender.panel_min", 5, "count", "39号令 [U]: 评标小组 5 人以上单数",
               "招标出让评标小组最少人数（单数）", "Smallest land-tender evaluation panel (odd)", 5, 25),
)

#: labels of the two variants (zh, en): the trade type they belong to is 土地使用权与矿业权 for both
LABELS = {LAND: ("国有建设用地使用权招标出让", "Land-use right granted by tender"),
          MINING: ("矿业权招标出让", "Mining right granted by tender")}
#: what the bidder and the offer are called in each variant
TERMS = {LAND: {"bidder": ("投标人（竞买人）", "Bidder"), "object": ("宗地", "Parcel"),
                "notice": ("国有建设用地使用权招标出让公告", "Land grant notice (tender)")},
         MINING: {"bidder": ("投标人（竞买人）", "Bidder"), "object": ("矿业权", "Mining right"),
                  "notice": ("矿业权招标出让公告", "Mining-right grant notice (tender)")}}

EVALUATORS = RUNNERS | frozenset({"expert"})


def _machine(procedure: str) -> Machine:
    too_few = count_below("applicants", setting_code="land_tender.min_bidders")
    return Machine(
        procedure=procedure,
        initial="accepting",
        terminal=frozenset({"archived", "terminated", "reannounced"}),
        transitions=(
            *sealed_phase(count_at_least("applicants", setting_code="land_tender.min_bidders",
                                         code="flow.too_few_bidders", zh="投标人不足", en="Too few bidders"),
                          too_few),
            Transition("opened", "start_evaluation", "evaluating", RUNNERS, panel_composition("land_tender.panel_min")),
            Transition("evaluating", "submit_report", "reported", EVALUATORS),
            # every offer but too few meet the requirements (below the starting price, not responsive)
            Transition("evaluating", "fail", "failed", EVALUATORS,
                       count_below("qualified", setting_code="land_tender.min_bidders")),
            # no candidate publicity, no confirmation: the winner of the signed report is notified
            *tail("reported", None),
            *failure_paths(("opened", "evaluating", "reported")),
        ),
    )


MACHINES = {p: _machine(p) for p in PROCEDURES}
for _m in MACHINES.values():
    register(_m)


def is_land_tender(procedure: str) -> bool:
    return procedure in MACHINES


__all__ = ["LAND", "LABELS", "MACHINES", "MINING", "PROCEDURES", "TERMS", "is_land_tender"]
