"""The offline sealing tool: keygen (0600 PEM + public PEM + fingerprint), the exact price sheet, the
documents ZIP, `seal` output that opens with open_envelope, and `submit` through the upload protocol
against an in-memory platform (retry on network errors, resume after an interruption, receipt check)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import stat
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from trading.procedures.common.opening.rules import parse_price_sheet
from trading.sealing import envelope as E
from trading.sealing import tool
from trading.sealing.tool_client import canonical, submit_command

LOT, BIDDER = "SFX2026-GC-0007-01", "91510100MA6CXXXX1X"


@pytest.fixture
def opening():
    return ec.generate_private_key(ec.SECP256R1())


def test_keygen_writes_0600_key_public_pem_and_fingerprint(tmp_path, capsys):
    out = tmp_path / "key.pem"
    assert tool.main(["keygen", "--out", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    key = tool.load_key(out)
    pub = load_pem_public_key((tmp_path / "key.pub.pem").read_bytes())
    assert E.public_raw(pub) == E.public_raw(key.public_key())
    printed = capsys.readouterr().out
    digest = hashlib.sha256(E.public_raw(pub)).hexdigest()
    assert " ".join(digest[i:i + 4] for i in range(0, 64, 4)) in printed
    assert E.b64(E.kid(pub)) in printed
    # never overwrite a private key silently
    assert tool.main(["keygen", "--out", str(out)]) == 2
    assert tool.load_key(out).private_numbers() == key.private_numbers()


@pytest.mark.parametrize("text,fen", [
    ("123456.78", 12_345_678), ("0.01", 1), ("1,234.5", 123_450), ("100", 10_000), (" 7.05 ", 705),
    ("9999999999999.99", 999_999_999_999_999), ("0.1", 10), ("19.99", 1999),
])
def test_yuan_to_fen_by_string(text, fen):
    assert tool.yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", ["0", "0.00", "-1", "1.234", "1e5", "abc", "", "1.", ".5", "10000000000000.01"])
def test_yuan_to_fen_refuses(text):
    with pytest.raises(tool.ToolError):
        tool.yuan_to_fen(text)


def test_price_sheet_exact_bytes():
    sheet = tool.price_sheet(12_345_678, 90, "合格", "含税")
    assert sheet == '{"v":1,"price_fen":12345678,"duration_days":90,"quality":"合格","remarks":"含税"}'.encode()
    parsed = parse_price_sheet(sheet)
    assert (parsed.price_fen, parsed.duration_days, parsed.quality, parsed.remarks) == (12_345_678, 90, "合格", "含税")
    assert parse_price_sheet(tool.price_sheet(1)).duration_days is None
    with pytest.raises(tool.ToolError):
        tool.price_sheet(1, 0)


def test_seal_price_opens_to_the_exact_sheet(tmp_path, opening):
    key_path = tmp_path / "k.pem"
    tool.keygen(key_path)
    out = tmp_path / "env"
    argv = ["seal", "--key", str(key_path), "--lot", LOT, "--bidder", BIDDER, "--part", "price",
            "--submission", "Ab3-_x.Yz", "--opening-pub", E.b64(E.public_raw(opening.public_key())),
            "--price-yuan", "123456.78", "--duration-days", "90", "--quality", "合格", "--out", str(out)]
    assert tool.main(argv) == 0
    signer = tool.load_key(key_path).public_key()
    expected = E.Context(LOT, BIDDER, "price", "Ab3-_x.Yz")
    plain = E.open_envelope((out / "manifest.json").read_bytes(), (out / "payload.bin").read_bytes(), opening,
                            signer_pub=signer, expected=expected, opening_kid=E.kid(opening.public_key()))
    assert plain == tool.price_sheet(12_345_678, 90, "合格")
    assert parse_price_sheet(plain).price_fen == 12_345_678


def test_seal_documents_folder_is_a_zip(tmp_path, opening):
    key_path = tmp_path / "k.pem"
    tool.keygen(key_path)
    docs = tmp_path / "docs"
    (docs / "技术标").mkdir(parents=True)
    (docs / "商务标.pdf").write_bytes(b"%PDF-1.4 commercial")
    (docs / "技术标" / "方案.docx").write_bytes(b"PK tech" * 1000)
    out = tmp_path / "env"
    assert tool.main(["seal", "--key", str(key_path), "--lot", LOT, "--bidder", BIDDER, "--part", "documents",
                      "--submission", "s1", "--opening-pub", E.b64(E.public_raw(opening.public_key())),
                      "--in", str(docs), "--out", str(out)]) == 0
    plain = E.open_envelope((out / "manifest.json").read_bytes(), (out / "payload.bin").read_bytes(), opening,
                            signer_pub=tool.load_key(key_path).public_key())
    with zipfile.ZipFile(io.BytesIO(plain)) as zf:
        assert sorted(zf.namelist()) == ["商务标.pdf", "技术标/方案.docx"]
        assert zf.read("技术标/方案.docx") == b"PK tech" * 1000
    assert plain == tool.zip_folder(docs)  # the same folder zips to the same bytes


def test_seal_refuses_bad_input(tmp_path, opening, capsys):
    key_path = tmp_path / "k.pem"
    tool.keygen(key_path)
    base = ["seal", "--key", str(key_path), "--lot", LOT, "--bidder", BIDDER, "--part", "price",
            "--opening-pub", E.b64(E.public_raw(opening.public_key())), "--out", str(tmp_path / "e")]
    assert tool.main(base + ["--submission", "bad id", "--price-yuan", "1"]) == 2
    assert tool.main(base + ["--submission", "ok", "--price-yuan", "1.001"]) == 2
    assert tool.main(base[:-4] + ["--opening-pub", "AAAA", "--out", "x", "--submission", "ok",
                                  "--price-yuan", "1"]) == 2
    assert "error:" in capsys.readouterr().err


# --- submit against an in-memory platform -----------------------------------------------------------

class FakePlatform:
    """Just enough of the upload protocol of notes/interfaces.md, with the real envelope checks."""

    def __init__(self, opening, signer_pub, chunk_bytes=1024):
        self.opening, self.signer_pub, self.chunk = opening, signer_pub, chunk_bytes
        self.receipt_key = Ed25519PrivateKey.generate()
        self.subs: dict[str, dict] = {}
        self.log: list[tuple[str, str]] = []
        self.fail: dict[str, int] = {}  # path → remaining network failures
        self.seq = 100
        #: serve PUT /submissions/{sid}/envelope (else 404 not_found, as a platform without it)
        self.one_request = False

    def __call__(self, method, url, headers, body):
        assert headers["Authorization"] == "Bearer T0KEN"
        self.headers = headers
        path = url.removeprefix("https://jy.example/api/v1")
        self.log.append((method, path))
        if self.fail.get(path, 0) > 0:
            self.fail[path] -= 1
            raise OSError("connection reset")
        status, obj = self.route(method, path, body)
        return status, json.dumps(obj).encode()

    def route(self, method, path, body):
        pub = self.receipt_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        parts = path.strip("/").split("/")
        if path == f"/lots/{LOT}/sealing":
            return 200, {"lot_id": LOT, "bidder_id": BIDDER, "max_part_bytes": 10**6, "upload_chunk_bytes": self.chunk,
                         "opening_key": {"public": E.b64(E.public_raw(self.opening.public_key())),
                                         "kid": E.b64(E.kid(self.opening.public_key()))}}
        if path == f"/lots/{LOT}/registration":
            return 200, {"lot_code": LOT, "status": "registered"}
        if path == "/receipt-key":
            return 200, {"alg": "Ed25519", "public": E.b64(pub), "key_id": hashlib.sha256(pub).digest()[:8].hex()}
        if path == f"/lots/{LOT}/submissions":
            sid = f"sid-{len(self.subs)}"
            self.subs[sid] = {"status": "uploading", "chunks": {}, "manifest": None}
            ctx = {"lot_id": LOT, "bidder_id": BIDDER, "part": json.loads(body)["part"], "submission_id": sid}
            self.subs[sid]["context"] = ctx
            return 201, {"submission_id": sid, "context": ctx, "upload_chunk_bytes": self.chunk}
        sub = self.subs.get(parts[1]) if parts[0] == "submissions" and len(parts) > 1 else None
        if sub is None:
            return 404, {"error": "not_found", "message": "no"}
        if method == "PUT" and parts[2] == "envelope" and self.one_request:
            if sub["status"] != "uploading":
                return 409, {"error": "upload.closed", "message": "closed"}
            manifest = base64.b64decode(self.headers["X-Envelope-Manifest"])
            self.route("PUT", f"/submissions/{parts[1]}/manifest", manifest)
            sub["chunks"][0] = body
            return self.route("POST", f"/submissions/{parts[1]}/complete", b"")
        if method == "PUT" and parts[2] == "manifest":
            m = E.parse_manifest(body)
            E.check(m, b"PTBP\x01\x16" + b"\0" * 7, expected=E.Context(**sub["context"]),
                    opening_kid=E.kid(self.opening.public_key()), signer_pub=self.signer_pub)
            sub["manifest"] = m
            return 200, {"payload_len": m.payload_len, "chunks_expected": self._count(m),
                         "upload_chunk_bytes": self.chunk}
        if method == "PUT" and parts[2] == "chunks":
            sub["chunks"][int(parts[3])] = body
            return 200, {"index": int(parts[3]), "chunks_received": len(sub["chunks"]),
                         "chunks_expected": self._count(sub["manifest"])}
        if method == "GET" and len(parts) == 2:
            return 200, {"submission_id": parts[1], "status": sub["status"], "received": sorted(sub["chunks"]),
                         "receipt": sub.get("answer")}
        if method == "POST" and parts[2] == "complete":
            m = sub["manifest"]
            payload = b"".join(sub["chunks"][i] for i in range(self._count(m)))
            E.open_envelope(m, payload, self.opening, signer_pub=self.signer_pub)
            sub["status"] = "accepted"
            self.seq += 1
            receipt = {"v": 1, "kind": "submitted", "lot_id": LOT, "bidder_id": BIDDER, "bidder_name": "示范建筑",
                       "part": m.context.part, "submission_id": parts[1], "payload_sha256": m.payload_sha256.hex(),
                       "payload_len": m.payload_len, "received_at": "2026-11-27T02:00:00Z",
                       "received_at_beijing": "2026-11-27 10:00:00（北京时间）", "audit_seq": self.seq,
                       "supersedes": None}
            sub["answer"] = {"receipt": receipt, "signature": E.b64(self.receipt_key.sign(canonical(receipt))),
                             "key_id": hashlib.sha256(pub).digest()[:8].hex()}
            return 201, sub["answer"]
        return 404, {"error": "not_found", "message": path}

    def _count(self, m):
        return -(-m.payload_len // self.chunk)


def _args(tmp_path, key_path, **over):
    base = dict(api="https://jy.example/api/v1", token="T0KEN", key=key_path, lot=LOT, documents=None,
                work=tmp_path / "work", receipts=tmp_path / "receipts", price_yuan="88000.5", duration_days=60,
                quality="合格", remarks="")
    return SimpleNamespace(**{**base, **over})


@pytest.fixture
def setup(tmp_path, opening):
    key_path = tmp_path / "k.pem"
    key = tool.keygen(key_path)
    return key_path, FakePlatform(opening, key.public_key())


def _chunk_puts(platform):
    return [p for m, p in platform.log if m == "PUT" and "/chunks/" in p]


def test_submit_price_and_documents_saves_verified_receipts(tmp_path, setup, opening):
    key_path, platform = setup
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.bin").write_bytes(os.urandom(5000))
    answers = submit_command(_args(tmp_path, key_path, documents=docs), transport=platform, out=io.StringIO(),
                             sleep=lambda s: None)
    assert [a["receipt"]["part"] for a in answers] == ["price", "documents"]
    files = sorted((tmp_path / "receipts").glob("receipt-*.json"))
    assert len(files) == 2
    saved = json.loads(files[1].read_text()) if "price" in files[1].name else json.loads(files[0].read_text())
    assert saved["receipt"]["part"] == "price"
    sub = platform.subs["sid-0"]
    payload = b"".join(sub["chunks"][i] for i in range(len(sub["chunks"])))
    plain = E.open_envelope(sub["manifest"], payload, opening, signer_pub=tool.load_key(key_path).public_key())
    assert plain == tool.price_sheet(8_800_050, 60, "合格")
    assert len(platform.subs["sid-1"]["chunks"]) > 3  # the documents went in several chunks


def test_submit_retries_a_chunk_after_network_errors(tmp_path, setup):
    key_path, platform = setup
    platform.fail["/submissions/sid-0/chunks/0"] = 2
    slept = []
    submit_command(_args(tmp_path, key_path), transport=platform, out=io.StringIO(), sleep=slept.append)
    assert _chunk_puts(platform).count("/submissions/sid-0/chunks/0") == 3
    assert slept == [0.5, 1.0]


def test_submit_resumes_an_interrupted_upload_with_only_missing_chunks(tmp_path, setup):
    key_path, platform = setup
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "big.bin").write_bytes(os.urandom(10_000))  # incompressible: ~10 chunks
    args = _args(tmp_path, key_path, price_yuan=None, documents=docs)
    platform.fail["/submissions/sid-0/chunks/3"] = 99  # the line goes down at chunk 3
    with pytest.raises(tool.ToolError, match="network error"):
        submit_command(args, transport=platform, out=io.StringIO(), sleep=lambda s: None)
    assert sorted(platform.subs["sid-0"]["chunks"]) == [0, 1, 2]
    platform.fail.clear()
    platform.log.clear()
    [answer] = submit_command(args, transport=platform, out=io.StringIO(), sleep=lambda s: None)
    assert answer["receipt"]["submission_id"] == "sid-0"  # the same upload, not a new one
    sent = [int(p.rsplit("/", 1)[1]) for p in _chunk_puts(platform)]
    assert sent[0] == 3 and 0 not in sent and 2 not in sent
    assert ("POST", f"/lots/{LOT}/submissions") not in platform.log


def test_submit_refuses_a_receipt_with_a_bad_signature(tmp_path, setup):
    key_path, platform = setup
    platform.receipt_key, good = Ed25519PrivateKey.generate(), platform.receipt_key
    route = platform.route

    def lying(method, path, body):  # signs with one key, publishes another
        status, obj = route(method, path, body)
        if path == "/receipt-key":
            pub = good.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            obj = {"alg": "Ed25519", "public": E.b64(pub), "key_id": hashlib.sha256(pub).digest()[:8].hex()}
        if path.endswith("/complete"):
            pub = good.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            obj["key_id"] = hashlib.sha256(pub).digest()[:8].hex()
        return status, obj
    platform.route = lying
    with pytest.raises(tool.ToolError, match="signature"):
        submit_command(_args(tmp_path, key_path), transport=platform, out=io.StringIO(), sleep=lambda s: None)
    assert not list(Path(tmp_path / "receipts").glob("*.json")) if (tmp_path / "receipts").exists() else True


def test_an_envelope_that_fits_one_chunk_goes_in_one_request(tmp_path, setup, opening):
    key_path, platform = setup
    platform.one_request = True
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.bin").write_bytes(os.urandom(5000))
    answers = submit_command(_args(tmp_path, key_path, documents=docs), transport=platform, out=io.StringIO(),
                             sleep=lambda s: None)
    assert [a["receipt"]["part"] for a in answers] == ["price", "documents"]
    sid0 = [p for m, p in platform.log if p.startswith("/submissions/sid-0")]
    assert sid0 == ["/submissions/sid-0/envelope"]  # the price sheet: one request, receipt included
    assert ("PUT", "/submissions/sid-1/envelope") not in platform.log  # the documents: several chunks
    assert len(platform.subs["sid-1"]["chunks"]) > 3
    sub = platform.subs["sid-0"]
    plain = E.open_envelope(sub["manifest"], sub["chunks"][0], opening, signer_pub=tool.load_key(key_path).public_key())
    assert plain == tool.price_sheet(8_800_050, 60, "合格")


def test_a_lost_answer_to_the_one_request_upload_is_fetched_not_sent_again(tmp_path, setup):
    key_path, platform = setup
    platform.one_request = True
    lost = {"n": 1}

    def drops_the_answer(method, url, headers, body):
        answer = platform(method, url, headers, body)
        if url.endswith("/envelope") and lost["n"]:
            lost["n"] -= 1
            raise OSError("connection reset")  # accepted by the platform; the answer never arrived
        return answer
    [answer] = submit_command(_args(tmp_path, key_path), transport=drops_the_answer, out=io.StringIO(),
                              sleep=lambda s: None)
    assert answer == platform.subs["sid-0"]["answer"]
    assert [p for m, p in platform.log].count("/submissions/sid-0/envelope") == 2
    assert ("GET", "/submissions/sid-0") in platform.log and len(platform.subs) == 1


def test_submit_needs_a_token(tmp_path, setup):
    key_path, platform = setup
    with pytest.raises(tool.ToolError, match="token"):
        submit_command(_args(tmp_path, key_path, token=None), transport=platform, out=io.StringIO())


def test_main_submit_reports_api_errors(tmp_path, setup, capsys):
    key_path, platform = setup

    def refusing(method, url, headers, body):
        return 422, json.dumps({"error": "offer.deadline_passed", "message": "投标截止时间已过"}).encode()
    code = tool.main(["submit", "--api", "https://jy.example/api/v1", "--token", "T0KEN", "--key", str(key_path),
                      "--lot", LOT, "--price-yuan", "1", "--work", str(tmp_path / "w")], transport=refusing)
    assert code == 2
    assert "offer.deadline_passed" in capsys.readouterr().err


def test_receipt_canonical_form():
    assert canonical({"b": "北京", "a": 1}) == '{"a":1,"b":"北京"}'.encode()
    assert base64.b64decode(E.b64(b"\0\1")) == b"\0\1"


def test_tool_runs_without_the_platform():
    """A bidder's machine has no Flask or SQLAlchemy: the tool must not import them."""
    import subprocess
    import sys
    code = ("import sys, trading.sealing.tool, trading.sealing.tool_client; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'marshmallow')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
