"""Domain errors with a stable code and a message in Chinese and English.

One place (core/web.py) turns them into a flash/form error or a JSON {"error", "message"} with a 4xx.
A 500 is always a bug."""

from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, code: str, message_zh: str, message_en: str | None = None, *,
                 field: str | None = None, details: dict | None = None):
        super().__init__(code)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en or message_zh
        self.field = field
        self.details = details or {}

    def message(self, locale: str = "zh") -> str:
        return self.message_en if locale.startswith("en") else self.message_zh

    def __str__(self) -> str:  # pragma: no cover - debugging aid
        return f"{self.code}: {self.message_zh}"


class InvalidInput(DomainError):
    """The request is malformed or a value is out of range (400/422)."""
    status = 422


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    """The action does not fit the object's current state (409)."""
    status = 409


class RuleViolation(DomainError):
    """A statutory or configured rule refuses the action; details name the rule and its source."""
    status = 422


class Throttled(DomainError):
    status = 429


def not_found(what_zh: str = "记录", what_en: str = "record") -> NotFound:
    # Same code and wording whether the object is missing or merely not visible to the caller,
    # so a 404 reveals nothing (招标投标法 Art. 22 secrecy).
    return NotFound("not_found", f"{what_zh}不存在或无权查看", f"{what_en} not found")
