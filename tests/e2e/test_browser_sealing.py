"""Sealing in real Chromium: a bidder makes a signing key on the 签名密钥 page (non-extractable in
IndexedDB, with a passphrase backup file), restores it from the backup in a fresh browser, seals a price
sheet with envelope.js that opens in Python with open_envelope, reproduces the vectors' payloads and
to_be_signed, opens Python-sealed envelopes in the browser, and uploads through the offer widget
with a progress bar to a signed receipt."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import DESKTOP, _new_page, login, shot
from tests.factories.accounts import DEFAULT_PASSWORD, actor_ctx, make_user
from trading.accounts.models import Organisation, SigningKey
from trading.core.web import cli_context
from trading.extensions import db
from trading.sealing import envelope as E
from trading.sealing import tool

pytestmark = pytest.mark.e2e

VECTORS = Path("/work/shared/data/ptbid-v1-vectors.json")
SHEET = tool.price_sheet(98_765_432, 120, "合格", "含税价，质保两年")


@dataclass
class World:
    lot_code: str
    credit_code: str
    username: str
    opening_private: ec.EllipticCurvePrivateKey


@pytest.fixture
def world(live_server):
    """A sealed lot accepting offers (its opening private key kept by the test) and a registered bidder."""
    from tests.factories.offers import sealed_lot
    from tests.factories.projects import ensure_calendar
    from trading.procedures.common.participation import services as participation

    with live_server.app.app_context():
        ctx = cli_context()
        ensure_calendar(ctx)
        lot = sealed_lot(ctx)
        user = make_user(ctx, "bidder", username="sealer01", display_name="示范建筑 投标员")
        participation.register_for_lot(actor_ctx(ctx.session, ctx.clock, user), lot.code)
        org = ctx.session.get(Organisation, user.org_id)
        out = World(lot.code, org.credit_code, user.username, lot.opening_private)
        db.session.commit()
        db.session.remove()
    return out


@pytest.fixture
def bidder_page(browser, live_server, request, problems):
    return _new_page(browser, live_server, DESKTOP, request, problems)


def _registered_keys(live_server) -> list[SigningKey]:
    with live_server.app.app_context():
        rows = list(db.session.execute(select(SigningKey).order_by(SigningKey.id)).scalars())
        db.session.expunge_all()
        db.session.remove()
    return rows


def _make_key_in_browser(page, live_server, tmp_path: Path) -> tuple[SigningKey, Path]:
    page.goto("/keys/")
    expect(page.get_by_role("heading", name="签名密钥", exact=True)).to_be_visible()
    page.get_by_label("密钥名称").first.fill("投标部电脑")
    page.get_by_label("备份口令（可选，至少 10 个字符）").fill("correct horse battery")
    page.get_by_label("再次输入备份口令").fill("correct horse battery")
    with page.expect_download(timeout=60_000) as download:
        page.get_by_test_id("generate-key").click()
    backup = tmp_path / "backup.json"
    download.value.save_as(backup)
    fingerprint = page.get_by_test_id("new-fingerprint")
    expect(fingerprint).to_be_visible(timeout=30_000)
    [key] = _registered_keys(live_server)
    assert fingerprint.inner_text().replace(" ", "") == key.fingerprint
    assert (key.source, key.label) == ("browser", "投标部电脑")
    row = page.locator(f'tr[data-kid="{E.b64(key.kid)}"]')
    expect(row).to_contain_text("本浏览器持有")
    return key, backup


def _seal_in_browser(page, world: World, sid: str, plaintext: bytes) -> dict:
    return page.evaluate("""async ({openingPub, ctx, plaintext}) => {
        const E = await import("/static/js/sealing/envelope.js");
        const S = await import("/static/js/sealing/keystore.js");
        const { hpke } = await import("/static/vendor/sealing-deps.js");
        const [k] = await S.listKeys();
        const out = await E.seal({ hpke, plaintext: E.unb64(plaintext), ctx, openingPublic: E.unb64(openingPub),
                                   signingKey: k.privateKey, signingPublic: k.publicRaw });
        let exported = "refused";
        try { await crypto.subtle.exportKey("pkcs8", k.privateKey); exported = "exported"; } catch (e) { }
        return { manifest: new TextDecoder().decode(out.manifestBytes), payload: E.b64(out.payload),
                 extractable: k.privateKey.extractable, exported };
    }""", {"openingPub": E.b64(E.public_raw(world.opening_private.public_key())),
           "ctx": {"lot_id": world.lot_code, "bidder_id": world.credit_code, "part": "price", "submission_id": sid},
           "plaintext": E.b64(plaintext)})


def test_browser_key_seals_an_envelope_python_opens(bidder_page, live_server, world, tmp_path):
    page = bidder_page
    login(page, live_server, world.username, password=DEFAULT_PASSWORD)
    key, backup = _make_key_in_browser(page, live_server, tmp_path)
    shot(page, "keys-01-generated")

    backup_obj = json.loads(backup.read_text())
    assert backup_obj["kdf"]["iterations"] >= 600_000 and backup_obj["fingerprint"] == key.fingerprint
    assert "pkcs8" not in backup.read_text().lower().replace("ciphertext", "")

    sid = "e2e-Sub_01.x"
    out = _seal_in_browser(page, world, sid, SHEET)
    assert out["extractable"] is False and out["exported"] == "refused"
    signer = E.load_public(key.public_raw)
    plain = E.open_envelope(out["manifest"], base64.b64decode(out["payload"]), world.opening_private,
                            signer_pub=signer, expected=E.Context(world.lot_code, world.credit_code, "price", sid),
                            opening_kid=E.kid(world.opening_private.public_key()))
    assert plain == SHEET
    # bound to its context: the same bytes are refused for another submission
    with pytest.raises(E.EnvelopeError):
        E.open_envelope(out["manifest"], base64.b64decode(out["payload"]), world.opening_private, signer_pub=signer,
                        expected=E.Context(world.lot_code, world.credit_code, "price", "other"))


def test_backup_restores_into_a_fresh_browser(browser, live_server, world, tmp_path, request, problems):
    first = _new_page(browser, live_server, DESKTOP, request, problems)
    login(first, live_server, world.username, password=DEFAULT_PASSWORD)
    key, backup = _make_key_in_browser(first, live_server, tmp_path)

    fresh = _new_page(browser, live_server, DESKTOP, request, problems)  # its own, empty IndexedDB
    login(fresh, live_server, world.username, password=DEFAULT_PASSWORD)
    fresh.goto("/keys/")
    row = fresh.locator(f'tr[data-kid="{E.b64(key.kid)}"]')
    expect(row.locator("[data-held-badge]")).to_be_hidden()
    fresh.get_by_label("备份文件").set_input_files(str(backup))
    fresh.get_by_label("备份口令", exact=True).fill("wrong passphrase!")
    fresh.locator("[data-restore-form] button[type=submit]").click()
    expect(fresh.locator("[data-restore-status]")).to_contain_text("口令错误", timeout=30_000)
    fresh.get_by_label("备份文件").set_input_files(str(backup))
    fresh.get_by_label("备份口令", exact=True).fill("correct horse battery")
    fresh.locator("[data-restore-form] button[type=submit]").click()
    expect(fresh.locator("[data-restore-status]")).to_contain_text("已从备份恢复", timeout=30_000)
    expect(row.locator("[data-held-badge]")).to_be_visible()
    assert len(_registered_keys(live_server)) == 1  # the same key, not a second registration
    shot(fresh, "keys-02-restored")
    out = _seal_in_browser(fresh, world, "restored-1", SHEET)
    assert E.open_envelope(out["manifest"], base64.b64decode(out["payload"]), world.opening_private,
                           signer_pub=E.load_public(key.public_raw)) == SHEET


def test_vectors_and_python_sealed_envelopes_in_the_browser(bidder_page, live_server, world, tmp_path):
    """envelope.js reproduces every vector's payload and to_be_signed, and opens what Python sealed
    (the vectors and a fresh envelope from the offline tool's code path)."""
    if not VECTORS.exists():
        pytest.skip("vectors file not present")
    page = bidder_page
    login(page, live_server, world.username, password=DEFAULT_PASSWORD)
    page.goto("/keys/")
    vectors = json.loads(VECTORS.read_text())
    signer = ec.generate_private_key(ec.SECP256R1())
    opening = world.opening_private
    ctx = E.Context(world.lot_code, world.credit_code, "documents", "py-sealed-1")
    documents = tool.zip_folder(Path(__file__).parent / "conftest.py")
    manifest, payload = E.seal(documents, ctx, opening.public_key(), signer, chunk_log2=10)
    d_raw = opening.private_numbers().private_value.to_bytes(32, "big")
    result = page.evaluate("""async ({V, py}) => {
        const E = await import("/static/js/sealing/envelope.js");
        const { hpke } = await import("/static/vendor/sealing-deps.js");
        const H = E.fromHex, out = [];
        for (const env of V.envelopes) {
          const i = env.inputs, m = env.intermediate;
          const ctx = { lot_id: i.lot_id, bidder_id: i.bidder_id, part: i.part, submission_id: i.submission_id };
          const context = E.contextBytes(ctx);
          const payload = await E.encryptPayload(H(i.plaintext_hex), H(i.dek_hex), context, i.chunk_log2,
                                                 H(i.nonce_prefix_hex));
          const recips = env.manifest.recipients.map((r) => ({ role: r.role, kid: E.unb64(r.kid), wrap: E.unb64(r.wrap) }));
          const tbs = await E.toBeSigned(context, H(m.payload_sha256_hex), recips, H(m.signer_kid_hex));
          const opened = await E.openEnvelope({ hpke, manifestBytes: new TextEncoder().encode(JSON.stringify(env.manifest)),
            payload: H(env.payload_hex), recipientPrivate: H(V.keys.opening.d_hex),
            signerPublic: H(V.keys.bidder_signing.pub_raw_hex) });
          out.push({ name: env.name, payload: E.hex(payload) === env.payload_hex, tbs: E.hex(tbs) === m.to_be_signed_hex,
                     opened: E.hex(opened) === i.plaintext_hex });
        }
        const pyOpened = await E.openEnvelope({ hpke, manifestBytes: new TextEncoder().encode(py.manifest),
          payload: E.unb64(py.payload), recipientPrivate: E.unb64(py.d), signerPublic: E.unb64(py.signer) });
        let tampered = "accepted";
        const bad = E.unb64(py.payload); bad[bad.length - 1] ^= 1;
        try { await E.openEnvelope({ hpke, manifestBytes: new TextEncoder().encode(py.manifest), payload: bad,
              recipientPrivate: E.unb64(py.d), signerPublic: E.unb64(py.signer) }); } catch (e) { tampered = e.message; }
        return { vectors: out, py: E.b64(pyOpened), tampered };
    }""", {"V": vectors, "py": {"manifest": json.dumps(manifest), "payload": E.b64(payload), "d": E.b64(d_raw),
                                "signer": E.b64(E.public_raw(signer.public_key()))}})
    assert result["vectors"] and all(v["payload"] and v["tbs"] and v["opened"] for v in result["vectors"]), result
    assert base64.b64decode(result["py"]) == documents
    assert result["tampered"].startswith("PayloadDigestMismatch")


def test_offer_widget_seals_uploads_with_progress_and_shows_the_receipt(bidder_page, live_server, world, tmp_path):
    """The full flow: key → the data-seal-app widget (mounted here on the keys page, as PARTICIPATION's
    offer page mounts it) → seal → chunked upload with a progress bar → receipt; the accepted envelope
    opens in Python to the typed price sheet."""
    page = bidder_page
    login(page, live_server, world.username, password=DEFAULT_PASSWORD)
    key, _ = _make_key_in_browser(page, live_server, tmp_path)
    page.evaluate("""async (lot) => {
        const div = document.createElement("div");
        div.setAttribute("data-seal-app", "");
        div.dataset.lot = lot; div.dataset.part = "price"; div.dataset.api = "/api/v1";
        div.id = "widget";
        document.querySelector("main").prepend(div);
        await import("/static/js/sealing/offer.js");
    }""", world.lot_code)
    widget = page.locator("#widget")
    expect(widget.get_by_label("签名密钥")).to_contain_text("投标部电脑")
    widget.get_by_label("投标报价（元）").fill("987,654.32")
    widget.get_by_label("工期（日历天）").fill("120")
    widget.get_by_label("质量标准").fill("合格")
    widget.get_by_label("备注").fill("含税价，质保两年")
    widget.get_by_test_id("seal-price").click()
    receipt = widget.get_by_test_id("receipt")
    expect(receipt.get_by_test_id("receipt-sha256")).to_have_text(re.compile(r"^[0-9a-f]{64}$"), timeout=30_000)
    expect(widget.get_by_test_id("upload-progress")).to_have_attribute("value", "100")
    expect(receipt.get_by_test_id("receipt-time")).to_contain_text("北京时间")
    expect(receipt.get_by_test_id("receipt-pdf")).to_have_attribute("href", re.compile(r"^/offers/receipts/.+\.pdf$"))
    expect(receipt.get_by_test_id("receipt-verified")).to_contain_text("回执签名已用平台回执公钥验证")
    shot(page, "offer-01-receipt")

    from trading.core.blobs import get_store
    from trading.procedures.common.participation.models import Submission

    with live_server.app.app_context():
        sub = db.session.execute(select(Submission).where(Submission.status == "accepted")).scalar_one()
        payload = get_store().read(sub.payload_sha256)
        manifest, sid, digest = sub.manifest, sub.submission_id, sub.payload_sha256
        db.session.remove()
    assert receipt.get_by_test_id("receipt-sid").inner_text() == sid
    assert receipt.get_by_test_id("receipt-sha256").inner_text() == digest
    plain = E.open_envelope(manifest, payload, world.opening_private, signer_pub=E.load_public(key.public_raw),
                            expected=E.Context(world.lot_code, world.credit_code, "price", sid))
    assert plain == SHEET  # "987,654.32" → 98765432 fen, by string parsing


def test_documents_widget_zips_files_and_uploads_in_chunks(bidder_page, live_server, world, tmp_path):
    """Several files → fflate zipSync → sealed → more than one 1 MiB upload chunk → receipt; the ZIP
    that Python opens holds the files byte for byte."""
    import io
    import os
    import zipfile

    page = bidder_page
    login(page, live_server, world.username, password=DEFAULT_PASSWORD)
    key, _ = _make_key_in_browser(page, live_server, tmp_path)
    files = {"商务标.pdf": os.urandom(1_300_000), "技术方案.docx": b"tech " * 2000}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    page.evaluate("""async (lot) => {
        const div = document.createElement("div");
        div.setAttribute("data-seal-app", "");
        div.dataset.lot = lot; div.dataset.part = "documents"; div.dataset.api = "/api/v1";
        div.id = "widget";
        document.querySelector("main").prepend(div);
        await import("/static/js/sealing/offer.js");
    }""", world.lot_code)
    widget = page.locator("#widget")
    widget.get_by_label(re.compile("投标文件")).set_input_files([str(tmp_path / n) for n in files])
    expect(widget).to_contain_text("商务标.pdf")
    widget.get_by_test_id("seal-documents").click()
    expect(widget.get_by_test_id("receipt-sha256")).to_have_text(re.compile(r"^[0-9a-f]{64}$"), timeout=60_000)
    shot(page, "offer-02-documents-receipt")

    from trading.core.blobs import get_store
    from trading.procedures.common.participation.models import Submission

    with live_server.app.app_context():
        sub = db.session.execute(select(Submission).where(Submission.status == "accepted")).scalar_one()
        payload, manifest = get_store().read(sub.payload_sha256), sub.manifest
        db.session.remove()
    assert len(payload) > 1024 * 1024  # went up in more than one upload chunk
    plain = E.open_envelope(manifest, payload, world.opening_private, signer_pub=E.load_public(key.public_raw))
    with zipfile.ZipFile(io.BytesIO(plain)) as zf:
        assert {n: zf.read(n) for n in zf.namelist()} == files


def test_full_flow_on_the_offer_page(bidder_page, live_server, world, tmp_path):
    """PARTICIPATION's lot page mounts the widget: key → seal → upload with progress → receipt (PDF
    served) → the page shows the sealed offer; the envelope opens in Python after the deadline."""
    page = bidder_page
    login(page, live_server, world.username, password=DEFAULT_PASSWORD)
    key, _ = _make_key_in_browser(page, live_server, tmp_path)
    page.goto(f"/offers/lots/{world.lot_code}")
    card = page.locator("#seal-price")
    card.get_by_label("投标报价（元）").fill("987654.32")
    card.get_by_label("工期（日历天）").fill("120")
    card.get_by_label("质量标准").fill("合格")
    card.get_by_label("备注").fill("含税价，质保两年")
    progress = card.get_by_test_id("upload-progress")
    card.get_by_test_id("seal-price").click()
    expect(card.get_by_test_id("receipt-sha256")).to_have_text(re.compile(r"^[0-9a-f]{64}$"), timeout=30_000)
    expect(progress).to_have_attribute("value", "100")
    expect(card.get_by_test_id("receipt-verified")).to_contain_text("回执签名已用平台回执公钥验证")
    shot(page, "offer-03-lot-page-receipt")
    pdf = page.request.get(card.get_by_test_id("receipt-pdf").get_attribute("href"))
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")

    page.reload()
    expect(page.get_by_test_id("accepted-price")).to_contain_text("已递交")
    shot(page, "offer-04-lot-page-accepted")

    from trading.core.blobs import get_store
    from trading.procedures.common.participation.models import Submission

    with live_server.app.app_context():
        sub = db.session.execute(select(Submission).where(Submission.status == "accepted")).scalar_one()
        payload, manifest, sid = get_store().read(sub.payload_sha256), sub.manifest, sub.submission_id
        db.session.remove()
    plain = E.open_envelope(manifest, payload, world.opening_private, signer_pub=E.load_public(key.public_raw),
                            expected=E.Context(world.lot_code, world.credit_code, "price", sid),
                            opening_kid=E.kid(world.opening_private.public_key()))
    assert plain == SHEET


MOUNT_DOCUMENTS = """async (lot) => {
    const div = document.createElement("div");
    div.setAttribute("data-seal-app", "");
    Object.assign(div.dataset, { lot, part: "documents", api: "/api/v1", retries: "1" });
    div.id = "widget";
    document.querySelector("main").prepend(div);
    const offer = await import("/static/js/sealing/offer.js");
    await offer.mountAll();  // a second import is cached and mounts nothing by itself
}"""


def test_widget_retries_a_chunk_and_resumes_after_the_line_drops(bidder_page, live_server, world, tmp_path):
    """A chunk whose request fails is sent again; when the retries run out the widget offers 继续上传 —
    also after the page is reloaded — which asks the server which chunks arrived and sends only the
    missing one."""
    import os

    page = bidder_page
    login(page, live_server, world.username, password=DEFAULT_PASSWORD)
    _make_key_in_browser(page, live_server, tmp_path)
    (tmp_path / "big.bin").write_bytes(os.urandom(1_500_000))  # two 1 MiB upload chunks
    page.evaluate(MOUNT_DOCUMENTS, world.lot_code)
    failures = {"chunks/0": 1, "chunks/1": 2}  # chunk 0: one failure (retried); chunk 1: more than the retries
    reached: list[str] = []

    def flaky(route):
        name = route.request.url.split("/submissions/")[1].split("/", 1)[1]
        if failures.get(name, 0) > 0:
            failures[name] -= 1
            return route.abort("connectionreset")
        reached.append(name)
        return route.continue_()
    page.route(re.compile(r".*/api/v1/submissions/[^/]+/chunks/\d+$"), flaky)
    widget = page.locator("#widget")
    widget.get_by_label(re.compile("投标文件")).set_input_files(str(tmp_path / "big.bin"))
    widget.get_by_test_id("seal-documents").click()
    resume = widget.get_by_role("button", name="继续上传")
    expect(resume).to_be_visible(timeout=30_000)
    assert reached == ["chunks/0"]
    expect(widget.get_by_role("status")).to_contain_text("网络中断")
    shot(page, "offer-05-interrupted")
    # the page is closed and opened again: the sealed envelope waited in IndexedDB
    page.reload()
    page.evaluate(MOUNT_DOCUMENTS, world.lot_code)
    expect(widget.get_by_role("status")).to_contain_text("尚未完成")
    resume.click()
    expect(widget.get_by_test_id("receipt-sha256")).to_have_text(re.compile(r"^[0-9a-f]{64}$"), timeout=30_000)
    assert reached == ["chunks/0", "chunks/1"]  # chunk 0 was not sent again
    expect(resume).to_be_hidden()


def test_keys_page_on_a_phone(browser, live_server, world, tmp_path, request, problems):
    from tests.e2e.conftest import PHONE

    phone = _new_page(browser, live_server, PHONE, request, problems)
    login(phone, live_server, world.username, password=DEFAULT_PASSWORD)
    key, _ = _make_key_in_browser(phone, live_server, tmp_path)
    expect(phone.get_by_test_id("generate-key")).to_be_visible()
    shot(phone, "keys-03-phone")
    wide = phone.evaluate("""() => { let best = [0, ""];
        for (const e of document.querySelectorAll("body *")) {
          const r = e.getBoundingClientRect();
          if (r.right > best[0]) best = [Math.round(r.right), `${e.tagName}.${e.className}`];
        }
        return best; }""")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone: {wide}"
    # revoke with a reason, on the phone
    row = phone.locator(f'tr[data-kid="{E.b64(key.kid)}"]')
    row.get_by_text("吊销…").click()
    row.get_by_label("吊销原因").fill("手机丢失")
    row.get_by_role("button", name="确认吊销").click()
    expect(phone.locator(f'tr[data-kid="{E.b64(key.kid)}"]')).to_contain_text("已吊销")
    [revoked] = _registered_keys(live_server)
    assert revoked.revoke_reason == "手机丢失" and revoked.revoked_at is not None


def test_browser_and_cli_price_sheets_are_the_same_bytes(bidder_page, live_server, world):
    """offer.js and the offline tool parse yuan by string and write the same price-sheet bytes."""
    page = bidder_page
    login(page, live_server, world.username, password=DEFAULT_PASSWORD)
    page.goto("/keys/")
    texts = ["123456.78", "0.01", "1,234.5", "100", " 7.05 ", "9999999999999.99", "0", "1.234", "1e5", "-3", "abc",
             "0.00", "19.99", "10000000000000.01"]
    got = page.evaluate("""async (texts) => {
        const O = await import("/static/js/sealing/offer.js");
        return { fen: texts.map(O.yuanToFen),
                 sheet: new TextDecoder().decode(O.priceSheet({ priceFen: 12345678, durationDays: 90,
                                                               quality: "合格", remarks: "含税 \\"A\\"\\n二行" })) };
    }""", texts)
    expected = []
    for text in texts:
        try:
            expected.append(tool.yuan_to_fen(text))
        except tool.ToolError:
            expected.append(None)
    assert got["fen"] == expected
    assert got["sheet"].encode() == tool.price_sheet(12_345_678, 90, "合格", '含税 "A"\n二行')


def test_offline_tool_submits_over_http(live_server, world, tmp_path, capsys):
    """The CLI with its real urllib transport against the live server: keygen → register the public
    PEM → submit with a bearer token → verified receipt saved; the envelope opens in Python."""
    from trading.accounts import services as accounts
    from trading.accounts.models import User
    from trading.accounts.signing_keys import public_raw_from_pem, register_signing_key

    key_path = tmp_path / "key.pem"
    assert tool.main(["keygen", "--out", str(key_path)]) == 0
    with live_server.app.app_context():
        ctx = cli_context()
        user = db.session.execute(select(User).where(User.username == world.username)).scalar_one()
        uctx = actor_ctx(ctx.session, ctx.clock, user)
        register_signing_key(uctx, public_raw=public_raw_from_pem(tool.public_pem_path(key_path).read_text()),
                             label="制作工具", source="tool")
        _, token = accounts.create_api_token(uctx, name="制作工具")
        db.session.commit()
        db.session.remove()
    receipts = tmp_path / "receipts"
    code = tool.main(["submit", "--api", f"{live_server.url}/api/v1", "--token", token, "--key", str(key_path),
                      "--lot", world.lot_code, "--price-yuan", "987654.32", "--duration-days", "120",
                      "--quality", "合格", "--remarks", "含税价，质保两年", "--work", str(tmp_path / "work"),
                      "--receipts", str(receipts)])
    assert code == 0, capsys.readouterr().err
    [saved] = receipts.glob("receipt-*-price-*.json")
    answer = json.loads(saved.read_text())
    assert answer["receipt"]["lot_id"] == world.lot_code and "北京时间" in answer["receipt"]["received_at_beijing"]

    from trading.core.blobs import get_store
    from trading.procedures.common.participation.models import Submission

    with live_server.app.app_context():
        sub = db.session.execute(select(Submission).where(Submission.status == "accepted")).scalar_one()
        payload, manifest = get_store().read(sub.payload_sha256), sub.manifest
        db.session.remove()
    assert E.open_envelope(manifest, payload, world.opening_private,
                           signer_pub=tool.load_key(key_path).public_key()) == SHEET
