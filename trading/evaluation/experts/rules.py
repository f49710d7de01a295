"""Expert pool rules, pure: the ID-card number (GB 11643 check digit, masked before storage),
specialty codes, relation input, and the bulk-load CSV (every line checked; the file is refused with
the list of line errors, so an import is all or nothing).

Imports: core.errors, evaluation.draw.rules (the status and relation vocabularies)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date

from trading.core.errors import InvalidInput
from trading.evaluation.draw.rules import ExpertStatus, RelationKind

RELATION_LABELS = {
    RelationKind.EMPLOYMENT: ("任职/受雇", "Employment"),
    RelationKind.DIRECTORSHIP: ("董事/监事", "Director or supervisor"),
    RelationKind.SHAREHOLDING: ("股东/实际控制人", "Shareholder or controller"),
    RelationKind.RELATIVE: ("近亲属为其负责人", "Relative of its principal"),
    RelationKind.OTHER: ("其他关系", "Other relation"),
}
STATUS_LABELS = {
    ExpertStatus.ACTIVE: ("在库", "Active"),
    ExpertStatus.SUSPENDED: ("暂停", "Suspended"),
    ExpertStatus.BLACKLISTED: ("禁入", "Blacklisted"),
}

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_MASKED_RE = re.compile(r"^\d{6}\*{8}\d{3}[\dX]$")
SPECIALTY_RE = re.compile(r"^[A-Z][A-Z0-9]{0,7}(\.[A-Z0-9]{1,8}){0,2}$")
MAX_SPECIALTIES = 10
MAX_IMPORT_ROWS = 50_000
MAX_LINE_ERRORS = 50


def id_card_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def mask_id_card(raw: str, *, field_name: str = "id_card") -> str:
    """A valid 18-character 居民身份证号 → its masked form (first 6, last 4 kept). An already masked
    value (from an earlier export) is accepted as it is."""
    value = (raw or "").strip().upper()
    if _MASKED_RE.match(value):
        return value
    if not _ID_RE.match(value) or id_card_check_char(value[:17]) != value[17]:
        raise InvalidInput("expert.id_card_invalid", "身份证号应为 18 位且校验位正确",
                           "The ID card number must have 18 characters with a valid check digit", field=field_name)
    return value[:6] + "*" * 8 + value[14:]


def parse_specialties(raw: str | list[str] | tuple[str, ...], *, field_name: str = "specialties") -> tuple[str, ...]:
    """Specialty codes separated by ; , 、 or spaces (or a list) → sorted unique codes, 1–10 of them."""
    items = re.split(r"[;,，；、\s]+", raw) if isinstance(raw, str) else list(raw)
    codes = sorted({c.strip().upper() for c in items if c and c.strip()})
    if not codes:
        raise InvalidInput("expert.specialty_required", "至少填写一个专业代码", "Give at least one specialty code",
                           field=field_name)
    bad = [c for c in codes if not SPECIALTY_RE.match(c)]
    if bad:
        raise InvalidInput("expert.specialty_invalid", f"专业代码格式不正确：{'、'.join(bad[:5])}",
                           f"Malformed specialty code: {', '.join(bad[:5])}", field=field_name)
    if len(codes) > MAX_SPECIALTIES:
        raise InvalidInput("expert.specialty_too_many", f"专业代码最多 {MAX_SPECIALTIES} 个",
                           f"At most {MAX_SPECIALTIES} specialty codes", field=field_name)
    return tuple(codes)


def check_years(value: object, *, field_name: str = "years") -> int:
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            raise InvalidInput("expert.years_invalid", "从业年限应为 0–60 的整数", "Years must be 0–60", field=field_name)
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 60:
        raise InvalidInput("expert.years_invalid", "从业年限应为 0–60 的整数", "Years must be 0–60", field=field_name)
    return value


def check_status(value: str) -> str:
    if value not in {s.value for s in ExpertStatus}:
        raise InvalidInput("expert.status_invalid", "专家状态无效", "Unknown expert status", field="status")
    return value


def check_relation(kind: str, from_on: date | None, to_on: date | None) -> str:
    if kind not in {k.value for k in RelationKind}:
        raise InvalidInput("expert.relation_kind", "请选择关联关系类型", "Choose the kind of relation", field="kind")
    if kind == RelationKind.EMPLOYMENT and from_on is None:
        raise InvalidInput("expert.relation_from", "任职关系须填写起始日期", "An employment needs its start date",
                           field="from_on")
    if from_on and to_on and to_on < from_on:
        raise InvalidInput("expert.relation_dates", "结束日期不能早于起始日期", "The end is before the start",
                           field="to_on")
    return kind


def check_period(start_on: date, end_on: date) -> None:
    if end_on < start_on:
        raise InvalidInput("expert.period_dates", "结束日期不能早于开始日期", "The end is before the start",
                           field="end_on")
    if (end_on - start_on).days > 366:
        raise InvalidInput("expert.period_too_long", "一次登记的不可参评期间不超过一年",
                           "One unavailable period may not exceed a year", field="end_on")


# --- CSV bulk load -------------------------------------------------------------------------------

#: column key → header (Chinese, as in the template the operator downloads)
COLUMNS = {"username": "账号", "name": "姓名", "id_card": "身份证号", "employer": "工作单位统一社会信用代码",
           "region": "地区代码", "title": "职称", "senior": "高级职称", "years": "从业年限", "specialties": "专业代码"}
_TRUE = {"是", "y", "yes", "true", "1"}
_FALSE = {"否", "n", "no", "false", "0", ""}


@dataclass(frozen=True)
class ExpertRow:
    line: int
    username: str
    name: str
    id_card_masked: str
    employer_credit_code: str
    region_code: str
    title: str
    senior: bool
    years: int
    specialties: tuple[str, ...]


@dataclass
class LineErrors(Exception):
    """The file is refused: [(line, column header or "", message zh, message en)]."""
    errors: list[tuple[int, str, str, str]] = field(default_factory=list)

    def add(self, line: int, column: str, zh: str, en: str) -> None:
        if len(self.errors) < MAX_LINE_ERRORS:
            self.errors.append((line, column, zh, en))

    def as_invalid_input(self) -> InvalidInput:
        first = self.errors[0]
        where = f"第 {first[0]} 行" + (f"“{first[1]}”" if first[1] else "")
        return InvalidInput("expert.import_invalid",
                            f"导入文件有 {len(self.errors)} 处错误，未导入任何专家；{where}：{first[2]}",
                            f"The file has {len(self.errors)} error(s); nothing was imported; line {first[0]}"
                            f"{' ' + first[1] if first[1] else ''}: {first[3]}",
                            field="file", details={"errors": [list(e) for e in self.errors]})


def decode_csv(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("expert.import_encoding", "文件编码应为 UTF-8 或 GB18030", "The file must be UTF-8 or GB18030",
                       field="file")


def _header_index(header: list[str], errs: LineErrors) -> dict[str, int]:
    names = [h.strip().replace("\ufeff", "") for h in header]
    index = {}
    for key, title in COLUMNS.items():
        if title in names:
            index[key] = names.index(title)
        else:
            errs.add(1, title, "缺少该列", "column missing")
    return index


def _row(lineno: int, cell: dict[str, str], errs: LineErrors) -> ExpertRow | None:
    before = len(errs.errors)

    def guard(key: str, fn):
        try:
            return fn()
        except InvalidInput as exc:
            errs.add(lineno, COLUMNS[key], exc.message_zh, exc.message_en)
            return None

    if not re.match(r"^[a-z0-9][a-z0-9_.-]{2,39}$", cell["username"].lower()):
        errs.add(lineno, COLUMNS["username"], "账号格式不正确", "malformed username")
    if not 1 <= len(cell["name"]) <= 40:
        errs.add(lineno, COLUMNS["name"], "姓名为 1–40 个字符", "the name has 1–40 characters")
    masked = guard("id_card", lambda: mask_id_card(cell["id_card"]))
    if not re.match(r"^[0-9A-Z]{18}$", cell["employer"].upper()):
        errs.add(lineno, COLUMNS["employer"], "统一社会信用代码应为 18 位", "the credit code has 18 characters")
    senior = cell["senior"].lower()
    if senior not in _TRUE | _FALSE:
        errs.add(lineno, COLUMNS["senior"], "填写“是”或“否”", "write 是 or 否")
    years = guard("years", lambda: check_years(cell["years"]))
    codes = guard("specialties", lambda: parse_specialties(cell["specialties"]))
    if len(cell["title"]) > 40:
        errs.add(lineno, COLUMNS["title"], "职称不超过 40 个字符", "the title has at most 40 characters")
    if len(errs.errors) != before or masked is None or years is None or codes is None:
        return None
    return ExpertRow(lineno, cell["username"].lower(), cell["name"], masked, cell["employer"].upper(),
                     cell["region"], cell["title"], senior in _TRUE, years, codes)


def parse_expert_csv(data: bytes) -> list[ExpertRow]:
    """Every row, or LineErrors naming each bad line and column (up to 50)."""
    errs = LineErrors()
    reader = csv.reader(io.StringIO(decode_csv(data), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        errs.add(1, "", "文件为空", "the file is empty")
        raise errs from None
    index = _header_index(header, errs)
    if errs.errors:
        raise errs
    rows: list[ExpertRow] = []
    seen: dict[str, int] = {}
    try:
        for lineno, raw in enumerate(reader, start=2):
            if not raw or all(not c.strip() for c in raw):
                continue
            if len(rows) >= MAX_IMPORT_ROWS:
                errs.add(lineno, "", f"超过 {MAX_IMPORT_ROWS} 行，请拆分文件", f"more than {MAX_IMPORT_ROWS} rows")
                break
            cell = {k: (raw[i].strip() if i < len(raw) else "") for k, i in index.items()}
            row = _row(lineno, cell, errs)
            if row is None:
                continue
            if row.username in seen:
                errs.add(lineno, COLUMNS["username"], f"与第 {seen[row.username]} 行重复",
                         f"repeats line {seen[row.username]}")
                continue
            seen[row.username] = lineno
            rows.append(row)
    except csv.Error as exc:
        errs.add(reader.line_num, "", f"CSV 格式错误（{exc}）", f"CSV error ({exc})")
    if errs.errors:
        raise errs
    if not rows:
        errs.add(2, "", "文件没有数据行", "the file has no data rows")
        raise errs
    return rows
