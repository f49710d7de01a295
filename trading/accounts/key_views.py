"""Pages: 签名密钥 (a bidder organisation's signing keys). Thin: load → check access → one service call →
respond. The page lists the keys and takes a PEM public key from the offline tool and revocations as
plain forms (they work without JavaScript); making a key in the browser, the backup file and restoring
it are static/js/sealing/keys.js, which talks to /api/v1/signing-keys (the private key never leaves
the browser)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from trading.core.errors import DomainError
from trading.core.i18n import current_locale
from trading.core.web import service_context
from trading.sealing.envelope import b64

from . import signing_keys as keys_service
from .web_auth import role_required

bp = Blueprint("keys", __name__)

#: a PEM public key is a few hundred bytes; anything bigger is not one
MAX_PEM_BYTES = 8 * 1024


def _page(status: int = 200, pem: str = "", label: str = "", error: str | None = None):
    keys = keys_service.list_signing_keys(service_context())
    return render_template("keys/signing_keys.html", keys=keys, grouped=keys_service.grouped, b64=b64,
                           pem=pem, label=label, pem_error=error), status


@bp.route("/")
@role_required("bidder")
def signing_keys():
    return _page()


@bp.route("/pem", methods=["POST"])
@role_required("bidder")
def register_pem():
    pem = request.form.get("pem", "")
    upload = request.files.get("pem_file")
    if upload and upload.filename:
        pem = upload.read(MAX_PEM_BYTES + 1).decode("ascii", errors="replace")
    label = request.form.get("label", "")
    ctx = service_context()
    try:
        raw = keys_service.public_raw_from_pem(pem[:MAX_PEM_BYTES])
        key = keys_service.register_signing_key(ctx, public_raw=raw, label=label, source="tool")
    except DomainError as err:
        ctx.session.rollback()
        return _page(err.status, pem=pem[:MAX_PEM_BYTES], label=label, error=err.message(current_locale()))
    flash(_("已登记签名公钥，指纹：%(fp)s", fp=keys_service.grouped(key.fingerprint)), "success")
    return redirect(url_for("keys.signing_keys"))


@bp.route("/<int:key_id>/revoke", methods=["POST"])
@role_required("bidder")
def revoke(key_id: int):
    ctx = service_context()
    try:
        key = keys_service.revoke_signing_key(ctx, key_id, request.form.get("reason", ""))
    except DomainError as err:
        if err.status == 404:
            raise
        ctx.session.rollback()
        flash(err.message(current_locale()), "danger")
        return redirect(url_for("keys.signing_keys"))
    flash(_("已吊销签名密钥 %(fp)s…", fp=key.fingerprint[:16]), "success")
    return redirect(url_for("keys.signing_keys"))
