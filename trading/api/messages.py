"""Field error messages of the JSON API in Chinese and English.

marshmallow writes its built-in messages in English; `translate` maps each to the request's language
so a 422 always says, in the caller's language, which field is wrong and how to fix it. The API's own
fields (fen amounts, Beijing datetimes) raise `Msg` values that carry both languages."""

from __future__ import annotations

import re

from trading.core.i18n import current_locale


class Msg(str):
    """A message in both languages; str() is the Chinese text, so marshmallow can carry it."""

    en: str

    def __new__(cls, zh: str, en: str) -> Msg:
        obj = super().__new__(cls, zh)
        obj.en = en
        return obj


#: marshmallow's built-in messages (as regexes) → (Chinese, English) templates
_BUILTIN: list[tuple[re.Pattern, str, str]] = [(re.compile(p), zh, en) for p, zh, en in [
    (r"^Missing data for required field\.$", "必须填写", "is required"),
    (r"^Unknown field\.$", "不是可接受的字段，请删除", "is not an accepted field; remove it"),
    (r"^Field may not be null\.$", "不能为 null", "may not be null"),
    (r"^Not a valid integer\.$", "须为整数（不带引号、不带小数）", "must be an integer (no quotes, no decimals)"),
    (r"^Not a valid number\.$", "须为数字", "must be a number"),
    (r"^Not a valid string\.$", "须为文本（字符串）", "must be a string"),
    (r"^Not a valid boolean\.$", "须为 true 或 false", "must be true or false"),
    (r"^Not a valid list\.$", "须为数组", "must be an array"),
    (r"^Not a valid mapping type\.$", "须为对象", "must be an object"),
    (r"^Invalid input type\.$", "须为对象", "must be an object"),
    (r"^Invalid type\.$", "类型不正确", "has the wrong type"),
    (r"^Not a valid datetime\.$", "须为带时区的 ISO 8601 时间，例如 2026-11-12T10:00:00+08:00",
     "must be an ISO 8601 datetime with an offset, e.g. 2026-11-12T10:00:00+08:00"),
    (r"^Not a valid date\.$", "须为日期，例如 2026-11-12", "must be a date such as 2026-11-12"),
    (r"^Longer than maximum length (?P<max>\d+)\.$", "长度不能超过 {max} 个字符",
     "must be at most {max} characters"),
    (r"^Shorter than minimum length (?P<min>\d+)\.$", "长度不能少于 {min} 个字符",
     "must be at least {min} characters"),
    (r"^Length must be between (?P<min>\d+) and (?P<max>\d+)\.$", "长度须在 {min} 到 {max} 之间",
     "length must be between {min} and {max}"),
    (r"^Must be one of: (?P<choices>.*)\.$", "须为以下之一：{choices}", "must be one of: {choices}"),
    (r"^Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\.$",
     "须在 {min} 到 {max} 之间", "must be between {min} and {max}"),
    (r"^Must be greater than or equal to (?P<min>\S+)\.$", "须不小于 {min}", "must be at least {min}"),
    (r"^Must be less than or equal to (?P<max>\S+)\.$", "须不大于 {max}", "must be at most {max}"),
]]


def translate(message: str) -> str:
    english = current_locale() == "en"
    if isinstance(message, Msg):
        return message.en if english else str(message)
    for pattern, zh, en in _BUILTIN:
        m = pattern.match(message)
        if m:
            return (en if english else zh).format(**m.groupdict())
    return message


def flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested {field: [msg] | {index: {...}}} → {"lots[0].budget_fen": [msg, …]}."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            elif key == "_schema":
                path = prefix or "body"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            for k, v in flatten(value, path).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(messages, list | tuple):
        for item in messages:
            if isinstance(item, dict | list):
                for k, v in flatten(item, prefix).items():
                    out.setdefault(k, []).extend(v)
            else:
                out.setdefault(prefix or "body", []).append(translate(item))
    else:
        out.setdefault(prefix or "body", []).append(translate(str(messages)))
    return out


def summary(fields: dict[str, list[str]]) -> tuple[str, str]:
    """One line naming every wrong field, in both languages' framing (the parts are already localised)."""
    parts = [f"{name}：{'；'.join(msgs)}" for name, msgs in fields.items()]
    parts_en = [f"{name}: {'; '.join(msgs)}" for name, msgs in fields.items()]
    return ("请求内容有误，请修改后重试 —— " + "；".join(parts),
            "The request has invalid fields; fix them and retry — " + "; ".join(parts_en))
