"""Plays the demo county's history through the real services, in time order, on a story clock that
starts forty days ago and stops before today: people first, then every project's registration,
review and notices at the instants the catalogue gives. Each step runs in a savepoint; a step the
services refuse (for instance a working-day period reaching a year whose holiday schedule is not
loaded) is rolled back, reported and skipped, along with the steps that depend on it — the demo
never works around a rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from trading.accounts.services import actor_for
from trading.core.clock import BEIJING, FrozenClock, to_beijing
from trading.core.context import ServiceContext
from trading.core.errors import DomainError
from trading.core.money import format_yuan, to_capitals
from trading.reference.alerts import calendar_key, raise_alert
from trading.reference.workdays import CalendarYearMissing

from .catalogue import PROJECTS, NoticeSpec, ProjectSpec, When
from .evaluation import schedule_evaluation
from .offers import schedule_offers
from .people import People

#: which operator reviews (alternating, so the trail shows two people at the centre)
OPERATORS = ("operator1", "operator2")
#: ranked bidders quoted in candidate and result notices, with their price as a share of the budget (‰)
#: (the opened 比选 lot's offers are in offers.py: its evaluation is left to whoever runs the demo)
WINNERS = {
    "clinic": (("b01", 958), ("b02", 969), ("b03", 984)),
    "campus_guard": (("b08", 947), ("b07", 966)),
    "land_auction": (("b09", 1124),),
}
#: the department a notice names for complaints, by portal trade type (行政监督部门)
SUPERVISING = {"engineering": "示范县发展和改革局", "procurement": "示范县财政局", "land_mining": "示范县自然资源局",
               "state_asset": "示范县财政局（国有资产监督管理）", "other": "示范县发展和改革局"}
_FAMILY_HINT = {
    "tender": "投标", "selection": "比选申请", "negotiation": "响应", "inquiry": "报价", "consultation": "响应",
}


@dataclass
class Step:
    when: datetime
    label: str
    run: Callable[[], None]
    #: the project key the step belongs to: once one of its steps fails, the rest are skipped
    key: str


@dataclass
class Story:
    ctx: ServiceContext
    people: People
    today: datetime
    clock: FrozenClock
    steps: list[Step] = field(default_factory=list)
    projects: dict = field(default_factory=dict)
    notices: dict = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    contexts: dict[str, ServiceContext] = field(default_factory=dict)

    # --- time and actors -----------------------------------------------------------------------
    def instant(self, w: When) -> datetime:
        day, hour, minute = w
        d = self.today.date() + timedelta(days=day)
        return datetime.combine(d, time(hour, minute), tzinfo=BEIJING)

    def as_user(self, username: str) -> ServiceContext:
        """One context per user for the whole story (its cache keeps the settings and the calendar,
        which nothing in the story changes)."""
        ctx = self.contexts.get(username)
        if ctx is None:
            ctx = ServiceContext(session=self.ctx.session, actor=actor_for(self.people.users[username]),
                                 clock=self.clock, ip="127.0.0.1", user_agent="flask demo")
            self.contexts[username] = ctx
        return ctx

    def at(self, w: When, key: str, label: str, fn: Callable[[], None]) -> None:
        self.steps.append(Step(self.instant(w), label, fn, key))

    # --- running -------------------------------------------------------------------------------
    def run(self) -> None:
        failed: set[str] = set()
        for step in sorted(self.steps, key=lambda s: s.when):  # stable: same instant keeps catalogue order
            if step.key in failed:
                self.skipped.append(f"{step.label}：前一步未完成，跳过")
                continue
            self.clock.set(step.when)
            try:
                with self.ctx.session.begin_nested():
                    step.run()
            except DomainError as err:
                failed.add(step.key)
                self.skipped.append(f"{step.label}：{err.message_zh}")
                if isinstance(err, CalendarYearMissing):
                    # as at the request boundary: the administrators are told which year to load
                    raise_alert(self.ctx, calendar_key(err.year), err.message_zh)

    # --- scheduling one project ----------------------------------------------------------------
    def schedule(self, spec: ProjectSpec, n: int) -> None:
        operator = OPERATORS[n % 2]
        self.at(spec.registered, spec.key, f"登记「{spec.name}」", lambda: self._register(spec))
        if spec.submitted:
            self.at(spec.submitted, spec.key, f"提交「{spec.name}」", lambda: self._submit(spec))
        for action, w, comment in spec.reviews:
            self.at(w, spec.key, f"审核「{spec.name}」", lambda a=action, c=comment: self._review(spec, operator, a, c))
        if spec.fix:
            self.at(spec.fix[1], spec.key, f"补正「{spec.name}」", lambda: self._fix(spec))
        for i, notice in enumerate(spec.notices):
            self.at(notice.published, spec.key, f"发布「{notice.title}」",
                    lambda ns=notice, i=i: self._notice(spec, ns, i))
        if spec.extras_at and (spec.criteria or spec.parcel):
            self.at(spec.extras_at, spec.key, f"填写评标办法与宗地信息「{spec.name}」", lambda: self._extras(spec))

    def _register(self, spec: ProjectSpec) -> None:
        from trading.projects import services as projects

        owner_org = self.people.orgs[spec.owner].id if spec.owner else None
        user = self.people.users[spec.by]
        self.projects[spec.key] = projects.register_project(
            self.as_user(spec.by), owner_org_id=owner_org, name=spec.name, approval_number=spec.approval[0],
            approval_department=spec.approval[1], funding_source=spec.funding, fiscal_share_bp=spec.fiscal_share_bp,
            category=spec.category, owner_type=spec.owner_type, total_investment_fen=spec.investment_yuan * 100,
            region_id=self.people.regions[spec.region].id, procedure=spec.procedure,
            lots=[{"name": name, "budget_fen": yuan * 100} for name, yuan in spec.lots], description=spec.description,
            contact_name=user.display_name, contact_phone=user.organisation.contact_phone)

    def _submit(self, spec: ProjectSpec) -> None:
        from trading.projects import services as projects

        projects.submit_project(self.as_user(spec.by), self.projects[spec.key].id)

    def _review(self, spec: ProjectSpec, operator: str, action: str, comment: str) -> None:
        from trading.projects import services as projects

        use_case = {"accept": projects.accept_project, "return": projects.return_project,
                    "refuse": projects.refuse_project}[action]
        use_case(self.as_user(operator), self.projects[spec.key].id, comment)

    def _fix(self, spec: ProjectSpec) -> None:
        from trading.projects import services as projects

        project, ctx = self.projects[spec.key], self.as_user(spec.by)
        lots, _ = spec.fix
        if lots:
            projects.update_project(ctx, project.id, expected_version=project.version,
                                    lots=[{"name": name, "budget_fen": yuan * 100} for name, yuan in lots])
        projects.submit_project(ctx, project.id, comment="已补充配置论证意见并核对预算。")

    def _notice(self, spec: ProjectSpec, ns: NoticeSpec, i: int) -> None:
        from trading.procedures.common import services as notices

        project, ctx = self.projects[spec.key], self.as_user(spec.by)
        dates = {f: self.instant(w) for f, w in ns.dates.items()}
        previous = self.notices.get((spec.key, i - 1))
        notice = notices.create_notice(
            ctx, project.id, kind=ns.kind, title=ns.title, body=self.body(spec, ns, dates),
            previous_id=previous.id if previous is not None and ns.kind not in ("announcement", "land_grant") else None,
            opening_place=ns.place, **dates)
        notices.publish_notice(ctx, notice.id)
        self.notices[(spec.key, i)] = notice

    def _extras(self, spec: ProjectSpec) -> None:
        """招标出让: the owner sets the lot's criteria and records its parcel (after the grant notice)."""
        from trading.evaluation.criteria.services import set_criteria
        from trading.procedures.land_tender import services as land_tender

        ctx, code = self.as_user(spec.by), self.projects[spec.key].lots[0].code
        if spec.criteria:
            set_criteria(ctx, code, spec.criteria)
        if spec.parcel:
            land_tender.set_parcel(ctx, code, spec.parcel)

    # --- notice text ---------------------------------------------------------------------------
    def body(self, spec: ProjectSpec, ns: NoticeSpec, dates: dict[str, datetime]) -> str:
        """A plain-text notice in the usual county layout, numbered sections separated by blank lines
        (the opening place is a field of its own, shown by the portal next to the text)."""
        from trading.procedures.common.rules import date_label, procedure_family, trade_type_for

        project = self.projects[spec.key]
        by_org = self.people.users[spec.by].organisation.name
        family = procedure_family(project.procedure)
        facts = [f"项目名称：{project.name}", f"项目编号：{project.trade_code}",
                 f"项目所在地：{self.people.regions[spec.region].name}",
                 f"项目单位：{self.people.orgs[spec.owner].name if spec.owner else by_org}"]
        if spec.owner:
            facts.append(f"代理机构：{by_org}")
        facts.append(f"预算金额（最高限价/起始价）：{format_yuan(project.budget_fen)}元（{to_capitals(project.budget_fen)}）")
        facts += [f"{lot.code} {lot.name}：{format_yuan(lot.budget_fen)}元" for lot in project.lots]
        facts.append(spec.description)
        sections = [("项目概况", facts)]
        if ns.kind in ("candidates", "result", "deal_publicity"):
            ranked = []
            for rank, (org_key, permille) in enumerate(WINNERS.get(spec.key, ()), start=1):
                price = project.budget_fen * permille // 1000
                ranked.append(f"第{rank}名：{self.people.orgs[org_key].name}，报价{format_yuan(price)}元（{to_capitals(price)}）")
            if ns.kind != "candidates":
                ranked = [line.removeprefix("第1名：") for line in ranked[:1]]
            ranked.append("对上述结果有异议的，请在公示期内通过平台提出。")
            sections.append(({"candidates": "中选候选人（按排名）", "result": "成交（中选）结果",
                              "deal_publicity": "成交结果"}[ns.kind], ranked))
        if dates:
            sections.append(("关键时间（北京时间）", [
                f"{date_label(f, family)}：{b.year}年{b.month}月{b.day}日{b.hour}时{b.minute:02d}分"
                for f, b in ((f, to_beijing(v)) for f, v in sorted(dates.items(), key=lambda kv: kv[1]))]))
        if ns.kind in ("announcement", "land_grant", "disclosure"):
            hint = "投标" if project.procedure in ("land_tender", "mining_tender") else _FAMILY_HINT.get(family, "竞买（受让）申请")
            sections.append(("获取文件与递交方式", [
                f"本项目实行全流程电子化交易。请登录示范县公共资源交易平台免费获取文件，无需报名；{hint}文件须在截止时间前"
                "通过平台递交，逾期送达的，平台不予接收。"]))
        contact = self.people.users[spec.by]
        sections.append(("联系方式", [f"联系人：{contact.display_name}  电话：{contact.organisation.contact_phone}",
                                      f"监督部门：{SUPERVISING[trade_type_for(project.category, project.owner_type)]}"]))
        numerals = "一二三四五六"
        return "\n\n".join(f"{numerals[i]}、{title}\n" + "\n".join(lines) for i, (title, lines) in enumerate(sections))


def play(ctx: ServiceContext, people: People, today: datetime, clock: FrozenClock) -> Story:
    story = Story(ctx=ctx, people=people, today=to_beijing(today), clock=clock)
    for n, spec in enumerate(PROJECTS):
        story.schedule(spec, n)
    schedule_offers(story)  # sealed offers, an opened lot and a tender closing later today (offers.py)
    schedule_evaluation(story)  # the expert pool, the opened lot's criteria and its drawn committee
    story.run()
    return story
