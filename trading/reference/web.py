"""When a request is refused because a calendar year is missing, the refusal still reaches the user
(a 422 with the message), and an alert for the administrators is written in its own transaction."""

from flask import Flask

from trading.core.web import service_context
from trading.extensions import db

from .alerts import calendar_key, raise_alert
from .workdays import CalendarYearMissing


def init_app(app: Flask) -> None:
    domain_handler = app.error_handler_spec[None][None].get(_domain_error_class())

    @app.errorhandler(CalendarYearMissing)
    def _calendar_missing(err: CalendarYearMissing):
        db.session.rollback()  # the refused action leaves nothing behind
        ctx = service_context()
        raise_alert(ctx, calendar_key(err.year), err.message_zh)
        db.session.commit()
        return domain_handler(err)


def _domain_error_class():
    from trading.core.errors import DomainError
    return DomainError
