"""Deposit (保证金) rules, pure: caps and floors by procedure, refund due dates, virtual sub-account
numbers, the account status, the refunds-due light and the bank-statement CSV parser.

Sources (domain/rules.md §9):
- #14 bid deposit ≤ 2 % of the estimated price (tender: 实施条例 26) / of the budget (GP: GP 实施条例 33;
  谈判/询价/磋商: 74号令 14) [V]; #65 比选 ≤ 2 % [U];
- #15 works/goods tender: ≤ 800,000 yuan absolute [U];
- #43 land: ≥ 20 % of the starting price, a floor [U];
- #16 tender refund ≤ 5 CD after the contract (实施条例 57) or the withdrawal (实施条例 35) [V];
- #17 GP refund ≤ 5 WD after the result notice (losers) / contract (winner) / withdrawal / termination [V];
- #42 land refund ≤ 5 WD [U/P]; #56 asset auctions ≤ 5 WD (county rule) [P].
Counting follows §0.1 through reference.workdays (a missing calendar year fails closed)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from trading.core.clock import BEIJING
from trading.core.errors import DomainError, InvalidInput
from trading.core.lights import Light, light
from trading.core.money import format_yuan, parse_yuan
from trading.reference.settings import SettingDef, define, definition
from trading.reference.workdays import Unit, WorkCalendar, period_end

WAN = 1_000_000  # fen in 10,000 yuan

define(
    SettingDef("deposit.tender_cap_bp", 200, "bp", "实施条例 Art. 26 [V] (2 %)", "招标投标保证金上限（估算价比例）",
               "Tender deposit cap (share of the estimated price)", 1, 200),
    SettingDef("deposit.tender_abs_cap_fen", 80 * WAN, "fen", "工程建设项目施工/货物招标投标办法 [U] (80万元)",
               "施工/货物招标投标保证金绝对上限", "Works/goods tender deposit absolute cap", 1, 80 * WAN),
    SettingDef("deposit.gp_cap_bp", 200, "bp", "GP 实施条例 Art. 33; 74号令 Art. 14 [V] (2 %)",
               "政府采购保证金上限（预算比例）", "GP deposit cap (share of the budget)", 1, 200),
    SettingDef("deposit.selection_cap_bp", 200, "bp", "四川比选 [U] (2 %)", "比选保证金上限（估算价比例）",
               "比选 deposit cap (share of the estimated price)", 1, 200),
    SettingDef("deposit.land_floor_bp", 2000, "bp", "国土资发〔2010〕34号 [U] (20 %)", "土地竞买保证金下限（起始价比例）",
               "Land deposit floor (share of the starting price)", 2000, 10000),
    SettingDef("deposit.tender_refund_cd", 5, "CD", "实施条例 Art. 57, 35 [V]", "招标投标保证金退还期限（日）",
               "Tender deposit refund (calendar days)", 1, 5),
    SettingDef("deposit.tender_termination_refund_cd", 5, "CD", "实施条例 Art. 31 “及时退还” [P]",
               "终止招标后保证金退还期限（日）", "Deposit refund after a terminated tender (calendar days)", 1, 5),
    SettingDef("deposit.gp_refund_wd", 5, "WD", "87号令 Art. 38; 74号令 Art. 20; GP 实施条例 Art. 33 [V]",
               "政府采购保证金退还期限（工作日）", "GP deposit refund (working days)", 1, 5),
    SettingDef("deposit.land_refund_wd", 5, "WD", "39号令; 福建 Art. 46 [U/P]", "土地竞买保证金退还期限（工作日）",
               "Land deposit refund (working days)", 1, 30),
    SettingDef("deposit.asset_refund_wd", 5, "WD", "县规定 [P]（台州 Art. 22：3个工作日）", "资产竞价保证金退还期限（工作日）",
               "Asset-sale deposit refund (working days)", 1, 30),
    SettingDef("deposit.account_prefix", 881001, "count", "平台设定 [P]: 合作银行分配的虚拟子账号前缀（6位）",
               "虚拟子账号前缀", "Virtual sub-account prefix", 100000, 999999),
    SettingDef("deposit.refund_warn_days", 2, "CD", "平台设定 [P]", "退还到期提醒（提前天数）",
               "Warn this many days before a refund is due", 0, 10),
)


class Regime(StrEnum):
    TENDER = "tender"        # 招标投标法
    GP = "gp"                # 政府采购 (招标 and non-tender methods)
    SELECTION = "selection"  # 比选
    LAND = "land"            # 土地/矿业权出让
    ASSET = "asset"          # 产权/资产交易, 网络竞价
    NONE = "none"            # no deposit (自行采购)


REGIME_BY_PROCEDURE: dict[str, Regime] = {
    "tender": Regime.TENDER,
    "gp_tender": Regime.GP, "negotiation": Regime.GP, "consultation": Regime.GP, "inquiry": Regime.GP,
    "single_source": Regime.GP,
    "selection": Regime.SELECTION,
    "land_tender": Regime.LAND, "land_auction": Regime.LAND, "land_listing": Regime.LAND,
    "mining_tender": Regime.LAND, "mining_auction": Regime.LAND, "mining_listing": Regime.LAND,
    "asset_transfer": Regime.ASSET, "online_bidding": Regime.ASSET,
}


def regime_of(procedure: str) -> Regime:
    return REGIME_BY_PROCEDURE.get(procedure, Regime.NONE)


def _setting(settings: Mapping[str, int], code: str) -> int:
    return int(settings.get(code, definition(code).default))


# --- Caps ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Limit:
    fen: int
    code: str       # the setting it comes from
    source_zh: str
    source_en: str


@dataclass(frozen=True)
class DepositLimits:
    """What a lot's deposit may be: at most `cap` (the lowest applicable), at least `floor`."""
    regime: Regime
    caps: tuple[Limit, ...] = ()
    floor: Limit | None = None
    allowed: bool = True

    @property
    def cap(self) -> Limit | None:
        return min(self.caps, key=lambda c: c.fen) if self.caps else None


def _share(base_fen: int, bp: int, *, up: bool) -> int:
    num = base_fen * bp
    return -(-num // 10_000) if up else num // 10_000


def deposit_limits(procedure: str, category: str, base_fen: int, settings: Mapping[str, int]) -> DepositLimits:
    """base_fen: the lot's estimated price / budget / starting price (Lot.budget_fen)."""
    regime = regime_of(procedure)
    if regime == Regime.TENDER:
        bp = _setting(settings, "deposit.tender_cap_bp")
        caps = [Limit(_share(base_fen, bp, up=False), "deposit.tender_cap_bp",
                      f"《招标投标法实施条例》第二十六条：不得超过招标项目估算价的{bp / 100:g}%",
                      f"Tendering Regulations Art. 26: at most {bp / 100:g} % of the estimated price")]
        if category in ("works", "goods"):
            caps.append(Limit(_setting(settings, "deposit.tender_abs_cap_fen"), "deposit.tender_abs_cap_fen",
                              "《工程建设项目施工/货物招标投标办法》：最高不得超过八十万元人民币",
                              "Works/goods tendering measures: at most 800,000 yuan"))
        return DepositLimits(regime, tuple(caps))
    if regime == Regime.GP:
        bp = _setting(settings, "deposit.gp_cap_bp")
        return DepositLimits(regime, (Limit(_share(base_fen, bp, up=False), "deposit.gp_cap_bp",
                                            f"《政府采购法实施条例》第三十三条、财政部令第74号第十四条：不得超过采购项目预算金额的{bp / 100:g}%",
                                            f"GP Regulations Art. 33; MOF Order 74 Art. 14: at most {bp / 100:g} % of the budget"),))
    if regime == Regime.SELECTION:
        bp = _setting(settings, "deposit.selection_cap_bp")
        return DepositLimits(regime, (Limit(_share(base_fen, bp, up=False), "deposit.selection_cap_bp",
                                            f"四川省比选办法（待确认）：不得超过估算价的{bp / 100:g}%",
                                            f"Sichuan 比选 rules (unconfirmed): at most {bp / 100:g} % of the estimate"),))
    if regime == Regime.LAND:
        bp = _setting(settings, "deposit.land_floor_bp")
        return DepositLimits(regime, (), Limit(_share(base_fen, bp, up=True), "deposit.land_floor_bp",
                                               f"国土资发〔2010〕34号：竞买保证金不得低于出让最低价的{bp / 100:g}%",
                                               f"MLR 2010 No. 34: at least {bp / 100:g} % of the starting price"))
    if regime == Regime.ASSET:
        return DepositLimits(regime)
    return DepositLimits(regime, allowed=False)


class DepositRefused(DomainError):
    status = 422


def check_deposit(procedure: str, category: str, base_fen: int, deposit_fen: int,
                  settings: Mapping[str, int]) -> DepositLimits:
    """The limits, or DepositRefused naming the rule and its source. 0 (no deposit) is always allowed
    except where a floor applies (land)."""
    limits = deposit_limits(procedure, category, base_fen, settings)
    if deposit_fen == 0 and limits.floor is None:
        return limits
    if not limits.allowed:
        raise DepositRefused("deposit.not_applicable", "该交易方式不收取保证金", "This procedure takes no deposit",
                             field="deposit", details={"procedure": procedure})
    cap = limits.cap
    if cap is not None and deposit_fen > cap.fen:
        raise DepositRefused(
            "deposit.over_cap", f"保证金 {format_yuan(deposit_fen)} 元超过上限 {format_yuan(cap.fen)} 元（{cap.source_zh}）",
            f"The deposit {format_yuan(deposit_fen)} exceeds the cap {format_yuan(cap.fen)} yuan ({cap.source_en})",
            field="deposit", details={"cap_fen": cap.fen, "rule": cap.code, "source": cap.source_zh})
    floor = limits.floor
    if floor is not None and deposit_fen < floor.fen:
        raise DepositRefused(
            "deposit.under_floor", f"保证金 {format_yuan(deposit_fen)} 元低于下限 {format_yuan(floor.fen)} 元（{floor.source_zh}）",
            f"The deposit {format_yuan(deposit_fen)} is below the floor {format_yuan(floor.fen)} yuan ({floor.source_en})",
            field="deposit", details={"floor_fen": floor.fen, "rule": floor.code, "source": floor.source_zh})
    return limits


# --- Refund due dates ---------------------------------------------------------------------------
class RefundEvent(StrEnum):
    CONTRACT = "contract"        # 合同签订 (tender: everyone; GP: the winner)
    RESULT = "result"            # 中标/成交结果公告 (GP, land, assets: the losers)
    WITHDRAWAL = "withdrawal"    # 撤回投标（书面通知）
    TERMINATION = "termination"  # 终止公告


REFUND_EVENT_LABELS = {
    RefundEvent.CONTRACT: ("合同签订", "Contract signed"),
    RefundEvent.RESULT: ("结果公告", "Result notice"),
    RefundEvent.WITHDRAWAL: ("撤回投标", "Withdrawal"),
    RefundEvent.TERMINATION: ("终止", "Termination"),
}


@dataclass(frozen=True)
class RefundRule:
    days: int
    unit: Unit
    code: str
    source_zh: str


_TENDER_SRC = {RefundEvent.CONTRACT: "《招标投标法实施条例》第五十七条",
               RefundEvent.WITHDRAWAL: "《招标投标法实施条例》第三十五条"}
_GP_SRC = "财政部令第87号第三十八条、第七十四号令第二十条、《政府采购法实施条例》第三十三条"


def refund_rule(procedure: str, event: str, settings: Mapping[str, int]) -> RefundRule | None:
    """None: the event does not start a refund period in this regime (a tender's result notice —
    the refund waits for the contract; a land sale's contract — the winner's deposit becomes price)."""
    regime, event = regime_of(procedure), RefundEvent(event)
    if regime in (Regime.TENDER, Regime.SELECTION):
        if event in _TENDER_SRC:
            return RefundRule(_setting(settings, "deposit.tender_refund_cd"), Unit.CD, "deposit.tender_refund_cd",
                              _TENDER_SRC[event])
        if event == RefundEvent.TERMINATION:
            return RefundRule(_setting(settings, "deposit.tender_termination_refund_cd"), Unit.CD,
                              "deposit.tender_termination_refund_cd", "《招标投标法实施条例》第三十一条（及时退还）")
        return None
    if regime == Regime.GP:
        return RefundRule(_setting(settings, "deposit.gp_refund_wd"), Unit.WD, "deposit.gp_refund_wd", _GP_SRC)
    if regime in (Regime.LAND, Regime.ASSET):
        if event == RefundEvent.CONTRACT:
            return None
        code = "deposit.land_refund_wd" if regime == Regime.LAND else "deposit.asset_refund_wd"
        return RefundRule(_setting(settings, code), Unit.WD, code,
                          "国土资源部令第39号" if regime == Regime.LAND else "县资产交易规定")
    return None


def refund_due(cal: WorkCalendar, procedure: str, event: str, event_at: datetime,
               settings: Mapping[str, int]) -> datetime | None:
    """24:00 Beijing time of the last day of the refund period (CalendarYearMissing if a year in it
    is not loaded), or None when the event starts no refund period."""
    rule = refund_rule(procedure, event, settings)
    if rule is None:
        return None
    return period_end(cal, event_at, rule.days, rule.unit)




def refund_light(due_at: datetime | None, now: datetime, *, settled: bool, warn_days: int = 2) -> Light | None:
    """Refunds-due list colour: none before a refund period started; red when overdue, yellow within
    warn_days of the due instant, done once nothing is held."""
    if due_at is None:
        return None
    if settled:
        return Light.DONE
    return light(due_at, now, warn=timedelta(days=warn_days))


# --- Virtual sub-accounts -----------------------------------------------------------------------
ACCOUNT_DIGITS = 19
_RANDOM_DIGITS = ACCOUNT_DIGITS - 6 - 1


def luhn_check_digit(digits: str) -> str:
    """The Luhn (ISO/IEC 7812) check digit to append to `digits`."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def is_valid_virtual_account(number: str) -> bool:
    return (len(number) == ACCOUNT_DIGITS and number.isascii() and number.isdigit()
            and luhn_check_digit(number[:-1]) == number[-1])


def make_virtual_account(prefix: int, random_part: int) -> str:
    """prefix (6 digits, the bank's) + 12 random digits + Luhn check: 19 digits like a bank account.
    The random part comes from `secrets` in the service: nothing about the bidder is in the number."""
    if not 100000 <= prefix <= 999999 or not 0 <= random_part < 10**_RANDOM_DIGITS:
        raise ValueError("prefix must have 6 digits and random_part 12")
    body = f"{prefix}{random_part:0{_RANDOM_DIGITS}d}"
    return body + luhn_check_digit(body)


def format_account(number: str) -> str:
    """Groups of four for reading aloud at a bank counter."""
    return " ".join(number[i:i + 4] for i in range(0, len(number), 4))


# --- Account status -----------------------------------------------------------------------------
class AccountStatus(StrEnum):
    AWAITING = "awaiting"      # 待缴纳
    PARTIAL = "partial"        # 部分到账
    RECEIVED = "received"      # 已足额到账
    OVERPAID = "overpaid"      # 超额到账
    REFUNDED = "refunded"      # 已退还
    PART_REFUNDED = "part_refunded"  # 部分退还
    FORFEITED = "forfeited"    # 不予退还（没收）


STATUS_LABELS = {
    AccountStatus.AWAITING: ("待缴纳", "Awaiting payment"),
    AccountStatus.PARTIAL: ("部分到账", "Partly received"),
    AccountStatus.RECEIVED: ("已到账", "Received"),
    AccountStatus.OVERPAID: ("超额到账", "Overpaid"),
    AccountStatus.REFUNDED: ("已退还", "Refunded"),
    AccountStatus.PART_REFUNDED: ("部分退还", "Partly refunded"),
    AccountStatus.FORFEITED: ("不予退还", "Forfeited"),
}


def account_status(required: int, received: int, refunded: int, forfeited: int) -> AccountStatus:
    if forfeited > 0:
        return AccountStatus.FORFEITED
    if refunded > 0:
        return AccountStatus.REFUNDED if refunded >= received else AccountStatus.PART_REFUNDED
    if received == 0:
        return AccountStatus.AWAITING
    if received < required:
        return AccountStatus.PARTIAL
    if received > required:
        return AccountStatus.OVERPAID
    return AccountStatus.RECEIVED


# --- Bank statement CSV -------------------------------------------------------------------------
COLUMNS = {"at": "交易时间", "account": "收款账号", "payer_name": "付款人户名", "payer_account": "付款账号",
           "amount": "金额", "bank_ref": "流水号"}
MAX_ROWS = 100_000
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y%m%d%H%M%S",
                 "%Y-%m-%dT%H:%M:%S")
_REF_RE = re.compile(r"^[A-Za-z0-9._/-]{1,64}$")


@dataclass(frozen=True)
class StatementRow:
    line: int             # the CSV line number (header = 1)
    at: datetime          # aware UTC
    account: str
    payer_name: str
    payer_account: str
    amount_fen: int
    bank_ref: str


class StatementError(InvalidInput):
    """A malformed statement: names the line and the column; nothing is written."""

    def __init__(self, line: int | None, column: str | None, zh: str, en: str):
        where_zh = (f"第 {line} 行" if line else "") + (f"“{column}”列" if column else "")
        where_en = (f"line {line}" if line else "") + (f", column “{column}”" if column else "")
        super().__init__("deposit.statement_malformed", f"银行流水文件格式错误：{where_zh}{'：' if where_zh else ''}{zh}",
                         f"Malformed bank statement: {where_en}{': ' if where_en else ''}{en}", field="file",
                         details={"line": line, "column": column})
        self.line, self.column = line, column


def decode_statement(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (what Chinese banks export)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise StatementError(None, None, "文件编码无法识别（应为 UTF-8 或 GB18030）",
                             "unknown encoding (expected UTF-8 or GB18030)") from None


def _parse_time(text: str, line: int) -> datetime:
    text = text.strip()
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=BEIJING).astimezone(UTC)
        except ValueError:
            continue
    raise StatementError(line, COLUMNS["at"], f"无法识别的时间“{text[:40]}”（应为 2026-11-20 10:15:00，北京时间）",
                         f"unreadable time “{text[:40]}” (expected 2026-11-20 10:15:00, Beijing time)")


def parse_statement(data: bytes) -> list[StatementRow]:
    """Every row or StatementError for the first problem. Blank lines are skipped; a 流水号 repeated
    inside the file with the same facts counts once, with different facts it is an error."""
    text = decode_statement(data)
    if "\x00" in text:
        raise StatementError(None, None, "文件含有非文本内容", "the file is not text")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise StatementError(None, None, "文件为空", "the file is empty") from None
    except csv.Error as exc:
        raise StatementError(1, None, f"CSV 格式错误（{exc}）", f"CSV error ({exc})") from None
    header = [h.strip().replace("\ufeff", "") for h in header]
    index: dict[str, int] = {}
    for key, name in COLUMNS.items():
        matches = [i for i, h in enumerate(header) if h == name or h.startswith(name + "(") or h.startswith(name + "（")]
        if not matches:
            raise StatementError(1, name, "缺少该列（需要：" + "、".join(COLUMNS.values()) + "）",
                                 "column missing (needed: " + ", ".join(COLUMNS.values()) + ")")
        index[key] = matches[0]
    rows: list[StatementRow] = []
    seen: dict[str, StatementRow] = {}
    try:
        for lineno, raw in enumerate(reader, start=2):
            if not raw or all(not c.strip() for c in raw):
                continue
            if len(rows) >= MAX_ROWS:
                raise StatementError(lineno, None, f"超过 {MAX_ROWS} 行，请拆分文件", f"more than {MAX_ROWS} rows")
            if len(raw) < len(header):
                raise StatementError(lineno, None, f"列数不足（{len(raw)}/{len(header)}）",
                                     f"too few columns ({len(raw)}/{len(header)})")
            cell = {k: raw[i].strip() for k, i in index.items()}
            at = _parse_time(cell["at"], lineno)
            account = cell["account"].replace(" ", "")
            if not account.isascii() or not account.isdigit() or not 6 <= len(account) <= 32:
                raise StatementError(lineno, COLUMNS["account"], "账号应为 6–32 位数字", "the account must be 6–32 digits")
            try:
                amount = parse_yuan(cell["amount"], field="amount")
            except InvalidInput as exc:
                raise StatementError(lineno, COLUMNS["amount"], exc.message_zh, exc.message_en) from None
            ref = cell["bank_ref"]
            if not _REF_RE.match(ref):
                raise StatementError(lineno, COLUMNS["bank_ref"], "流水号须为 1–64 位字母、数字或 ._/-",
                                     "the reference must be 1–64 letters, digits or ._/-")
            payer_name = cell["payer_name"][:100]
            payer_account = cell["payer_account"].replace(" ", "")[:40]
            row = StatementRow(lineno, at, account, payer_name, payer_account, amount, ref)
            prev = seen.get(ref)
            if prev is not None:
                if (prev.at, prev.account, prev.amount_fen, prev.payer_account) != (at, account, amount, payer_account):
                    raise StatementError(lineno, COLUMNS["bank_ref"], f"流水号 {ref} 与第 {prev.line} 行重复但内容不同",
                                         f"reference {ref} repeats line {prev.line} with different facts")
                continue
            seen[ref] = row
            rows.append(row)
    except csv.Error as exc:
        raise StatementError(reader.line_num, None, f"CSV 格式错误（{exc}）", f"CSV error ({exc})") from None
    return rows
