"""The offline tool's `submit` against the real API (the Flask test client as its transport, a bearer
token as on a bidder's machine): price and documents accepted with verified Ed25519 receipts, the
stored envelopes open with the lot's opening key; an interrupted upload resumes with only the missing
chunks; a token of a non-bidder is refused."""

from __future__ import annotations

import io
import os
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.offers import sealed_lot
from tests.factories.projects import ensure_calendar
from trading.accounts import services as accounts
from trading.accounts.signing_keys import register_signing_key
from trading.core.blobs import get_store
from trading.extensions import db
from trading.procedures.common.participation.models import Submission
from trading.sealing import envelope as E
from trading.sealing import tool
from trading.sealing.tool_client import submit_command


class FlaskTransport:
    """tool_client's transport over the test client, logging each request that reached the server."""

    def __init__(self, client):
        self.client, self.log = client, []

    def __call__(self, method, url, headers, body):
        path = url.removeprefix("http://platform.test")
        self.log.append((method, path))
        resp = self.client.open(path, method=method, data=body, headers=headers)
        return resp.status_code, resp.get_data()


@pytest.fixture
def setup(ctx, session, clock, client, tmp_path):
    ensure_calendar(ctx)
    lot = sealed_lot(ctx, max_part_bytes=4 * 1024 * 1024)
    user = make_user(ctx, "bidder")
    key_path = tmp_path / "key.pem"
    key = tool.keygen(key_path)
    bctx = actor_ctx(session, clock, user)
    register_signing_key(bctx, public_raw=E.public_raw(key.public_key()), label="tool", source="tool")
    _, token = accounts.create_api_token(bctx, name="制作工具")
    db.session.commit()
    return SimpleNamespace(lot=lot, user=user, key_path=key_path, key=key, token=token,
                           transport=FlaskTransport(client))


def _args(tmp_path, s, **over):
    base = dict(api="http://platform.test/api/v1", token=s.token, key=s.key_path, lot=s.lot.code, documents=None,
                work=tmp_path / "work", receipts=tmp_path / "receipts", price_yuan="1,234,567.89", duration_days=365,
                quality="优良", remarks="")
    return SimpleNamespace(**{**base, **over})


def _accepted(part: str) -> tuple[Submission, bytes]:
    sub = db.session.execute(select(Submission).where(Submission.part == part, Submission.status == "accepted")
                             ).scalar_one()
    return sub, get_store().read(sub.payload_sha256)


def test_submit_price_and_documents_through_the_api(tmp_path, setup):
    s = setup
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "技术标.pdf").write_bytes(os.urandom(3 * 1024 * 1024 + 17))  # several 1 MiB upload chunks
    answers = submit_command(_args(tmp_path, s, documents=docs), transport=s.transport, out=io.StringIO(),
                             sleep=lambda _: None)
    assert [a["receipt"]["part"] for a in answers] == ["price", "documents"]
    assert len(list((tmp_path / "receipts").glob("receipt-*.json"))) == 2
    signer = s.key.public_key()
    sub, payload = _accepted("price")
    assert E.open_envelope(sub.manifest, payload, s.lot.opening_private, signer_pub=signer) == \
        tool.price_sheet(123_456_789, 365, "优良")
    # the price sheet fits one upload chunk: one request, the receipt in its answer
    assert [p for m, p in s.transport.log if f"/submissions/{sub.submission_id}" in p] == [
        f"/api/v1/submissions/{sub.submission_id}/envelope"]
    sub, payload = _accepted("documents")
    assert E.open_envelope(sub.manifest, payload, s.lot.opening_private, signer_pub=signer) == tool.zip_folder(docs)
    chunks = [p for m, p in s.transport.log if m == "PUT" and f"/submissions/{sub.submission_id}/chunks/" in p]
    assert len(chunks) == 4


def test_interrupted_upload_resumes_with_the_missing_chunks(tmp_path, setup):
    s = setup
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    args = _args(tmp_path, s, price_yuan=None, documents=docs)
    line = {"up": False}

    def flaky(method, url, headers, body):  # the line drops at chunk 2 until it comes back
        if url.endswith("/chunks/2") and not line["up"]:
            raise OSError("network unreachable")
        return s.transport(method, url, headers, body)
    with pytest.raises(tool.ToolError, match="network"):
        submit_command(args, transport=flaky, out=io.StringIO(), sleep=lambda _: None)
    sub = db.session.execute(select(Submission)).scalar_one()
    assert sub.status == "uploading"
    line["up"] = True
    s.transport.log.clear()
    [answer] = submit_command(args, transport=flaky, out=io.StringIO(), sleep=lambda _: None)
    assert answer["receipt"]["submission_id"] == sub.submission_id
    sent = [p.rsplit("/", 1)[1] for m, p in s.transport.log if m == "PUT" and "/chunks/" in p]
    assert sent == ["2", "3"]
    accepted, payload = _accepted("documents")
    assert E.open_envelope(accepted.manifest, payload, s.lot.opening_private,
                           signer_pub=s.key.public_key()) == tool.zip_folder(docs)


def test_a_non_bidder_token_is_refused(tmp_path, setup, ctx, session, clock):
    s = setup
    owner = make_user(ctx, "owner")
    _, token = accounts.create_api_token(actor_ctx(session, clock, owner), name="x")
    db.session.commit()
    with pytest.raises(tool.ToolError):
        submit_command(_args(tmp_path, s, token=token), transport=s.transport, out=io.StringIO())
    assert db.session.execute(select(Submission)).first() is None
