"""The service context: who acts, when, from where, on which session. Services take it as their first
argument and never read Flask's request, session or current_user, so the HTML views, the JSON API,
the CLI and the tests all call them the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .clock import Clock, SystemClock
from .errors import Forbidden


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    org_id: int | None
    roles: frozenset[str] = frozenset()
    username: str = "system"
    #: the role the actor acts in for this request (recorded in audit entries)
    acting_role: str | None = None

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


SYSTEM = Actor(user_id=None, org_id=None, roles=frozenset({"system"}), username="system", acting_role="system")


@dataclass
class ServiceContext:
    session: Session
    actor: Actor = SYSTEM
    clock: Clock = field(default_factory=SystemClock)
    ip: str | None = None
    user_agent: str | None = None
    locale: str = "zh"
    #: per-request cache for settings and the working-day calendar
    cache: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock.now()

    def require(self, *roles: str) -> None:
        """Refuse unless the actor holds one of the roles (管办分离 is enforced by which roles each
        service names, not by the views)."""
        if not self.actor.has(*roles):
            raise Forbidden("permission.role_required", "当前账号无权执行此操作",
                            "Your account may not perform this action",
                            details={"roles": sorted(roles)})
