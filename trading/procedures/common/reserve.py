"""The sealed reserve price (底价) envelope, shared by auction lots (procedures.auction.reserve) and
招标出让 lots (procedures.land_tender.reserve); design/sealing.md, rules.md G common rules, G2.6, G3.4.

The owner (or its agency) seals {"v": 1, "reserve_fen": N} (opening.rules.reserve_sheet) in a ptbid/v1
envelope, part "reserve", context (lot code, the sealing organisation's credit code, "reserve", a
server-issued submission id), to the lot's opening key, signed by a key it presents with the envelope
(owners register no bidder signing keys: the raw point is kept, its kid audited). Here: the checks
every reserve envelope passes before anything is stored, and its opening with the rebuilt key. Who may
seal, until when, where the row lives and what the opened amount decides stay with each procedure.

Imports: core, sealing, procedures.common (opening rules, participation)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from trading.core.errors import InvalidInput
from trading.sealing import envelope as env
from trading.sealing.failures import EnvelopeError, Failure

from .opening.rules import parse_reserve_sheet
from .participation.base import EnvelopeRefused

PART = "reserve"
#: a reserve sheet is a few dozen bytes; its envelope (13-byte header, one chunk, tag) stays tiny
MAX_RESERVE_BYTES = 4096
#: the failure kind of an envelope that opens to something other than a reserve sheet
BAD_SHEET = "reserve.bad_sheet"


def new_submission_id() -> str:
    return "rsv-" + secrets.token_urlsafe(18)


def sealing_info(lot_code: str, sealer_code: str, submission_id: str, key) -> dict:
    """What the sealer needs (browser or offline tool `--part reserve`): the envelope context and the
    lot's opening public key (`key`: its OpeningKey)."""
    return {"lot_id": lot_code, "bidder_id": sealer_code, "part": PART, "submission_id": submission_id,
            "opening_key": {"public": env.b64(bytes(key.public_raw)), "kid": env.b64(bytes(key.kid))},
            "max_payload_len": MAX_RESERVE_BYTES}


@dataclass(frozen=True)
class CheckedReserve:
    """A reserve envelope that passed every check: what the procedure stores (never an amount)."""
    manifest: dict
    payload: bytes
    payload_sha256: str
    signer_public: bytes
    signer_kid: str


def check_envelope(manifest_raw, payload, signer_public, *, expected: env.Context, opening_kid: bytes,
                   code: str = "reserve.envelope") -> CheckedReserve:
    """Every check before anything is stored: the context must be `expected` (this lot, the sealing
    organisation, part "reserve", the issued submission id); the first recipient the lot's opening key;
    sig.kid the presented key's; layout, size, digest and signature. EnvelopeRefused (422, its failure
    kind) or InvalidInput (`code`) when the pieces are missing."""
    if not isinstance(payload, (bytes, bytearray)) or not isinstance(signer_public, (bytes, bytearray)):
        raise InvalidInput(code, "须提交密封底价的 manifest、payload 与签名公钥",
                           "Send the sealed reserve's manifest, payload and signing public key")
    try:
        try:
            signer = env.load_public(bytes(signer_public))
        except ValueError:
            raise EnvelopeError(Failure.SIGNER_MISMATCH, "the signing public key is not a raw P-256 point") from None
        m = env.parse_manifest(manifest_raw)
        env.check(m, payload[:env.HEADER_LEN], expected=expected, opening_kid=opening_kid)
        if m.sig_kid != env.kid(signer):
            raise EnvelopeError(Failure.SIGNER_MISMATCH, "sig.kid is not the presented signing key's kid")
        env.check(m, payload[:env.HEADER_LEN], payload_len=len(payload), expected=expected,
                  opening_kid=opening_kid, signer_pub=signer, max_payload_len=MAX_RESERVE_BYTES)
        env.verify_signature(m, env.sha256_of(payload), signer)
    except EnvelopeError as err:
        raise EnvelopeRefused(err) from None
    return CheckedReserve(m.to_json(), bytes(payload), env.sha256_of(payload).hex(), bytes(signer_public),
                          env.kid(signer).hex())


def open_envelope(manifest, payload: bytes, signer_public: bytes, private, *, opening_kid: bytes,
                  expected: env.Context) -> tuple[int | None, str | None]:
    """(reserve_fen, None) when the stored envelope opens with the rebuilt key to a reserve sheet, else
    (None, failure kind): an envelope failure kind or BAD_SHEET."""
    try:
        plain = env.open_envelope(manifest, bytes(payload), private, signer_pub=env.load_public(bytes(signer_public)),
                                  opening_kid=opening_kid, expected=expected, max_payload_len=MAX_RESERVE_BYTES)
        return parse_reserve_sheet(plain), None
    except EnvelopeError as exc:
        return None, exc.kind.value
    except ValueError:
        return None, BAD_SHEET
