"""API test helpers: a cast of users (one per role, plus an owner of another organisation), a caller
that speaks JSON with the session cookie and the CSRF header (or with a bearer token), and the audit
head, so a refused request can be shown to have written nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories.accounts import login_as, make_org, make_user
from trading.accounts.models import User
from trading.audit.models import AuditHead
from trading.extensions import db

ROLES = ("anonymous", "owner", "agency", "other_owner", "bidder", "expert", "operator", "supervisor", "admin")


class Caller:
    """One API client. `as_user(user)` logs in on a fresh cookie jar; `with_token(t)` uses a bearer
    token and no cookies. Unsafe requests carry X-CSRFToken fetched from GET /me unless csrf=False."""

    def __init__(self, app, user: User | None = None, token: str | None = None):
        self.client = app.test_client()
        self.user = user
        self.token = token
        self._csrf: str | None = None
        if user is not None:
            login_as(self.client, user)

    def headers(self, csrf: bool | str) -> dict:
        h = {}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if csrf is True and self.user is not None and not self.token:
            h["X-CSRFToken"] = self.csrf_token()
        elif isinstance(csrf, str):
            h["X-CSRFToken"] = csrf
        return h

    def csrf_token(self) -> str:
        if self._csrf is None:
            resp = self.client.get("/api/v1/me")
            assert resp.status_code == 200, resp.json
            self._csrf = resp.json["csrf_token"]
        return self._csrf

    def call(self, method: str, path: str, json=None, *, data=None, csrf: bool | str = True, **kwargs):
        path = path if path.startswith("/api/") else "/api/v1" + path
        headers = self.headers(csrf if method.upper() not in ("GET", "HEAD") else False)
        headers.update(kwargs.pop("headers", {}))
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
            return self.client.open(path, method=method, data=data, headers=headers, **kwargs)
        return self.client.open(path, method=method, json=json, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.call("POST", path, json, **kw)

    def patch(self, path, json=None, **kw):
        return self.call("PATCH", path, json, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


def audit_next_seq() -> int:
    return db.session.execute(select(AuditHead.next_seq).where(AuditHead.id == 1)).scalar_one()


@pytest.fixture
def cast(ctx):
    """One user per role; owner and agency act for the same owner organisation's projects, other_owner
    belongs to another owner organisation."""
    owner_org = make_org(ctx, "owner")
    users = {
        "owner": make_user(ctx, "owner", org=owner_org),
        "agency": make_user(ctx, "agency"),
        "other_owner": make_user(ctx, "owner"),
        "bidder": make_user(ctx, "bidder", phone="13800000000"),
        "expert": make_user(ctx, "expert"),
        "operator": make_user(ctx, "operator", totp=True),
        "supervisor": make_user(ctx, "supervisor", totp=True),
        "admin": make_user(ctx, "admin", totp=True),
    }
    db.session.commit()
    return users


@pytest.fixture
def caller(app, cast):
    """caller("owner") → a logged-in Caller; caller("anonymous") → no log-in."""
    made: dict[str, Caller] = {}

    def get(role: str) -> Caller:
        if role not in made:
            made[role] = Caller(app, None if role == "anonymous" else cast[role])
        return made[role]
    return get


@pytest.fixture
def world(ctx, session, clock, cast):
    """Projects and notices of the owner organisation, handled by the owner and its agency:
    a draft, a submitted and an accepted project; on the accepted one a published announcement
    and a draft announcement; and an API token of the owner."""
    from tests.factories.accounts import actor_ctx
    from tests.factories.notices import make_notice, published_notice
    from tests.factories.projects import accepted_project, ensure_calendar, make_project, submitted_project
    from trading.accounts import services as accounts

    as_ = {role: actor_ctx(session, clock, user) for role, user in cast.items()}
    owner_org = cast["owner"].org_id
    ensure_calendar(ctx)
    draft = make_project(as_["agency"], owner_org_id=owner_org)
    submitted = submitted_project(as_["agency"], owner_org_id=owner_org)
    accepted = accepted_project(as_["agency"], as_["operator"], owner_org_id=owner_org)
    published = published_notice(as_["owner"], accepted)
    notice_draft = make_notice(as_["owner"], accepted, title="第二批次比选公告")
    token, _ = accounts.create_api_token(as_["owner"], name="owner token")
    db.session.commit()
    return {"draft": draft.id, "submitted": submitted.id, "accepted": accepted.id, "lot": draft.lots[0].id,
            "published": published.id, "notice_draft": notice_draft.id, "token": token.id,
            "owner_org": owner_org, "as": as_}
