"""`flask demo`: fills an empty database with the demo county (示范县) — regions, the trading centre,
departments, agencies, bidders, experts, supervisors and projects in every state — through the real
services, so the audit chain explains every row and verifies.

`make run` calls `flask demo --if-empty`, which does nothing once any organisation exists. The demo
log-ins (one password for everyone, fixed TOTP secrets for the roles that need two-factor and the
experts, who sign evaluation reports with it) are
printed and listed in the README: they are for demonstration only.

This package sits above every domain package (it drives them all) and nothing imports it except
the factory's CLI registration."""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from trading.core.clock import FrozenClock
from trading.core.context import ServiceContext

from .people import DEMO_PASSWORD, USERS, add_people

#: how far back the demo's history starts (people and calendar first, then the projects)
HISTORY_DAYS = 40


@dataclass
class DemoLogin:
    username: str
    display_name: str
    role: str
    organisation: str
    totp_secret: str | None


@dataclass
class DemoSummary:
    logins: list[DemoLogin]
    projects_by_status: Counter
    projects_by_category: Counter
    notices_by_kind: Counter
    calendar_years: list[int]
    skipped: list[str] = field(default_factory=list)
    #: usernames on the committee of the 比选 lot in evaluation (evaluation.py)
    committee: list[str] = field(default_factory=list)


def database_is_empty(session) -> bool:
    from trading.accounts.models import Organisation

    return session.execute(select(func.count(Organisation.id))).scalar_one() == 0


def build_demo(ctx: ServiceContext) -> DemoSummary:
    """Fill the (empty) database; flushes, never commits (the command commits once at the end)."""
    from trading.reference.models import CalendarYear
    from trading.reference.services import builtin_years, load_builtin_years

    from .story import play

    now = ctx.now()
    clock = FrozenClock(now - timedelta(days=HISTORY_DAYS))
    story_ctx = ServiceContext(session=ctx.session, actor=ctx.actor, clock=clock, ip=ctx.ip or "cli",
                               user_agent="flask demo")
    loaded = set(ctx.session.execute(select(CalendarYear.year)).scalars())
    missing = [y for y in builtin_years() if y not in loaded]
    if missing:
        # the official schedules chinese-calendar ships; a later year must be loaded by an administrator
        load_builtin_years(story_ctx, missing)
    people = add_people(story_ctx)
    story = play(story_ctx, people, now, clock)
    ctx.session.flush()
    return _summary(ctx.session, people, story.skipped, sorted(loaded | set(missing)))


def _summary(session, people, skipped, years) -> DemoSummary:
    from trading.procedures.common.models import Notice
    from trading.projects.models import Project

    from .evaluation import panel_usernames

    logins = [DemoLogin(u.username, u.display_name, u.role.value, people.orgs[u.org].name,
                        people.totp.get(u.username)) for u in USERS]
    projects = session.execute(select(Project.status, Project.category)).all()
    kinds = session.execute(select(Notice.kind).where(Notice.status == "published")).scalars().all()
    return DemoSummary(logins=logins, projects_by_status=Counter(s for s, _ in projects),
                       projects_by_category=Counter(c for _, c in projects), notices_by_kind=Counter(kinds),
                       calendar_years=years, skipped=skipped, committee=panel_usernames(session))


def print_summary(summary: DemoSummary) -> None:
    echo = click.echo
    years = summary.calendar_years
    echo(f"示范县 demo county loaded. Calendar years: {years[0]}–{years[-1]} (2027 must be loaded by an "
         "administrator: flask calendar load-file)." if years else "示范县 demo county loaded.")
    echo("Projects by status:   " + ", ".join(f"{k} {v}" for k, v in sorted(summary.projects_by_status.items())))
    echo("Projects by category: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.projects_by_category.items())))
    echo("Published notices:    " + ", ".join(f"{k} {v}" for k, v in sorted(summary.notices_by_kind.items())))
    if summary.skipped:
        echo(f"Steps the services refused ({len(summary.skipped)}), left undone:")
        for line in summary.skipped:
            echo(f"  - {line}")
    if summary.committee:
        echo("In evaluation: 龙泉镇农村饮水安全巩固提升工程 (比选), committee drawn from the expert pool: "
             + ", ".join(summary.committee) + " — log in as them and open 我的评审 (/evaluation/) to score.")
    echo("")
    echo(f"Demo log-ins (DEMO ONLY — every user's password is {DEMO_PASSWORD}):")
    for login in summary.logins:
        extra = f"  TOTP secret {login.totp_secret}" if login.totp_secret else ""
        echo(f"  {login.username:<10} {login.role:<10} {login.display_name}（{login.organisation}）{extra}")
    echo("Operators, supervisors, the administrator and the experts log in with a TOTP code from an authenticator app "
         "holding the secret above (e.g. `python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\"`).")


@click.command("demo", help="Fill an empty database with the demo county (示范县). DEMO DATA ONLY.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when any organisation exists.")
@with_appcontext
def demo_command(if_empty: bool):
    from trading.core.web import cli_context
    from trading.extensions import db

    if not database_is_empty(db.session):
        if if_empty:
            click.echo("demo: the database already has organisations; nothing to do.")
            return
        click.echo("demo: the database already has organisations; the demo only fills an empty database.", err=True)
        sys.exit(1)
    summary = build_demo(cli_context())
    db.session.commit()
    print_summary(summary)
