"""Sealed offers in the demo county, through the real services (DEMO ONLY):

- 龙泉镇农村饮水安全巩固提升工程 (比选, deadline 14 days ago): three bidders sealed their price sheets
  before the deadline; at the deadline three custodians of three institutions (operator1, sup_fgj,
  sup_czj) submitted their shares, the envelopes opened and the opening record (开标记录) was published
  and two bidders confirmed it; its criteria and its drawn committee are in evaluation.py.
- TONIGHT, a works tender (招标) published 30 days ago whose bid deadline falls later TODAY (about an hour
  after the demo is built, on a half hour; the next morning when the day is nearly over): four bidders
  have sealed offers with receipts, so someone who runs `make run` can watch the opening in the hall:
  at the deadline three of the custodians (README: passphrase custody-<username>-2026) sign in with
  two-factor and submit their shares on 开标密钥保管.

Every offer goes the way a bidder's offline tool goes: a registered signing key (source "tool"; the
private half is thrown away, so the demo bidders cannot replace these offers — they can make a browser
key and submit again), register_for_lot → start_submission → put_manifest → put_chunk →
complete_submission, which signs the receipt. Steps are scheduled on the story's clock like the rest of
the demo and keyed by their project, so a project whose notice the services refused skips its offers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .catalogue import NoticeSpec, ProjectSpec, When

if TYPE_CHECKING:
    from .story import Story

TONIGHT_NAME = "示范县老城区供水管网更新改造工程"
TONIGHT_KEY = "old_town_pipes"
#: the tonight lot's bidders: (org, price as a share of the budget in ‰, duration days, when: yesterday)
TONIGHT_OFFERS = (("b01", 958, 240, (-1, 10, 5)), ("b03", 944, 210, (-1, 11, 30)), ("b02", 971, 270, (-1, 15, 20)),
                  ("b06", 989, 300, (-1, 17, 40)))
#: the opened lot and its custodians (three institutions: the centre, 发改局, 财政局)
OPENED_KEY = "water_supply"
OPENED_CUSTODIANS = ("operator1", "sup_fgj", "sup_czj")
#: the opened lot's bidders: (org, price as a share of the budget in ‰)
OPENED_OFFERS = (("b03", 962), ("b01", 975), ("b02", 981))
#: bidders of the opened lot confirming the record
CONFIRMING = ("b03", "b01")


def tonight_deadline(today: datetime) -> When:
    """About an hour after `today` (Beijing), on the next half hour; if that is past midnight, 09:30
    the next day (a deadline "later today" no longer exists)."""
    later = today + timedelta(minutes=60)
    minutes = (later.minute + 29) // 30 * 30
    at = later.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=minutes)
    if at.date() != today.date():
        return (1, 9, 30)
    return (0, at.hour, at.minute)


def tonight_spec(today: datetime) -> ProjectSpec:
    deadline = tonight_deadline(today)
    return ProjectSpec(
        TONIGHT_KEY, "agency1", TONIGHT_NAME, "works", "state_enterprise", "state_enterprise", 0,
        2_600_000, (("施工", 2_450_000),), "tender", "城区", ("示发改审批〔2026〕52号", "示范县发展和改革局"),
        "更换老城区DN100—DN300老旧供水管道约5.6公里，改造入户支管及水表井420处。", owner="chengtou",
        registered=(-34, 9, 30), submitted=(-33, 10, 0),
        reviews=(("accept", (-32, 15, 0), "材料齐全，予以受理。"),),
        # 30 days before the deadline (20 needed) and documents for 14 (5 needed): a holiday week that
        # pushes a period's last day on to the next working day still leaves the dates compliant
        notices=(NoticeSpec("announcement", (-30, 10, 0), f"{TONIGHT_NAME}招标公告",
                            {"docs_from": (-30, 10, 0), "docs_until": (-16, 17, 0), "objection_until": (-12, 17, 0),
                             "deadline_at": deadline, "opening_at": deadline},
                            "示范县公共资源交易平台不见面开标大厅"),))


def schedule_offers(story: Story) -> None:
    """Add the tonight tender and the sealed-offer steps to the story (before it runs)."""
    from .catalogue import PROJECTS

    story.schedule(tonight_spec(story.today), len(PROJECTS))
    for org, permille, days, when in TONIGHT_OFFERS:
        story.at(when, TONIGHT_KEY, f"递交「{TONIGHT_NAME}」投标文件（{story.people.orgs[org].name}）",
                 lambda o=org, p=permille, d=days: _offer(story, TONIGHT_KEY, o, p, d))
    water = next(s for s in PROJECTS if s.key == OPENED_KEY)
    deadline = water.notices[0].dates["deadline_at"]
    for n, (org, permille) in enumerate(OPENED_OFFERS):
        story.at((deadline[0] - 2 + n // 2, 9 + n * 3, 20), OPENED_KEY,
                 f"递交「{water.name}」比选申请文件（{story.people.orgs[org].name}）",
                 lambda o=org, p=permille: _offer(story, OPENED_KEY, o, p, 90))
    day, hour, minute = deadline
    for n, username in enumerate(OPENED_CUSTODIANS):
        story.at((day, hour, minute + 4 + 3 * n), OPENED_KEY, f"开标：保管人 {username} 提交密钥份额",
                 lambda u=username: _share(story, OPENED_KEY, u))
    for n, org in enumerate(CONFIRMING):
        story.at((day, hour, minute + 20 + 5 * n), OPENED_KEY, f"确认「{water.name}」开标记录",
                 lambda o=org: _confirm(story, OPENED_KEY, o))


def _lot_code(story: Story, key: str) -> str:
    return story.projects[key].lots[0].code


def _bidder(story: Story, org: str) -> str:
    return f"bidder{org[1:]}"


def price_sheet(price_fen: int, duration_days: int, remarks: str = "") -> bytes:
    """The price part's plaintext, exactly as the browser and the offline tool write it."""
    return json.dumps({"v": 1, "price_fen": price_fen, "duration_days": duration_days, "quality": "合格",
                       "remarks": remarks}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _offer(story: Story, key: str, org: str, permille: int, days: int) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from trading.accounts.signing_keys import register_signing_key
    from trading.procedures.common.participation import services as participation
    from trading.procedures.common.participation.completion import complete_submission
    from trading.sealing import envelope

    ctx = story.as_user(_bidder(story, org))
    code = _lot_code(story, key)
    signing = ec.generate_private_key(ec.SECP256R1())  # DEMO: the private half is not kept
    register_signing_key(ctx, public_raw=envelope.public_raw(signing.public_key()), label="投标文件制作工具（示范）",
                         source="tool")
    info = participation.sealing_info(ctx, code)
    participation.register_for_lot(ctx, code)
    sub = participation.start_submission(ctx, code, "price")
    price = story.projects[key].lots[0].budget_fen * permille // 1000
    manifest, payload = envelope.seal(
        price_sheet(price, days, "含税价"), envelope.Context(code, info["bidder_id"], "price", sub.submission_id),
        _opening_public(info), signing)
    participation.put_manifest(ctx, sub.submission_id, json.dumps(manifest).encode("utf-8"))
    chunk = sub.upload_chunk_bytes
    for i in range(0, max(len(payload), 1), chunk):
        participation.put_chunk(ctx, sub.submission_id, i // chunk, payload[i:i + chunk])
    complete_submission(ctx, sub.submission_id)


def _opening_public(info: dict):
    import base64

    from trading.sealing import envelope

    return envelope.load_public(base64.b64decode(info["opening_key"]["public"]))


def _share(story: Story, key: str, username: str) -> None:
    from trading.procedures.common.opening.services import submit_share

    from .people import demo_custodian_passphrase

    submit_share(story.as_user(username), _lot_code(story, key), demo_custodian_passphrase(username))


def _confirm(story: Story, key: str, org: str) -> None:
    from trading.procedures.common.opening.services import respond_to_record

    respond_to_record(story.as_user(_bidder(story, org)), _lot_code(story, key), "confirm")
