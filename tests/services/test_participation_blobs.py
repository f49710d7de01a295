"""The content-addressed blob store (trading.core.blobs) that keeps sealed payloads, staged upload
chunks, tender documents and cached PDF receipts."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from trading.core.blobs import BlobMissing, BlobStore, get_store


def test_put_read_open_exists_and_sharded_paths(tmp_path):
    store = BlobStore(tmp_path)
    sha = store.put_bytes(b"hello")
    assert sha == hashlib.sha256(b"hello").hexdigest()
    assert store.path_for(sha) == tmp_path / "sha256" / sha[:2] / sha[2:4] / sha
    assert store.exists(sha) and store.read(sha) == b"hello" and store.size(sha) == 5
    with store.open(sha) as f:
        assert f.read() == b"hello"
    assert store.put_bytes(b"hello") == sha  # the same content is stored once
    assert not any((tmp_path / "tmp").iterdir())  # no temporaries left behind


def test_put_file_streams_from_a_path_or_a_file(tmp_path):
    store = BlobStore(tmp_path / "s")
    data = os.urandom(3 * (1 << 20) + 7)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    assert store.put_file(src) == (hashlib.sha256(data).hexdigest(), len(data))
    assert store.put_file(io.BytesIO(b"abc"))[1] == 3


def test_missing_blobs_and_bad_names(tmp_path):
    store = BlobStore(tmp_path)
    with pytest.raises(BlobMissing):
        store.read("0" * 64)
    assert not store.exists("0" * 64)
    for bad in ("../../etc/passwd", "A" * 64, "0" * 63):
        with pytest.raises(ValueError):
            store.path_for(bad)
    for key in ("..", "a/b", ""):
        with pytest.raises(ValueError):
            store.staging_dir(key)


def test_staging_put_replace_open_remove(tmp_path):
    store = BlobStore(tmp_path)
    store.stage_put("sid_1", "0", b"one")
    store.stage_put("sid_1", "0", b"two")  # replaced atomically
    with store.stage_open("sid_1", "0") as f:
        assert f.read() == b"two"
    assert [p.name for p in store.staging_dir("sid_1").iterdir()] == ["0"]
    store.stage_remove("sid_1")
    assert not store.stage_exists("sid_1", "0")
    with pytest.raises(BlobMissing):
        store.stage_open("sid_1", "0")


def test_the_app_store_lives_under_the_instance_folder_or_blob_root(app, tmp_path):
    assert get_store().root == tmp_path / "blobs"
    app.config["BLOB_ROOT"] = str(tmp_path / "elsewhere")
    assert get_store().root == tmp_path / "elsewhere"


def test_a_staged_piece_whose_digest_is_known_is_linked_not_copied(tmp_path):
    store = BlobStore(tmp_path)
    data = os.urandom(3000)
    sha = hashlib.sha256(data).hexdigest()
    staged = store.stage_put("up1", "0", data)
    assert store.link_staged("up1", "0", sha) == sha and store.read(sha) == data
    assert os.stat(staged).st_ino == os.stat(store.path_for(sha)).st_ino  # one copy of the bytes
    assert store.link_staged("up1", "0", sha) == sha  # again: the blob is there already
    store.stage_remove("up1")
    assert store.read(sha) == data  # the blob outlives the staging area
    with pytest.raises(BlobMissing):
        store.link_staged("up1", "0", sha)
    with pytest.raises(ValueError):
        store.link_staged("up2", "0", "not-a-digest")


def test_put_bytes_with_the_callers_digest_writes_without_hashing_again(tmp_path):
    store = BlobStore(tmp_path)
    data = b"sealed" * 100
    sha = hashlib.sha256(data).hexdigest()
    assert store.put_bytes(data, sha=sha) == sha == store.put_bytes(data)
    assert store.read(sha) == data and not list((tmp_path / "tmp").iterdir())
    with pytest.raises(ValueError):
        store.put_bytes(data, sha="ABC")
