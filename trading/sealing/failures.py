"""Failure kinds of the ptbid/v1 envelope checks (design/sealing.md), one error code each.

`VECTOR_NAMES` maps each kind one-to-one onto the `failure_kinds` of shared/data/ptbid-v1-vectors.json."""

from __future__ import annotations

from enum import Enum


class Failure(Enum):
    UNSUPPORTED_VERSION = "sealing.unsupported_version"
    UNSUPPORTED_SUITE = "sealing.unsupported_suite"
    MANIFEST = "sealing.manifest"
    CONTEXT_FIELD = "sealing.context_field"
    CONTEXT_MISMATCH = "sealing.context_mismatch"
    KID_MISMATCH = "sealing.kid_mismatch"
    SIGNER_MISMATCH = "sealing.signer_mismatch"
    HEADER = "sealing.header"
    CHUNK_LAYOUT = "sealing.chunk_layout"
    PAYLOAD_DIGEST = "sealing.payload_digest"
    BAD_SIGNATURE = "sealing.bad_signature"
    WRAP = "sealing.wrap"
    CHUNK_AUTH = "sealing.chunk_auth"


VECTOR_NAMES: dict[Failure, str] = {
    Failure.UNSUPPORTED_VERSION: "UnsupportedVersion",
    Failure.UNSUPPORTED_SUITE: "UnsupportedSuite",
    Failure.MANIFEST: "ManifestError",
    Failure.CONTEXT_FIELD: "ContextFieldError",
    Failure.CONTEXT_MISMATCH: "ContextMismatch",
    Failure.KID_MISMATCH: "KidMismatch",
    Failure.SIGNER_MISMATCH: "SignerMismatch",
    Failure.HEADER: "HeaderError",
    Failure.CHUNK_LAYOUT: "ChunkLayoutError",
    Failure.PAYLOAD_DIGEST: "PayloadDigestMismatch",
    Failure.BAD_SIGNATURE: "BadSignature",
    Failure.WRAP: "WrapError",
    Failure.CHUNK_AUTH: "ChunkAuthError",
}


class EnvelopeError(Exception):
    """An envelope refused; `kind` is the error code, `detail` an English explanation (never secret data)."""

    def __init__(self, kind: Failure, detail: str = "") -> None:
        super().__init__(f"{kind.value}: {detail}" if detail else kind.value)
        self.kind = kind
        self.detail = detail
