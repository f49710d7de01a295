"""投标文件制作工具 — the offline sealing tool, for bidders who prefer a command line (and for tests and
benchmarks). Stdlib and `cryptography` only: it runs on a bidder's own machine without the platform.

    python -m trading.sealing.tool keygen --out key.pem
    python -m trading.sealing.tool seal --key key.pem --lot CODE --bidder CREDIT --part price \\
        --submission SID --opening-pub B64 --price-yuan 123456.78 --duration-days 90 --out envelope/
    python -m trading.sealing.tool submit --api https://…/api/v1 --token TOKEN --key key.pem --lot CODE \\
        --price-yuan 123456.78 [--duration-days 90] [--documents DIR]

keygen writes the private key (PKCS#8 PEM, mode 0600) and `<name>.pub.pem`, the public key to register
on the platform's 签名密钥 page. seal writes `<out>/manifest.json` and `<out>/payload.bin`. submit does
the whole upload protocol (see tool_client.py) and saves each signed receipt as JSON."""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import io
import json
import os
import re
import sys
import zipfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from . import envelope

# Limits of the price sheet, the same as the opening's parser (procedures.common.opening.rules),
# which this tool may not import: it must run without the platform.
MAX_PRICE_FEN = 10**15
MAX_DURATION_DAYS = 36_500
MAX_QUALITY = 200
MAX_REMARKS = 2000
_YUAN = re.compile(r"(\d{1,13})(?:\.(\d{1,2}))?")
#: fixed timestamp for zip entries: the same folder seals to the same plaintext
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


class ToolError(Exception):
    """A problem the user can fix; printed without a traceback, exit status 2."""


# --- keys ------------------------------------------------------------------------------------------

def fingerprint(pub: ec.EllipticCurvePublicKey) -> str:
    """SHA-256 of the raw point in hex groups of four, as the platform's key page shows it."""
    digest = hashlib.sha256(envelope.public_raw(pub)).hexdigest()
    return " ".join(digest[i:i + 4] for i in range(0, 64, 4))


def public_pem_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name.removesuffix(".pem") + ".pub.pem")


def keygen(out: Path, *, force: bool = False) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        # created 0600 from the start: never a moment when another local user could read it
        fd = os.open(out, flags, 0o600)
    except FileExistsError:
        raise ToolError(f"{out} exists; refusing to overwrite a private key (use --force)") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.chmod(out, 0o600)
    public_pem_path(out).write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    return key


def load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ToolError(f"cannot read the private key {path}: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ToolError(f"{path} is not an ECDSA P-256 private key")
    return key


def load_opening_public(text: str) -> ec.EllipticCurvePublicKey:
    try:
        return envelope.load_public(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        raise ToolError("--opening-pub is not a base64 raw 65-byte P-256 point") from None


# --- plaintexts ------------------------------------------------------------------------------------

def yuan_to_fen(text: str) -> int:
    """'123,456.78' → 12345678 by string parsing: never through a float."""
    cleaned = text.strip().replace(",", "").replace("，", "")
    match = _YUAN.fullmatch(cleaned)
    if not match:
        raise ToolError(f"price {text!r} is not an amount in yuan with at most two decimals, e.g. 123456.78")
    fen = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    if not 0 < fen <= MAX_PRICE_FEN:
        raise ToolError("the price must be more than 0 and at most 10^13 yuan")
    return fen


def price_sheet(price_fen: int, duration_days: int | None = None, quality: str = "", remarks: str = "") -> bytes:
    """The 唱标 sheet exactly as the opening reads it (keys in this order, UTF-8, no spaces)."""
    if duration_days is not None and not 1 <= duration_days <= MAX_DURATION_DAYS:
        raise ToolError(f"duration days must be 1..{MAX_DURATION_DAYS}")
    if len(quality) > MAX_QUALITY or len(remarks) > MAX_REMARKS:
        raise ToolError(f"quality at most {MAX_QUALITY} characters, remarks at most {MAX_REMARKS}")
    sheet = {"v": 1, "price_fen": price_fen, "duration_days": duration_days, "quality": quality,
             "remarks": remarks}
    return json.dumps(sheet, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def zip_folder(path: Path) -> bytes:
    """A ZIP of the files under `path` (or of the one file), sorted relative names, fixed times."""
    path = Path(path)
    if path.is_file():
        files = [(path.name, path)]
    elif path.is_dir():
        files = sorted((p.relative_to(path).as_posix(), p) for p in path.rglob("*") if p.is_file())
    else:
        raise ToolError(f"{path} is neither a file nor a folder")
    if not files:
        raise ToolError(f"{path} holds no files")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, file in files:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, file.read_bytes())
    return buf.getvalue()


def plaintext_for(part: str, *, source: Path | None = None, price_yuan: str | None = None,
                  duration_days: int | None = None, quality: str = "", remarks: str = "") -> bytes:
    if part == "reserve":  # the owner's sealed 底价 (auction and 招标出让 lots): {"v": 1, "reserve_fen": N}
        if price_yuan is None:
            raise ToolError("the reserve part needs --price-yuan (the reserve price in yuan)")
        return json.dumps({"v": 1, "reserve_fen": yuan_to_fen(price_yuan)}, separators=(",", ":")).encode("ascii")
    if part == "documents":
        if source is None:
            raise ToolError("the documents part needs --in FILE|DIR")
        return zip_folder(source)
    if price_yuan is not None:
        return price_sheet(yuan_to_fen(price_yuan), duration_days, quality, remarks)
    if source is not None and Path(source).is_file():
        return Path(source).read_bytes()  # a price sheet JSON written beforehand
    raise ToolError("the price part needs --price-yuan (or --in a price sheet JSON file)")


# --- sealing ---------------------------------------------------------------------------------------

def seal_to(out: Path, plaintext: bytes, context: envelope.Context, opening_pub: ec.EllipticCurvePublicKey,
            key: ec.EllipticCurvePrivateKey) -> tuple[bytes, bytes]:
    """Seal and write `<out>/manifest.json` and `<out>/payload.bin`; returns (manifest bytes, payload)."""
    manifest, payload = envelope.seal(plaintext, context, opening_pub, key)
    raw = json.dumps(manifest, separators=(",", ":")).encode("ascii")
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").write_bytes(raw)
    (out / "payload.bin").write_bytes(payload)
    return raw, payload


# --- command line ----------------------------------------------------------------------------------

def _add_plaintext_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--price-yuan", help="报价（元），例如 123456.78")
    p.add_argument("--duration-days", type=int, help="工期（日历天）")
    p.add_argument("--quality", default="", help="质量标准，例如 合格")
    p.add_argument("--remarks", default="", help="备注")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trading.sealing.tool",
                                     description="投标文件制作工具 (ptbid/v1 offline sealing tool)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("keygen", help="生成签名密钥 / make an ECDSA P-256 signing key")
    p.add_argument("--out", type=Path, required=True, help="private key file (PEM, written 0600)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")

    p = sub.add_parser("seal", help="密封一个部分 / seal one part for a given submission id")
    p.add_argument("--key", type=Path, required=True)
    p.add_argument("--lot", required=True, help="标段交易编号 (lot_id)")
    p.add_argument("--bidder", required=True, help="统一社会信用代码 (bidder_id)")
    p.add_argument("--part", choices=envelope.PARTS, required=True)
    p.add_argument("--submission", required=True, help="submission id issued by the platform")
    p.add_argument("--opening-pub", required=True, help="the lot's opening public key, base64 raw point")
    p.add_argument("--in", dest="source", type=Path, help="documents: file or folder (zipped); price: sheet JSON")
    p.add_argument("--out", type=Path, required=True, help="folder for manifest.json and payload.bin")
    _add_plaintext_args(p)

    p = sub.add_parser("submit", help="密封并上传 / seal and upload through the API")
    p.add_argument("--api", required=True, help="API base, e.g. https://jy.example.gov.cn/api/v1")
    p.add_argument("--token", default=os.environ.get("PTBID_TOKEN"), help="API token (or env PTBID_TOKEN)")
    p.add_argument("--key", type=Path, required=True)
    p.add_argument("--lot", required=True)
    p.add_argument("--documents", type=Path, help="folder (or file) of the documents part")
    p.add_argument("--work", type=Path, default=Path("ptbid-work"),
                   help="folder for sealed envelopes and upload state (a rerun resumes)")
    p.add_argument("--receipts", type=Path, default=Path("."), help="folder for receipt JSON files")
    _add_plaintext_args(p)
    return parser


def main(argv: list[str] | None = None, *, transport=None, out=None) -> int:
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    try:
        if args.command == "keygen":
            key = keygen(args.out, force=args.force)
            print(f"private key: {args.out} (0600, keep it safe; never upload it)", file=out)
            print(f"public key:  {public_pem_path(args.out)} (register it on the 签名密钥 page)", file=out)
            print(f"kid:         {envelope.b64(envelope.kid(key.public_key()))}", file=out)
            print(f"fingerprint: {fingerprint(key.public_key())}", file=out)
        elif args.command == "seal":
            key = load_key(args.key)
            context = _context(args.lot, args.bidder, args.part, args.submission)
            plaintext = plaintext_for(args.part, source=args.source, price_yuan=args.price_yuan,
                                      duration_days=args.duration_days, quality=args.quality, remarks=args.remarks)
            _, payload = seal_to(args.out, plaintext, context, load_opening_public(args.opening_pub), key)
            print(f"sealed {args.part}: {args.out}/manifest.json, {args.out}/payload.bin ({len(payload)} bytes, "
                  f"sha256 {envelope.sha256_of(payload).hex()})", file=out)
        else:
            from .tool_client import submit_command
            submit_command(args, transport=transport, out=out)
    except ToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _context(lot: str, bidder: str, part: str, submission: str) -> envelope.Context:
    try:
        return envelope.Context(lot, bidder, part, submission)
    except envelope.EnvelopeError as exc:
        raise ToolError(f"bad context: {exc.detail}") from None


if __name__ == "__main__":
    sys.exit(main())
