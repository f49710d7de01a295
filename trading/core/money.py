"""Money is integer fen (分) everywhere. Decimal appears only for display and ratios; never float.

`to_capitals` writes the official Chinese-capital form (大写) required on official documents
(会计基础工作规范 Art. 52): 人民币 prefix, 整 after 元 or 角 when the amount ends there, none after 分.
It wraps cn2an, which omits the prefix and the 整 after 角."""

from __future__ import annotations

import re
from decimal import Decimal

import cn2an

from .errors import InvalidInput

#: The largest amount the platform accepts (a trillion yuan): beyond any county trade, below int64.
MAX_FEN = 10**14

_YUAN_RE = re.compile(r"^(\d{1,13})(?:\.(\d{1,2}))?$")


def parse_yuan(text: str | int | None, *, field: str = "amount", allow_zero: bool = False) -> int:
    """Parse an amount typed in yuan ("1,200,000.50") into fen. Refuses floats, negatives, more than
    two decimals and absurd sizes with a message saying what to fix."""
    if isinstance(text, bool) or text is None:
        raise InvalidInput("money.missing", "请填写金额（单位：元）", "Enter an amount in yuan", field=field)
    if isinstance(text, int):
        text = str(text)
    if not isinstance(text, str):
        raise InvalidInput("money.not_text", "金额须为数字文本，例如 1200000.00",
                           "Give the amount as digits, e.g. 1200000.00", field=field)
    cleaned = text.strip().replace(",", "").replace("，", "").replace("¥", "").replace("元", "")
    if cleaned.startswith("-"):
        raise InvalidInput("money.negative", "金额不能为负数", "The amount cannot be negative", field=field)
    match = _YUAN_RE.match(cleaned)
    if not match:
        if re.match(r"^\d+\.\d{3,}$", cleaned):
            raise InvalidInput("money.too_precise", "金额最多保留两位小数（精确到分）",
                               "Use at most two decimals (fen)", field=field)
        raise InvalidInput("money.malformed", "金额格式不正确，请输入数字，例如 1200000.00",
                           "Malformed amount; use digits such as 1200000.00", field=field)
    whole, frac = match.group(1), (match.group(2) or "").ljust(2, "0")
    fen = int(whole) * 100 + int(frac)
    return check_fen(fen, field=field, allow_zero=allow_zero)


def check_fen(fen: object, *, field: str = "amount", allow_zero: bool = False) -> int:
    """Validate an amount already given in fen (the JSON API takes integers)."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise InvalidInput("money.not_integer_fen", "金额须为以分为单位的整数",
                           "Amounts are integers in fen", field=field)
    if fen < 0:
        raise InvalidInput("money.negative", "金额不能为负数", "The amount cannot be negative", field=field)
    if fen == 0 and not allow_zero:
        raise InvalidInput("money.zero", "金额必须大于零", "The amount must be greater than zero", field=field)
    if fen > MAX_FEN:
        raise InvalidInput("money.too_large", "金额超出允许范围", "The amount is too large", field=field)
    return fen


def fen_to_decimal(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def format_yuan(fen: int, *, symbol: bool = False) -> str:
    """1,234,567.89 (元 with thousands separators and two decimals)."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    text = f"{sign}{whole:,}.{part:02d}"
    return f"¥{text}" if symbol else text


def format_wan(fen: int, places: int = 2) -> str:
    """Amount in 万元 for reports and land prices (rounded half-up for display only)."""
    value = (Decimal(fen) / Decimal(1_000_000)).quantize(Decimal(1).scaleb(-places))
    return f"{value:,}"


def to_capitals(fen: int) -> str:
    """人民币壹佰万元整, 人民币壹佰万元伍角整, 人民币壹仟零壹元零伍分."""
    if isinstance(fen, bool) or not isinstance(fen, int) or fen < 0:
        raise InvalidInput("money.capitals_input", "大写金额只适用于非负整数分", "capitals need non-negative fen")
    yuan, rest = divmod(fen, 100)
    text = cn2an.an2cn(f"{yuan}.{rest:02d}" if rest else str(yuan), "rmb")
    if rest and rest % 10 == 0:  # ends in 角: the official form adds 整, cn2an does not
        text += "整"
    return "人民币" + text
