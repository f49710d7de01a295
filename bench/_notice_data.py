"""Realistic portal data for the notice-list benchmark, loaded with COPY: 15 regions, owner and agency
organisations, projects across the trade types, and their notice chains (announcement → change →
candidates → result → contract …) published over the three years before `now`.

Rows are completed from the models: a column this file does not know gets its model default (or
NULL), so new columns added to the models do not break the benchmark — a new NOT NULL column
without a default stops it with a clear message."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from psycopg.types.json import Json
from sqlalchemy import Engine, Table

from trading.core.clock import to_beijing
from trading.procedures.common.models import Notice
from trading.procedures.common.rules import trade_type_for

REGIONS = ["城区", "城关镇", "东关镇", "西河乡", "南山镇", "北岭乡", "青石镇", "柳林镇", "白水乡", "红旗镇",
           "新华乡", "大营镇", "小河乡", "石桥镇", "金沙乡"]
REGION_WEIGHTS = [30] + [5] * 14

#: category → (weight, owner types, procedures, subjects)
CATEGORIES = {
    "works": (30, ["gov", "state_enterprise"], ["public_tender", "invited_tender", "selection"],
              ["道路硬化工程", "农村饮水安全工程", "中学教学楼改造工程", "河道综合治理工程", "污水管网改造工程",
               "卫生院综合楼新建工程", "高标准农田建设项目", "老旧小区改造工程", "桥梁加固工程", "供热管网工程"]),
    "goods": (22, ["gov", "gov", "state_enterprise"], ["gp_public_tender", "inquiry", "competitive_negotiation"],
              ["办公设备采购", "医疗设备采购", "教学仪器设备采购", "公务用车采购", "消防器材采购",
               "图书采购", "课桌椅采购", "监控设备采购"]),
    "services": (20, ["gov", "gov", "state_enterprise"], ["gp_public_tender", "competitive_consultation",
                                                          "single_source"],
                 ["物业管理服务", "保洁服务", "工程监理服务", "审计服务", "食堂托管服务", "信息系统运维服务",
                  "绿化养护服务", "造价咨询服务"]),
    "land": (10, ["gov"], ["land_listing", "land_auction"],
             ["国有建设用地使用权出让", "商住用地使用权出让", "工业用地使用权出让"]),
    "mining": (3, ["gov"], ["mining_listing", "mining_auction"], ["建筑用砂岩矿采矿权出让", "石灰岩矿采矿权出让"]),
    "state_asset": (10, ["state_enterprise"], ["property_transfer", "equity_transfer"],
                    ["闲置门面房租赁权转让", "报废车辆处置", "国有股权转让", "办公楼租赁"]),
    "other": (5, ["other", "gov"], ["online_bidding", "auction"],
              ["林地经营权流转", "水面承包经营权流转", "罚没物资拍卖", "排污权交易"]),
}
CATEGORY_CODES = {"works": "GC", "goods": "HW", "services": "FW", "land": "TD", "mining": "KY",
                  "state_asset": "CQ", "other": "QT"}
KIND_TITLES = {"announcement": "招标（采购）公告", "change": "变更公告", "candidates": "中标候选人公示",
               "result": "中标（成交）结果公告", "contract": "合同公示", "termination": "终止公告",
               "land_grant": "出让公告", "deal_publicity": "成交公示", "disclosure": "信息披露公告"}
#: trade type → [(kind, probability, days after the previous notice)] after the opener
FOLLOWERS = {
    "engineering": [("change", 0.30, 6), ("candidates", 0.85, 16), ("result", 0.95, 4), ("contract", 0.65, 20)],
    "procurement": [("change", 0.25, 5), ("result", 0.90, 15), ("contract", 0.70, 10)],
    "land_mining": [("change", 0.15, 8), ("deal_publicity", 0.85, 22), ("result", 0.50, 5)],
    "state_asset": [("deal_publicity", 0.80, 25), ("result", 0.40, 5)],
    "other": [("result", 0.70, 12)],
}
OPENER = {"land_mining": "land_grant", "state_asset": "disclosure"}
#: a notice body of typical length (about 1,000 characters; real ones carry the same sections)
BODY = ("{name}{kind}\n"
        "{name}（项目编号：{code}）已由示范县发展和改革局批准建设，项目业主为{owner}，建设资金来自县级财政资金，"
        "出资比例为100%。项目已具备交易条件，现对该项目进行公开交易，特邀请有兴趣的潜在投标人（以下简称投标人）参加。\n"
        "一、项目概况与交易范围\n1.1 建设地点：{region}。1.2 预算金额：{budget}元，最高投标限价与预算金额一致。"
        "1.3 计划工期：{days}日历天。1.4 交易范围：详见交易文件第五章技术标准和要求及工程量清单。"
        "1.5 质量要求：符合国家现行验收规范合格标准。\n"
        "二、投标人资格要求\n2.1 投标人须具备独立法人资格，具有相应资质等级，并在人员、设备、资金等方面具有相应的履约能力。"
        "2.2 拟派项目负责人须具备相应专业注册执业资格，且未担任其他在建工程项目的项目负责人。"
        "2.3 投标人未被列入失信被执行人名单、重大税收违法失信主体名单、政府采购严重违法失信行为记录名单。"
        "2.4 本次交易不接受联合体投标。\n"
        "三、交易文件的获取\n3.1 凡有意参加投标者，请于规定时间内登录示范县公共资源交易平台，使用数字证书下载电子交易文件。"
        "3.2 交易文件每套售价0元，售后不退。\n"
        "四、投标文件的递交\n4.1 投标文件递交的截止时间为公告载明的时间，投标人应在截止时间前通过交易平台递交电子投标文件。"
        "4.2 逾期送达的投标文件，电子交易系统将予以拒收。4.3 开标地点：示范县公共资源交易中心开标一室（远程不见面开标）。\n"
        "五、发布公告的媒介\n本公告同时在省公共资源交易平台和示范县公共资源交易平台发布，发布日期{at}。\n"
        "六、联系方式\n招标人：{owner}，联系人：{contact}，电话：{phone}。"
        "交易平台技术支持电话：0371-12345678。监督部门：示范县住房和城乡建设局，电话：0371-87654321。\n")
CONTACTS = ["王工", "李工", "张女士", "刘先生", "陈经理", "杨主任", "赵工", "黄女士"]


def complete(table: Table, row: dict) -> tuple:
    """The row as a tuple over all the table's columns, unknown ones from the model default or NULL."""
    out = []
    for col in table.columns:
        if col.name in row:
            out.append(row[col.name])
        elif col.default is not None and getattr(col.default, "is_scalar", False):
            out.append(col.default.arg)
        elif col.nullable:
            out.append(None)
        else:
            raise SystemExit(f"bench/_notice_data.py: {table.name}.{col.name} is NOT NULL without a default; "
                             "add it to the generator")
    return tuple(out)


def copy_rows(engine: Engine, table: Table, rows: Iterator[dict]) -> int:
    cols = ", ".join(f'"{c.name}"' for c in table.columns)
    n = 0
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur:
            # Skip the per-row foreign-key triggers while loading (the generator keeps the references
            # consistent, and a notice may name a later one as superseded_by): loading is not measured.
            cur.execute("SET session_replication_role = replica")
            with cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(complete(table, row))
                    n += 1
            cur.execute("SET session_replication_role = DEFAULT")
        raw.commit()
    finally:
        raw.close()
    return n


def _projects(rnd: random.Random, count: int, now: datetime, org_ids: list[int]):
    cats = list(CATEGORIES)
    weights = [CATEGORIES[c][0] for c in cats]
    serial: dict[tuple[int, str], int] = {}
    start = now - timedelta(days=3 * 365)
    for pid in range(1, count + 1):
        cat = rnd.choices(cats, weights)[0]
        _, owners, procedures, subjects = CATEGORIES[cat]
        region = rnd.choices(range(len(REGIONS)), REGION_WEIGHTS)[0]
        opened = start + timedelta(seconds=rnd.uniform(0, 3 * 365 * 86400))
        year = opened.year
        serial[(year, cat)] = serial.get((year, cat), 0) + 1
        code = f"SFX-{CATEGORY_CODES[cat]}-{year}-{serial[(year, cat)]:04d}"
        budget = rnd.choice([8, 15, 40, 120, 260, 480, 900, 2400]) * 10_000_00 + rnd.randrange(0, 10_000_00)
        owner_type = rnd.choice(owners)
        yield {
            "id": pid, "trade_code": code, "category": cat, "owner_type": owner_type,
            "name": f"{REGIONS[region]}{year}年{rnd.choice(subjects)}（第{rnd.randint(1, 6)}标段）"[:100],
            "approval_number": f"示发改审批〔{year}〕{rnd.randint(1, 400)}号", "funding_source": "fiscal_county",
            "fiscal_share_bp": 10000 if owner_type == "gov" else 0, "total_investment_fen": budget * 2,
            "budget_fen": budget, "procedure": rnd.choice(procedures), "route": Json({"must_enter": True}),
            "status": "accepted", "owner_org_id": rnd.choice(org_ids), "region_id": region + 1,
            "created_by": 1, "created_at": opened - timedelta(days=10), "submitted_at": opened - timedelta(days=9),
            "accepted_at": opened - timedelta(days=7), "trade_type": trade_type_for(cat, owner_type).value,
            "opened": opened,
        }


def _chain(rnd: random.Random, ttype: str) -> list[tuple[str, int]]:
    chain = [(OPENER.get(ttype, "announcement"), 0)]
    chain += [(kind, days) for kind, prob, days in FOLLOWERS[ttype] if rnd.random() < prob]
    if rnd.random() < 0.04:
        chain = chain[:2] + [("termination", 9)]
    return chain


def _supersede(rows: list[dict]) -> None:
    """What procedures.common.services._supersede does: a change replaces the notice it changes, a
    termination ends every current notice of the project."""
    by_id = {r["id"]: r for r in rows}
    for r in rows:
        if r["status"] != "published":
            continue
        if r["kind"] == "change" and by_id[r["previous_id"]].get("superseded_by_id") is None:
            by_id[r["previous_id"]]["superseded_by_id"] = r["id"]
        elif r["kind"] == "termination":
            for other in rows:
                if other is not r and other["status"] == "published" and other.get("superseded_by_id") is None:
                    other["superseded_by_id"] = r["id"]


def _notices(rnd: random.Random, projects: list[dict], now: datetime, limit: int) -> Iterator[dict]:
    nid = 0
    for p in projects:
        ttype, rows = p["trade_type"], []
        at, opener_dates = p["opened"], (None, None)
        region, owner = REGIONS[p["region_id"] - 1], f"示范县第{p['owner_org_id']}单位"
        for kind, days in _chain(rnd, ttype):
            at = at + timedelta(days=days, hours=rnd.uniform(-20, 20)) if days else at
            if at > now or nid >= limit:
                break
            nid += 1
            opener = not rows
            draft = at > now - timedelta(days=20) and rnd.random() < 0.15
            body = BODY.format(name=p["name"], code=p["trade_code"], region=region, owner=owner,
                               budget=f"{p['budget_fen'] // 100:,}", days=rnd.choice([60, 90, 120, 180, 365]),
                               contact=rnd.choice(CONTACTS), phone=f"0{rnd.randint(3000, 3999)}-{rnd.randint(5000000, 8999999)}",
                               kind=KIND_TITLES[kind], at=to_beijing(at).strftime("%Y年%m月%d日"))
            row = {
                "id": nid, "project_id": p["id"], "kind": kind, "title": f"{p['name']}{KIND_TITLES[kind]}"[:200],
                "body": body, "body_sha256": hashlib.sha256(body.encode()).hexdigest(),
                "status": "draft" if draft else "published", "previous_id": rows[-1]["id"] if rows else None,
                "created_by": 1, "created_at": at - timedelta(hours=6), "published_at": None if draft else at,
                "docs_from": at if opener else None, "docs_until": at + timedelta(days=5) if opener else None,
                "deadline_at": at + timedelta(days=20) if opener else None,
                "opening_at": at + timedelta(days=20) if opener else None,
                "publicity_until": at + timedelta(days=3) if kind in ("candidates", "deal_publicity") else None,
                "opening_place": "开标一室" if opener else "", "trade_type": ttype, "region_id": p["region_id"],
                "project_code": p["trade_code"],
            }
            if opener:
                opener_dates = (row["deadline_at"], row["opening_at"])
            elif kind == "change":  # a change names the notice it changes and moves its dates
                row["previous_id"] = rows[0]["id"]
                row["deadline_at"], row["opening_at"] = (d + timedelta(days=7) for d in opener_dates)
            rows.append(row)
            if draft:  # nothing follows a notice not yet published
                break
        _supersede(rows)
        yield from rows
        if nid >= limit:
            return


def load(engine: Engine, notices: int, now: datetime, seed: int = 20261110) -> dict:
    """Fill the (fresh) schema; returns counts and a sample of values to query with."""
    from trading.accounts.models import Organisation, User
    from trading.projects.models import Project
    from trading.reference.models import Region

    rnd = random.Random(seed)
    made = now - timedelta(days=4 * 365)
    copy_rows(engine, Region.__table__, ({"id": i + 1, "code": f"R{i:02d}", "name": n, "sort": i}
                                        for i, n in enumerate(REGIONS)))
    org_ids = list(range(1, 301))
    copy_rows(engine, Organisation.__table__, (
        {"id": i, "name": f"示范县第{i}单位", "credit_code": f"91{i:016d}", "kind": "agency" if i % 5 == 0 else "owner",
         "region_id": 1 + i % len(REGIONS), "created_at": made} for i in org_ids))
    copy_rows(engine, User.__table__, iter([{"id": 1, "username": "operator", "display_name": "交易中心操作员",
                                             "org_id": 1, "role": "operator", "password_hash": "x",
                                             "created_at": made}]))
    projects = list(_projects(rnd, max(200, notices // 3), now, org_ids))
    project_cols = {c.name for c in Project.__table__.columns}
    copy_rows(engine, Project.__table__, ({k: v for k, v in p.items() if k in project_cols} for p in projects))
    # Building the notice indexes once after the load is quicker than updating them row by row.
    indexes = list(Notice.__table__.indexes)
    for index in indexes:
        index.drop(engine)
    n = copy_rows(engine, Notice.__table__, _notices(rnd, projects, now, notices))
    for index in indexes:
        index.create(engine)
    return {"notices": n, "projects": len(projects), "project_codes": [p["trade_code"] for p in projects]}
