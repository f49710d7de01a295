"""The demo county's expert pool and the evaluation of the opened 比选 lot, through the real services
(DEMO ONLY):

- the expert pool (专家库): the centre (operator1) puts the eight demo experts in the pool with their
  specialties (codes below), titles and regions; 高远 (expert07) declares that until mid-2025 he worked
  for 清源水利 (bidder b03), 潘静 (expert05) declares herself away on the evaluation day, and the centre
  suspends 屈平 (expert08) — so the avoidance filters visibly remove three of the six experts whose
  specialty matches 龙泉镇农村饮水安全巩固提升工程 and exactly three remain: 袁明 (expert03),
  钟伟 (expert04) and 汪洋 (expert06);
- that lot's 评分细则 (comprehensive method, the price 40 points) are set by its owner (water, 水务局) just
  after the announcement, well before the deadline that locks them;
- yesterday, after the opening of 14 days ago, operator2 requested the draw (the seed's SHA-256
  committed), ran it and started the committee of three: the lot is 评审中 and the three experts find
  it under 我的评审 (/evaluation/). The scoring, the summary, the report and its signatures are left
  to whoever runs the demo.

Steps run on the story clock, each in a savepoint (story.py); the pool steps are keyed "expert_pool",
the lot's steps by its project, so a refused step skips only what depends on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from .catalogue import PROJECTS
from .offers import OPENED_KEY

if TYPE_CHECKING:
    from .story import Story

POOL_KEY = "expert_pool"

#: the specialty codes (专业代码) the demo uses: a category letter pair (GC 工程, HW 货物, FW 服务)
#: and the field
SPECIALTIES = {
    "GC.SL": "水利工程", "GC.SZ": "市政工程", "GC.FJ": "房屋建筑工程", "GC.GL": "公路工程", "GC.ZJ": "工程造价",
    "HW.YL": "医疗设备", "HW.JY": "教学设备", "FW.XX": "信息技术服务",
}


@dataclass(frozen=True)
class PoolEntry:
    username: str
    #: a valid 居民身份证号 without its check character (address code of the fictional county,
    #: birth date, sequence); the service masks it before storage
    id17: str
    region: str
    specialties: tuple[str, ...]
    title: str
    senior: bool
    years: int


POOL = (
    PoolEntry("expert01", "51990019700312041", "城区", ("HW.YL",), "主任医师", True, 26),
    PoolEntry("expert02", "51990019810725062", "城区", ("HW.YL", "FW.XX"), "高级工程师", True, 15),
    PoolEntry("expert03", "51990019740918031", "城区", ("GC.FJ", "GC.ZJ"), "高级工程师", True, 22),
    PoolEntry("expert04", "51990019830204051", "城区", ("GC.SL", "GC.SZ"), "高级工程师", True, 14),
    PoolEntry("expert05", "51990019880611082", "龙泉镇", ("GC.ZJ", "HW.JY"), "讲师（注册造价工程师）", False, 9),
    PoolEntry("expert06", "51990019780130071", "龙泉镇", ("GC.GL", "GC.SL"), "高级讲师", True, 19),
    PoolEntry("expert07", "51990019900423011", "城区", ("GC.SL", "GC.SZ"), "工程师", False, 8),
    PoolEntry("expert08", "51990019690827091", "龙泉镇", ("GC.SL", "GC.ZJ"), "高级讲师", True, 30),
)
#: the opened lot's committee: three experts (no buyer representative), drawn among these specialties
DRAW_SPECIALTIES = ("GC.SL", "GC.ZJ")
COMMITTEE_SIZE = 3
#: who the avoidance filters leave for that draw (documented in the README; test_demo checks it)
EXPECTED_PANEL = ("expert03", "expert04", "expert06")

CRITERIA = {
    "method": "comprehensive", "price_weight": "40", "tie_break": "technical",
    "items": [{"code": "T1", "name": "施工组织设计（含饮水工程施工期间的临时供水方案）", "group": "technical", "max": "25"},
              {"code": "T2", "name": "项目管理机构及人员配备", "group": "technical", "max": "10"},
              {"code": "T3", "name": "质量、安全及文明施工保证措施", "group": "technical", "max": "10"},
              {"code": "C1", "name": "近三年类似工程业绩", "group": "commercial", "max": "10"},
              {"code": "C2", "name": "企业信誉", "group": "commercial", "max": "5"}],
    "rejections": [{"code": "R1", "name": "资质证书缺失或不符合比选文件要求"},
                   {"code": "R2", "name": "报价超过最高限价"},
                   {"code": "R3", "name": "未按要求签字盖章"},
                   {"code": "R4", "name": "未实质性响应比选文件要求"},
                   {"code": "R5", "name": "报价明显低于成本且不能合理说明"}],
}


def id_card(entry: PoolEntry) -> str:
    from trading.evaluation.experts.rules import id_card_check_char

    return entry.id17 + id_card_check_char(entry.id17)


def schedule_evaluation(story: Story) -> None:
    """Add the pool, the criteria and the draw to the story (before it runs)."""
    for n, entry in enumerate(POOL):
        story.at((-36, 9, n), POOL_KEY, f"专家入库：{story.people.users[entry.username].display_name}",
                 lambda e=entry: _add(story, e))
    story.at((-35, 10, 0), POOL_KEY, "专家高远申报关联关系", lambda: _relation(story))
    story.at((-20, 9, 0), POOL_KEY, "暂停专家屈平", lambda: _suspend(story))
    story.at((-6, 10, 0), POOL_KEY, "专家潘静登记不可参评期间", lambda: _unavailable(story))
    water = next(s for s in PROJECTS if s.key == OPENED_KEY)
    published = water.notices[0].published
    story.at((published[0], published[1], published[2] + 20), OPENED_KEY, f"设定「{water.name}」评分细则",
             lambda: _criteria(story, water.by))
    drawn: dict = {}
    story.at((-1, 9, 0), OPENED_KEY, f"申请抽取「{water.name}」比选委员会专家", lambda: _request(story, drawn))
    story.at((-1, 9, 1), OPENED_KEY, f"抽取「{water.name}」比选委员会专家", lambda: _run(story, drawn))
    story.at((-1, 9, 30), OPENED_KEY, f"「{water.name}」比选委员会开始评审", lambda: _start(story))


def _expert_id(story: Story, username: str) -> int:
    from sqlalchemy import select

    from trading.evaluation.experts.models import Expert

    return story.ctx.session.execute(select(Expert.id).where(Expert.user_id == story.people.users[username].id)).scalar_one()


def _add(story: Story, entry: PoolEntry) -> None:
    from trading.evaluation.experts.services import ExpertIn, add_expert

    user = story.people.users[entry.username]
    add_expert(story.as_user("operator1"), user.id, ExpertIn(
        name=user.display_name, id_card=id_card(entry), employer_org_id=user.org_id,
        specialties=entry.specialties, region_id=story.people.regions[entry.region].id, title=entry.title,
        senior=entry.senior, years=entry.years))


def _relation(story: Story) -> None:
    from trading.evaluation.experts.services import declare_relation

    declare_relation(story.as_user("expert07"), _expert_id(story, "expert07"), org_id=story.people.orgs["b03"].id,
                     kind="employment", from_on=date(2016, 7, 1), to_on=date(2025, 6, 30),
                     note="2016年7月至2025年6月任该公司技术负责人")


def _suspend(story: Story) -> None:
    from trading.evaluation.experts.services import set_expert_status

    set_expert_status(story.as_user("operator1"), _expert_id(story, "expert08"), "suspended",
                      reason="无故缺席已确认参加的评审，依专家管理办法暂停抽取六个月")


def _day(story: Story, offset: int) -> date:
    return story.today.date() + timedelta(days=offset)


def _unavailable(story: Story) -> None:
    from trading.evaluation.experts.services import declare_unavailable

    declare_unavailable(story.as_user("expert05"), _expert_id(story, "expert05"), _day(story, -2), _day(story, 1),
                        reason="参加省级造价工程师继续教育培训")


def _lot_code(story: Story) -> str:
    return story.projects[OPENED_KEY].lots[0].code


def _criteria(story: Story, by: str) -> None:
    from trading.evaluation.criteria.services import set_criteria

    body = dict(CRITERIA, max_price_fen=story.projects[OPENED_KEY].lots[0].budget_fen)
    set_criteria(story.as_user(by), _lot_code(story), body)


def _request(story: Story, drawn: dict) -> None:
    from trading.evaluation.draw.services import request_draw

    drawn["draw"] = request_draw(story.as_user("operator2"), _lot_code(story), size=COMMITTEE_SIZE,
                                 specialties=list(DRAW_SPECIALTIES), experts_required=COMMITTEE_SIZE)


def _run(story: Story, drawn: dict) -> None:
    from trading.evaluation.draw.services import run_draw

    run_draw(story.as_user("operator2"), drawn["draw"].id)


def _start(story: Story) -> None:
    from trading.evaluation.draw.services import start_panel

    start_panel(story.as_user("operator2"), _lot_code(story))


def panel_usernames(session) -> list[str]:
    """The usernames seated on the opened lot's committee (for the command's summary)."""
    from sqlalchemy import select

    from trading.accounts.models import User
    from trading.evaluation.panels import MemberStatus, Panel, PanelMember
    from trading.procedures.common.models import LotTrade
    from trading.projects.models import Project

    name = next(s.name for s in PROJECTS if s.key == OPENED_KEY)
    return sorted(session.execute(
        select(User.username).join(PanelMember, PanelMember.user_id == User.id)
        .join(Panel, Panel.id == PanelMember.panel_id).join(LotTrade, LotTrade.lot_id == Panel.lot_id)
        .join(Project, Project.id == LotTrade.project_id)
        .where(Project.name == name, PanelMember.status == MemberStatus.ACTIVE)).scalars())
