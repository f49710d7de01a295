"""JSON API under /api/v1: one module per resource, the OpenAPI document. Thin: calls services.

The blueprint is exempt from CSRFProtect's form check; `framework.guard_request` applies the API's own
rule instead (cookie-session requests with unsafe methods need the X-CSRFToken header; bearer-token
requests need none). Errors raised under the blueprint become {"error", "message", "fields"?}."""

from flask import Blueprint

from trading.core.errors import DomainError
from trading.extensions import csrf

from . import framework

bp = Blueprint("api", __name__)
csrf.exempt(bp)
bp.before_request(framework.guard_request)
bp.register_error_handler(DomainError, framework.error_response)

# Resource modules register their operations on `bp` (imported last: they import `bp` from here).
from . import (  # noqa: E402,F401
    alerts,  # noqa: E402,F401
    auction_reserve,  # noqa: E402,F401
    auctions,  # noqa: E402,F401
    audit,
    awards,  # noqa: E402,F401
    complaints,  # noqa: E402,F401
    criteria,  # noqa: E402,F401
    deposits,
    keys,
    land_tender,  # noqa: E402,F401
    me,
    meta,
    negotiation,  # noqa: E402,F401  (after offers: it reuses its schemas)
    notices,
    offers,
    opening,
    organisations,
    projects,
    supervision,  # noqa: E402,F401
)
