"""marshmallow fields for the API's conventions: money as integer fen (`*_fen`, with a `*_capitals`
companion in responses), instants as ISO 8601 with the Beijing offset (+08:00), and trimmed text.

These fields only check the shape of a value; the services check what the value means."""

from __future__ import annotations

from datetime import datetime

from marshmallow import ValidationError, fields

from trading.core.clock import to_beijing
from trading.core.money import MAX_FEN, to_capitals

from .messages import Msg


class Fen(fields.Integer):
    """An amount in fen: a JSON integer, ≥ 0 and within the platform's ceiling. 1.5, "100", -3 and
    true are all refused with a message saying amounts are whole fen."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {})
        kwargs["metadata"].setdefault("description", "金额，单位：分（整数） / amount in fen (integer)")
        kwargs["metadata"].setdefault("minimum", 0)
        kwargs["metadata"].setdefault("maximum", MAX_FEN)
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(Msg("金额须为以分为单位的整数，例如 150 表示 1.50 元（不带小数、不加引号）",
                                      "amounts are whole fen as a JSON integer, e.g. 150 for 1.50 yuan"))
        if value < 0:
            raise ValidationError(Msg("金额不能为负数", "the amount cannot be negative"))
        if value > MAX_FEN:
            raise ValidationError(Msg("金额超出允许范围", "the amount is too large"))
        return value


class BeijingDateTime(fields.DateTime):
    """Dumps aware UTC as 2026-11-12T10:00:00+08:00; loads ISO 8601 only with an explicit offset,
    because a naive time is ambiguous by eight hours."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {})
        kwargs["metadata"].setdefault("example", "2026-11-12T10:00:00+08:00")
        super().__init__(format="iso", **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return to_beijing(value).isoformat(timespec="seconds")

    def _deserialize(self, value, attr, data, **kwargs):
        bad = Msg("须为带时区的 ISO 8601 时间，例如 2026-11-12T10:00:00+08:00",
                  "must be an ISO 8601 datetime with an offset, e.g. 2026-11-12T10:00:00+08:00")
        if not isinstance(value, str):
            raise ValidationError(bad)
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValidationError(bad) from exc
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise ValidationError(Msg("时间须带时区，例如 2026-11-12T10:00:00+08:00（北京时间）",
                                      "give the offset, e.g. 2026-11-12T10:00:00+08:00 (Beijing time)"))
        return parsed


class Text(fields.String):
    """A string stripped of surrounding blanks, with a maximum length matching its column."""

    def __init__(self, max_length: int | None = None, **kwargs):
        from marshmallow import validate
        validators = list(kwargs.pop("validate", []) or [])
        if max_length is not None:
            validators.append(validate.Length(max=max_length))
        super().__init__(validate=validators, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


def capitals_of(attr: str):
    """A response field `<x>_capitals` beside `<x>_fen`: the official 大写 of the amount."""
    def get(obj):
        value = obj.get(attr) if isinstance(obj, dict) else getattr(obj, attr, None)
        return to_capitals(value) if isinstance(value, int) and not isinstance(value, bool) else None
    return fields.Function(get, dump_only=True, allow_none=True, metadata={
        "description": "金额大写，例如 人民币壹佰万元整 / the amount in Chinese capitals", "type": "string"})
