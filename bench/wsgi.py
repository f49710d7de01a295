"""The WSGI entry of the upload benchmark (bench/upload.py starts gunicorn on `bench.wsgi:app`).

The real app (trading.factory.create_app) on the benchmark's schema and blob store, plus one
bench-only endpoint that production does not have: POST /bench/bare-upload, which reads the request
body and stores it in the same blob store (BlobStore.put_bytes: hash, write, fsync, rename) and does
nothing else — no log-in, no database, no checks. It is the baseline the upload protocol is compared
with, served by the same gunicorn workers in the same run.

Environment: BENCH_SCHEMA (the PostgreSQL schema), BENCH_BLOB_ROOT (the blob directory),
BENCH_POOL_SIZE (database connections per worker, = gunicorn threads), BENCH_DATABASE_URL."""

from __future__ import annotations

import os

from flask import jsonify, request

from bench._offers import make_app
from trading.core.blobs import get_store
from trading.extensions import csrf

app = make_app(os.environ.get("BENCH_SCHEMA", "bench_upload"), os.environ["BENCH_BLOB_ROOT"],
               pool_size=int(os.environ.get("BENCH_POOL_SIZE", "8")))


@app.post("/bench/bare-upload")
@csrf.exempt
def bare_upload():
    data = request.get_data(cache=False)
    return jsonify({"sha256": get_store().put_bytes(data), "len": len(data)}), 201
