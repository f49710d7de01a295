"""The offline tool's `submit`: the upload protocol of the platform's API (notes/interfaces.md), with
urllib and a bearer token.

    GET  /lots/{lot}/sealing           opening key, bidder id, limits
    POST /lots/{lot}/registration      报名 (idempotent)
    POST /lots/{lot}/submissions       {"part"} → submission id and the context to seal for
    PUT  /submissions/{sid}/envelope   an envelope that fits one upload chunk, with its manifest in
                                       the X-Envelope-Manifest header → the signed receipt, in one request
    otherwise (or when the platform has no such endpoint, or chunks of this upload arrived already):
    PUT  /submissions/{sid}/manifest   before any payload byte
    PUT  /submissions/{sid}/chunks/i   sequentially; a network error or 5xx retries the chunk
    POST /submissions/{sid}/complete   → the signed receipt
    Every receipt is checked against GET /receipt-key.

The sealed envelope and its submission id are kept in --work, so a rerun after an interruption asks
GET /submissions/{sid} which chunks arrived and sends only the missing ones."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import envelope
from .tool import ToolError, load_key, plaintext_for

#: transport(method, url, headers, body) -> (status, body); raises OSError on a network failure
Transport = Callable[[str, str, dict, bytes | None], tuple[int, bytes]]
RETRIES = 5


class ApiError(ToolError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status, self.code = status, code


def urllib_transport(method: str, url: str, headers: dict, body: bytes | None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except urllib.error.URLError as exc:
        raise OSError(str(exc.reason)) from None


class Api:
    def __init__(self, base: str, token: str | None, transport: Transport | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        if not token:
            raise ToolError("an API token is needed (--token or PTBID_TOKEN); create one on your account page")
        self.base, self.token = base.rstrip("/"), token
        self.transport, self.sleep = transport or urllib_transport, sleep

    def call(self, method: str, path: str, body: object = None, *, raw: bytes | None = None,
             retry: bool = False, headers: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json", **(headers or {})}
        if raw is not None:
            data, headers["Content-Type"] = raw, "application/octet-stream"
        elif body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        else:
            data = None
        for attempt in range(RETRIES + 1 if retry else 1):
            try:
                status, text = self.transport(method, self.base + path, headers, data)
            except OSError as exc:
                if attempt == (RETRIES if retry else 0):
                    raise ToolError(f"network error on {method} {path}: {exc}") from None
            else:
                if not (retry and status >= 500 and attempt < RETRIES):
                    return self._answer(status, text)
            self.sleep(min(30.0, 0.5 * 2 ** attempt))  # back off: a busy last minute is normal
        raise AssertionError("unreachable")

    @staticmethod
    def _answer(status: int, text: bytes) -> dict:
        try:
            obj = json.loads(text) if text else {}
        except ValueError:
            obj = {}
        if status >= 400:
            raise ApiError(status, obj.get("error", "error"), obj.get("message", text[:200].decode(errors="replace")))
        return obj


def canonical(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def verify_receipt(answer: dict, receipt_key: dict, expect: dict) -> dict:
    """The receipt of `answer` ({"receipt","signature","key_id"}) after checking the platform's Ed25519
    signature and that it names what was sent (`expect`: lot_id, part, submission_id, payload_sha256,
    payload_len)."""
    public = base64.b64decode(receipt_key["public"])
    key_id = hashlib.sha256(public).digest()[:8].hex()
    if receipt_key.get("alg") != "Ed25519" or receipt_key.get("key_id") != key_id or answer.get("key_id") != key_id:
        raise ToolError("the receipt key id does not match the platform's receipt key")
    receipt = answer["receipt"]
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(base64.b64decode(answer["signature"]), canonical(receipt))
    except (InvalidSignature, ValueError):
        raise ToolError("the receipt's signature does not verify: keep the files and contact the centre") from None
    wrong = [k for k, v in expect.items() if receipt.get(k) != v]
    if wrong:
        raise ToolError(f"the receipt does not match what was sent: {', '.join(wrong)}")
    return receipt


class Uploader:
    """One part of one lot: seal (or reuse the sealed envelope in `work`), upload, complete."""

    def __init__(self, api: Api, info: dict, key, part: str, plaintext: bytes, work: Path, out):
        self.api, self.info, self.key, self.part, self.out = api, info, key, part, out
        self.plaintext, self.work = plaintext, work / f"{info['lot_id']}-{part}"
        self.plain_sha = hashlib.sha256(plaintext).hexdigest()

    def run(self) -> dict:
        state = self._resumable()
        if state is None:
            state = self._start()
        sid = state["submission_id"]
        manifest = (self.work / "manifest.json").read_bytes()
        payload = (self.work / "payload.bin").read_bytes()
        if state.get("done"):
            return state["done"]
        answer = self._in_one_request(sid, manifest, payload)
        if answer is not None:
            self._save_state({**state, "done": answer})
            return answer
        layout = self.api.call("PUT", f"/submissions/{sid}/manifest", raw=manifest, retry=True)
        received = set(self.api.call("GET", f"/submissions/{sid}")["received"])
        size, count = layout["upload_chunk_bytes"], layout["chunks_expected"]
        for i in range(count):
            if i not in received:
                done = self.api.call("PUT", f"/submissions/{sid}/chunks/{i}", raw=payload[i * size:(i + 1) * size],
                                     retry=True)
                print(f"  {self.part}: chunk {i + 1}/{count} ({done['chunks_received']} received)", file=self.out)
        answer = self.api.call("POST", f"/submissions/{sid}/complete", {}, retry=True)
        self._save_state({**state, "done": answer})
        return answer

    def _in_one_request(self, sid: str, manifest: bytes, payload: bytes) -> dict | None:
        """The receipt from PUT /submissions/{sid}/envelope when the envelope fits one upload chunk;
        None to use the chunked protocol (larger, or a platform without the endpoint)."""
        if len(payload) > self.info.get("upload_chunk_bytes", 0):
            return None
        headers = {"X-Envelope-Manifest": base64.b64encode(manifest).decode("ascii")}
        try:
            answer = self.api.call("PUT", f"/submissions/{sid}/envelope", raw=payload, retry=True, headers=headers)
        except ApiError as exc:
            if exc.status in (404, 405) and exc.code in ("not_found", "method_not_allowed"):
                return None  # no such endpoint on this platform (an unknown upload says "not_found" too:
                #              the chunked protocol then reports it)
            if exc.code in ("upload.closed", "upload.manifest_conflict", "upload.chunk_conflict"):
                # a retry after the platform had accepted it (the answer was lost), or chunks of this
                # upload had arrived: what the platform holds decides
                return self._receipt_if_accepted(sid)
            raise
        print(f"  {self.part}: sent in one request ({len(payload)} bytes)", file=self.out)
        return answer

    def _receipt_if_accepted(self, sid: str) -> dict | None:
        status = self.api.call("GET", f"/submissions/{sid}")
        if status["status"] == "accepted" and status.get("receipt"):
            return status["receipt"]
        if status["status"] == "uploading":
            return None
        raise ToolError(f"the upload {sid} is {status['status']}; run submit again to seal anew")

    def _resumable(self) -> dict | None:
        path = self.work / "state.json"
        if not path.exists():
            return None
        state = json.loads(path.read_text())
        if state.get("plaintext_sha256") != self.plain_sha:
            return None  # the offer changed: seal anew under a new submission id
        if state.get("done"):
            return state
        try:
            status = self.api.call("GET", f"/submissions/{state['submission_id']}")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return state if status["status"] == "uploading" else None

    def _start(self) -> dict:
        started = self.api.call("POST", f"/lots/{self.info['lot_id']}/submissions", {"part": self.part})
        c = started["context"]
        context = envelope.Context(c["lot_id"], c["bidder_id"], c["part"], c["submission_id"])
        opening = envelope.load_public(base64.b64decode(self.info["opening_key"]["public"]))
        manifest, payload = envelope.seal(self.plaintext, context, opening, self.key)
        if len(payload) > self.info["max_part_bytes"]:
            raise ToolError(f"the sealed {self.part} is {len(payload)} bytes, over the lot's limit of "
                            f"{self.info['max_part_bytes']}")
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "manifest.json").write_bytes(json.dumps(manifest, separators=(",", ":")).encode("ascii"))
        (self.work / "payload.bin").write_bytes(payload)
        state = {"submission_id": started["submission_id"], "plaintext_sha256": self.plain_sha,
                 "payload_sha256": manifest["payload_sha256"], "payload_len": manifest["payload_len"]}
        self._save_state(state)
        return state

    def _save_state(self, state: dict) -> None:
        (self.work / "state.json").write_text(json.dumps(state, ensure_ascii=False))


def submit_command(args, *, transport: Transport | None = None, out=None, sleep=time.sleep) -> list[dict]:
    key = load_key(args.key)
    parts = []
    if args.price_yuan is not None:
        parts.append(("price", plaintext_for("price", price_yuan=args.price_yuan, duration_days=args.duration_days,
                                             quality=args.quality, remarks=args.remarks)))
    if args.documents is not None:
        parts.append(("documents", plaintext_for("documents", source=args.documents)))
    if not parts:
        raise ToolError("nothing to submit: give --price-yuan and/or --documents")
    api = Api(args.api, args.token, transport, sleep)
    info = api.call("GET", f"/lots/{args.lot}/sealing")
    if not info.get("bidder_id"):
        raise ToolError("the token's account is not a bidder")
    api.call("POST", f"/lots/{args.lot}/registration", {})
    receipt_key = api.call("GET", "/receipt-key")
    receipts = []
    for part, plaintext in parts:
        uploader = Uploader(api, info, key, part, plaintext, Path(args.work), out)
        answer = uploader.run()
        state = json.loads((uploader.work / "state.json").read_text())
        receipt = verify_receipt(answer, receipt_key, {
            "lot_id": info["lot_id"], "bidder_id": info["bidder_id"], "part": part,
            "submission_id": state["submission_id"], "payload_sha256": state["payload_sha256"],
            "payload_len": state["payload_len"], "kind": "submitted"})
        Path(args.receipts).mkdir(parents=True, exist_ok=True)
        path = Path(args.receipts) / f"receipt-{info['lot_id']}-{part}-{state['submission_id']}.json"
        path.write_text(json.dumps(answer, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"{part}: accepted {receipt['received_at_beijing']}, audit #{receipt['audit_seq']}, "
              f"sha256 {receipt['payload_sha256']} → {path}", file=out)
        receipts.append(answer)
    return receipts
