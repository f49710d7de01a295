"""The sealed-offer story end to end in real Chromium (issue 3, "Done when"): bidder A makes a signing
key in the browser, registers on the lot page, seals and uploads its price with the widget (progress
bar), downloads its receipt as PDF and JSON; bidder B seals and submits with the offline tool (a real
`python -m trading.sealing.tool submit` process against the live server, with an API token); bidder C
submits through the participation services; at the deadline three custodians of different
institutions sign in with two-factor and submit their passphrases on their custody pages; the opening
record and the hall show A's and B's prices; in Python both envelopes open with open_envelope (the
key rebuilt from the custodians' shares) to exactly the price sheets that were sealed."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import DESKTOP, PHONE, _new_page, login, logout, shot
from tests.factories.accounts import DEFAULT_PASSWORD, actor_ctx, make_user
from tests.factories.custodians import ensure_custodians
from tests.factories.notices import notice_project, published_notice
from trading.accounts.models import Organisation, User
from trading.core.context import ServiceContext
from trading.core.money import to_capitals
from trading.extensions import db
from trading.procedures.common.models import LotTrade
from trading.procedures.common.opening.models import CustodianShare, OpeningKey
from trading.sealing import envelope as E
from trading.sealing import receipts as R
from trading.sealing import tool

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SHEET_A = tool.price_sheet(98_765_432, 120, "合格", "含税价，质保两年")
SHEET_B = tool.price_sheet(101_234_500, 150, "合格", "离线工具制作")
SHEET_C = tool.price_sheet(99_900_000, 130, "合格", "")


@pytest.fixture
def flow(live_server):
    """A published tender lot (opening key split 3 of 5 among custodians of three institutions) and
    three bidder users; nothing registered or submitted yet."""
    with live_server.app.app_context():
        ctx = ServiceContext(session=db.session, clock=live_server.clock, ip="127.0.0.1")
        owner = make_user(ctx, "owner", username="flowowner")
        project = notice_project(ctx, owner, procedure="tender", name="示范县城北污水处理厂提标改造工程")
        published_notice(actor_ctx(db.session, live_server.clock, owner), project)
        trade = db.session.execute(select(LotTrade).where(LotTrade.project_id == project.id)).scalar_one()
        users = {name: make_user(ctx, "bidder", username=f"flow_{name}", display_name=f"投标员{name.upper()}")
                 for name in ("a", "b", "c")}
        key = db.session.execute(select(OpeningKey).where(OpeningKey.lot_id == trade.lot_id)).scalar_one()
        shares = {s.custodian_user_id: s for s in key.shares}
        people = [(u, p) for u, p in ensure_custodians(ctx) if u.id in shares]
        chosen, orgs = [], set()
        for user, passphrase in people:  # k custodians, each of another institution
            if user.org_id not in orgs and len(chosen) < key.k:
                chosen.append((user.username, user.totp_secret, passphrase))
                orgs.add(user.org_id)
        assert len(chosen) == key.k == 3
        world = {"code": trade.lot_code, "deadline": trade.deadline_at, "custodians": chosen,
                 "passphrases": {u.id: p for u, p in people},
                 "orgs": {n: (u.organisation.name, u.organisation.credit_code) for n, u in users.items()}}
        db.session.commit()
        db.session.remove()
    return world


def _progress_watch(page) -> None:
    """Record every value the widget's <progress> takes (it is replaced only when the page reloads)."""
    page.evaluate("""() => {
        window.__progress = [];
        const bar = document.querySelector('#seal-price [data-testid="upload-progress"]');
        window.__progress.push(Number(bar.value));
        new MutationObserver(() => window.__progress.push(Number(bar.value)))
            .observe(bar, { attributes: true, attributeFilter: ["value", "max"] });
        const read = () => { const v = Number(bar.value);
            if (window.__progress[window.__progress.length - 1] !== v) window.__progress.push(v); };
        window.__progressTimer = setInterval(read, 5);
    }""")


def _make_browser_key(page, tmp_path: Path) -> str:
    page.goto("/keys/")
    page.get_by_label("密钥名称").first.fill("投标部电脑")
    page.get_by_label("备份口令（可选，至少 10 个字符）").fill("correct horse battery")
    page.get_by_label("再次输入备份口令").fill("correct horse battery")
    with page.expect_download(timeout=60_000) as download:
        page.get_by_test_id("generate-key").click()
    download.value.save_as(tmp_path / "backup.json")
    fingerprint = page.get_by_test_id("new-fingerprint")
    expect(fingerprint).to_be_visible(timeout=30_000)
    return fingerprint.inner_text().replace(" ", "")


def _verify_receipt(live_server, answer: dict) -> dict:
    import urllib.request

    with urllib.request.urlopen(f"{live_server.url}/api/v1/receipt-key") as resp:
        key = json.loads(resp.read())
    assert R.verify(base64.b64decode(key["public"]), answer["receipt"], base64.b64decode(answer["signature"]))
    return answer["receipt"]


def _submit_through_services(live_server, code: str, username: str, sheet: bytes) -> None:
    """Bidder C: register → start → manifest → chunk → complete, the services the API calls."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from trading.accounts.signing_keys import register_signing_key
    from trading.procedures.common.participation import services as participation
    from trading.procedures.common.participation.completion import complete_submission

    with live_server.app.app_context():
        user = db.session.execute(select(User).where(User.username == username)).scalar_one()
        uctx = actor_ctx(db.session, live_server.clock, user)
        signing = ec.generate_private_key(ec.SECP256R1())
        register_signing_key(uctx, public_raw=E.public_raw(signing.public_key()), label="services", source="tool")
        info = participation.sealing_info(uctx, code)
        participation.register_for_lot(uctx, info["lot_id"])
        sub = participation.start_submission(uctx, info["lot_id"], "price")
        manifest, payload = E.seal(sheet, E.Context(info["lot_id"], info["bidder_id"], "price", sub.submission_id),
                                   E.load_public(base64.b64decode(info["opening_key"]["public"])), signing)
        participation.put_manifest(uctx, sub.submission_id, json.dumps(manifest).encode())
        participation.put_chunk(uctx, sub.submission_id, 0, payload)
        receipt, created = complete_submission(uctx, sub.submission_id)
        assert created
        db.session.commit()
        db.session.remove()


def test_sealed_offer_from_browser_and_cli_to_the_opening_record(browser, live_server, flow, tmp_path, request,
                                                                  problems):
    code = flow["code"]
    # --- (a) bidder A in the browser -----------------------------------------------------------------
    page = _new_page(browser, live_server, DESKTOP, request, problems)
    login(page, live_server, "flow_a", password=DEFAULT_PASSWORD)
    fingerprint_a = _make_browser_key(page, tmp_path)
    shot(page, "flow-01-key-made")
    page.goto(f"/offers/lots/{code}")
    page.get_by_test_id("register").click()
    expect(page.get_by_test_id("registered")).to_be_visible()
    card = page.locator("#seal-price")
    expect(card.get_by_label("签名密钥")).to_contain_text("投标部电脑")
    card.get_by_label("投标报价（元）").fill("987,654.32")
    card.get_by_label("工期（日历天）").fill("120")
    card.get_by_label("质量标准").fill("合格")
    card.get_by_label("备注").fill("含税价，质保两年")
    shot(page, "flow-02-lot-page-filled")
    _progress_watch(page)
    card.get_by_test_id("seal-price").click()
    expect(card.get_by_test_id("receipt-sha256")).to_have_text(re.compile(r"^[0-9a-f]{64}$"), timeout=30_000)
    progress = card.get_by_test_id("upload-progress")
    expect(progress).to_have_attribute("value", "100")
    seen = page.evaluate("() => { clearInterval(window.__progressTimer); return window.__progress; }")
    assert seen[0] < 100 and seen[-1] == 100 and len(set(seen)) >= 2, seen  # the bar moved and finished
    expect(card.get_by_test_id("receipt-verified")).to_contain_text("回执签名已用平台回执公钥验证")
    expect(card.get_by_test_id("receipt-time")).to_contain_text("北京时间")
    shot(page, "flow-03-receipt")
    sid_a = card.get_by_test_id("receipt-sid").inner_text()
    pdf = page.request.get(card.get_by_test_id("receipt-pdf").get_attribute("href"))
    assert pdf.status == 200 and pdf.headers["content-type"].startswith("application/pdf")
    assert pdf.body().startswith(b"%PDF")
    with page.expect_download() as download:
        card.get_by_role("button", name="下载回执 JSON").click()
    saved = tmp_path / "receipt-a.json"
    download.value.save_as(saved)
    receipt_a = _verify_receipt(live_server, json.loads(saved.read_text(encoding="utf-8")))
    assert (receipt_a["lot_id"], receipt_a["part"], receipt_a["submission_id"]) == (code, "price", sid_a)
    assert receipt_a["bidder_id"] == flow["orgs"]["a"][1] and receipt_a["kind"] == "submitted"
    page.reload()
    expect(page.get_by_test_id("accepted-price")).to_contain_text("已递交")
    shot(page, "flow-04-lot-page-accepted")
    logout(page)

    # --- (b) bidder B with the offline tool, a separate process over HTTP ------------------------------
    from trading.accounts import services as accounts
    from trading.accounts.signing_keys import public_raw_from_pem, register_signing_key

    key_path = tmp_path / "b-key.pem"
    run = subprocess.run([sys.executable, "-m", "trading.sealing.tool", "keygen", "--out", str(key_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    with live_server.app.app_context():
        user_b = db.session.execute(select(User).where(User.username == "flow_b")).scalar_one()
        bctx = actor_ctx(db.session, live_server.clock, user_b)
        register_signing_key(bctx, public_raw=public_raw_from_pem(tool.public_pem_path(key_path).read_text()),
                             label="投标文件制作工具", source="tool")
        _, token = accounts.create_api_token(bctx, name="制作工具")
        db.session.commit()
        db.session.remove()
    receipts_dir = tmp_path / "receipts-b"
    run = subprocess.run([sys.executable, "-m", "trading.sealing.tool", "submit", "--api", f"{live_server.url}/api/v1",
                          "--key", str(key_path), "--lot", code, "--price-yuan", "1012345.00",
                          "--duration-days", "150", "--quality", "合格", "--remarks", "离线工具制作",
                          "--work", str(tmp_path / "work-b"), "--receipts", str(receipts_dir)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={"PTBID_TOKEN": token, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stdout + run.stderr
    [saved_b] = receipts_dir.glob("receipt-*-price-*.json")
    receipt_b = _verify_receipt(live_server, json.loads(saved_b.read_text(encoding="utf-8")))
    assert receipt_b["bidder_id"] == flow["orgs"]["b"][1] and receipt_b["lot_id"] == code

    # --- (c) bidder C through the services: the lot reaches its minimum of three offers ---------------
    _submit_through_services(live_server, code, "flow_c", SHEET_C)

    # --- (d) the deadline passes; three custodians of three institutions unlock in Chromium ------------
    live_server.clock.set(flow["deadline"] + timedelta(minutes=1))
    custodian = _new_page(browser, live_server, DESKTOP, request, problems)
    for i, (username, secret, passphrase) in enumerate(flow["custodians"], start=1):
        login(custodian, live_server, username, password=DEFAULT_PASSWORD, totp_secret=secret)
        custodian.goto(f"/opening/custody/{code}")
        custodian.get_by_label("保管口令").fill(passphrase)
        if i == 1:
            shot(custodian, "flow-05-custodian-share-form")
        custodian.get_by_role("button", name="提交份额").click()
        custodian.wait_for_load_state()
        if i < len(flow["custodians"]):
            expect(custodian.get_by_role("alert").filter(has_text="份额已接受")).to_be_visible()
            expect(custodian.get_by_test_id("custody-progress")).to_contain_text(f"{i} / 3")
            logout(custodian)
    expect(custodian.get_by_role("alert").filter(has_text="开标完成")).to_be_visible()

    # --- (e) the opening record and the hall show the browser's and the tool's prices -------------------
    assert custodian.url.endswith(f"/opening/{code}/record")
    table = custodian.get_by_test_id("record-table")
    expect(table).to_contain_text("987,654.32")
    expect(table).to_contain_text("1,012,345.00")
    expect(table).to_contain_text(to_capitals(98_765_432))  # the printable record's 大写
    expect(table).to_contain_text(to_capitals(101_234_500))
    expect(custodian.get_by_test_id("record-valid")).to_contain_text("3")
    shot(custodian, "flow-06-record")
    logout(custodian)

    login(page, live_server, "flow_a", password=DEFAULT_PASSWORD)
    page.goto(f"/opening/{code}/hall")
    expect(page.get_by_test_id("hall-conn")).to_have_attribute("data-state", "live")
    expect(page.get_by_test_id("record-row")).to_have_count(3)
    hall_table = page.get_by_test_id("record-table")
    expect(hall_table).to_contain_text("987,654.32")
    expect(hall_table).to_contain_text("1,012,345.00")
    expect(hall_table).to_contain_text(flow["orgs"]["a"][0])
    shot(page, "flow-07-hall-record")
    page.goto(f"/opening/{code}/record")
    expect(page.get_by_test_id("record-table")).to_contain_text("987,654.32")

    phone = _new_page(browser, live_server, PHONE, request, problems)
    login(phone, live_server, "flow_b", password=DEFAULT_PASSWORD)
    phone.goto(f"/opening/{code}/record")
    expect(phone.get_by_test_id("record-table")).to_contain_text("1,012,345.00")
    shot(phone, "flow-08-record-phone")

    # --- (f) in Python: each stored envelope opens with open_envelope to the sheet that was sealed ------
    _open_in_python(live_server, flow, {"a": (SHEET_A, fingerprint_a), "b": (SHEET_B, None)})


def _open_in_python(live_server, flow, expected: dict) -> None:
    from trading.accounts import custodians as custody
    from trading.accounts.models import CustodianKey, SigningKey
    from trading.core.blobs import get_store
    from trading.procedures.common.participation.models import Submission
    from trading.sealing import custodian as sealing_custodian
    from trading.sealing import shamir

    with live_server.app.app_context():
        trade = db.session.execute(select(LotTrade).where(LotTrade.lot_code == flow["code"])).scalar_one()
        key = db.session.execute(select(OpeningKey).where(OpeningKey.lot_id == trade.lot_id)).scalar_one()
        shares = list(db.session.execute(select(CustodianShare).where(CustodianShare.opening_key_id == key.id)
                                         .order_by(CustodianShare.x)).scalars())
        assert all(s.accepted_y is None for s in shares)  # wiped after the opening
        opened = []
        for s in shares[:key.k]:  # the custodians' own passphrases unseal their shares again
            material = custody.custodian_material(db.session.get(CustodianKey, s.custodian_key_id))
            opened.append((s.x, sealing_custodian.unseal_share(
                s.sealed_share, flow["passphrases"][s.custodian_user_id], material, lot_code=trade.lot_code,
                index=s.x, custodian_id=s.custodian_user_id)))
        private = shamir.rebuild_private_key(opened, [bytes(s.commitment) for s in shares], key.k,
                                             bytes(key.public_raw))
        for name, (sheet, fingerprint) in expected.items():
            _, credit_code = flow["orgs"][name]
            org = db.session.execute(select(Organisation).where(Organisation.credit_code == credit_code)).scalar_one()
            sub = db.session.execute(select(Submission).where(
                Submission.bidder_org_id == org.id, Submission.status == "accepted")).scalar_one()
            signer = db.session.get(SigningKey, sub.signing_key_id)
            if fingerprint is not None:
                assert (signer.source, signer.fingerprint) == ("browser", fingerprint)
            plain = E.open_envelope(sub.manifest, get_store().read(sub.payload_sha256), private,
                                    signer_pub=E.load_public(bytes(signer.public_raw)),
                                    expected=E.Context(trade.lot_code, credit_code, "price", sub.submission_id),
                                    opening_kid=bytes(key.kid))
            assert plain == sheet, name
        db.session.remove()


def test_the_demo_opens_its_tender_at_tonights_deadline(browser, demo_server, request, problems):
    """`make run`'s promise: the demo's opened 比选 lot shows its record; the tender closing later today
    has four sealed offers; at its deadline operator1, sup_fgj and sup_czj (three institutions) submit
    their documented passphrases and the record lists the four prices."""
    from trading.demo.offers import OPENED_CUSTODIANS, TONIGHT_NAME, TONIGHT_OFFERS
    from trading.demo.people import demo_custodian_passphrase, demo_totp_secret
    from trading.projects.models import Project

    with demo_server.app.app_context():
        def lot_of(name):
            return db.session.execute(select(LotTrade).join(Project, Project.id == LotTrade.project_id)
                                      .where(Project.name == name)).scalar_one()
        tonight, opened = lot_of(TONIGHT_NAME), lot_of("龙泉镇农村饮水安全巩固提升工程")
        codes, deadline = (tonight.lot_code, opened.lot_code), tonight.deadline_at
        db.session.remove()
    page = _new_page(browser, demo_server, DESKTOP, request, problems)
    login(page, demo_server, "bidder03")
    page.goto(f"/opening/{codes[1]}/record")
    expect(page.get_by_test_id("record-table")).to_contain_text("923,520.00")
    expect(page.get_by_test_id("record-valid")).to_contain_text("3")
    shot(page, "flow-10-demo-opened-record")
    page.goto(f"/opening/{codes[0]}/hall")
    expect(page.get_by_test_id("hall-stage")).to_have_text("等待开标")
    shot(page, "flow-11-demo-hall-before-deadline")
    logout(page)

    demo_server.clock.set(deadline + timedelta(seconds=20))
    for username in OPENED_CUSTODIANS:
        login(page, demo_server, username, totp_secret=demo_totp_secret(username))
        page.goto(f"/opening/custody/{codes[0]}")
        page.get_by_label("保管口令").fill(demo_custodian_passphrase(username))
        page.get_by_role("button", name="提交份额").click()
        page.wait_for_load_state()
        if username != OPENED_CUSTODIANS[-1]:
            expect(page.get_by_role("alert").filter(has_text="份额已接受")).to_be_visible()
            logout(page)
    expect(page.get_by_role("alert").filter(has_text="开标完成")).to_be_visible()
    expect(page.get_by_test_id("record-valid")).to_contain_text(str(len(TONIGHT_OFFERS)))
    shot(page, "flow-12-demo-tonight-record")
    page.goto(f"/opening/{codes[0]}/hall")
    expect(page.get_by_test_id("record-row")).to_have_count(len(TONIGHT_OFFERS))
    shot(page, "flow-13-demo-tonight-hall")
