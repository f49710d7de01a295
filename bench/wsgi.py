"""The WSGI entry of the upload benchmark (bench/upload.py starts gunicorn on `bench.wsgi:app`).

The real app (trading.factory.create_app) on the benchmark's schema and blob store, plus one
bench-only endpoint that production does not have: POST /bench/bare-upload, which reads the request
body and stores it in the same blob store (BlobStore.put_bytes: hash, write, fsync, rename) and does
nothing else — no log-in, no database, no checks. It is the baseline the upload protocol is compared
with, served by the same gunicorn workers in the same run.

A second bench-only endpoint, PUT /api/bench/accountable-upload, is the rung between the two: the least an
accountable upload pays — the caller's bearer token checked (the API's own log-in), the body stored
the same way, one audit entry appended under the head lock (who stored which digest) and the commit.
No envelope, no submission, no receipt. It shows how much of the protocol's cost is the platform's
floor (log-in + audit + commit) rather than the sealed-offer checks.

Environment: BENCH_SCHEMA (the PostgreSQL schema), BENCH_BLOB_ROOT (the blob directory),
BENCH_POOL_SIZE (database connections per worker, = gunicorn threads), BENCH_DATABASE_URL."""

from __future__ import annotations

import os

from flask import jsonify, request
from flask_login import current_user

from bench._offers import make_app
from trading.audit.services import record
from trading.core.blobs import get_store
from trading.core.web import service_context
from trading.extensions import csrf, db

app = make_app(os.environ.get("BENCH_SCHEMA", "bench_upload"), os.environ["BENCH_BLOB_ROOT"],
               pool_size=int(os.environ.get("BENCH_POOL_SIZE", "8")))


@app.post("/bench/bare-upload")
@csrf.exempt
def bare_upload():
    data = request.get_data(cache=False)
    return jsonify({"sha256": get_store().put_bytes(data), "len": len(data)}), 201


@app.put("/api/bench/accountable-upload")  # under /api/: the bearer token is read there only
@csrf.exempt
def accountable_upload():
    if not current_user.is_authenticated:  # the bearer token, through the API's request loader
        return jsonify({"error": "auth"}), 401
    data = request.get_data(cache=False)
    sha = get_store().put_bytes(data)
    ctx = service_context()
    recorded = record(ctx, "bench.stored", "blob", sha, payload={"sha256": sha, "len": len(data)})
    db.session.commit()
    return jsonify({"sha256": sha, "len": len(data), "seq": recorded.seq}), 201
