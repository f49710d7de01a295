"""A content-addressed blob store: files named by the lowercase hex SHA-256 of their bytes, on local
disk under the instance folder by default (config BLOB_ROOT, else <instance>/blobs), sharded as
ab/cd/abcd…; an object store can replace it behind the same methods later.

Writes go to a temporary file in the same directory tree and are moved into place with os.replace,
so a reader never sees half a blob. A staging area keeps the pieces of uploads in progress (the
chunks of a sealed offer) until they are assembled into one blob by streaming, never in memory.

    store = get_store()
    sha = store.put_bytes(b"...")        # -> hex digest
    with store.open(sha) as f: ...       # binary file
    store.read(sha); store.exists(sha); store.size(sha)

Imports: nothing of the domain. `get_store` reads the Flask app's config lazily (so that services,
which never import Flask, may call it)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEY = re.compile(r"[A-Za-z0-9._-]{1,128}")
COPY_BLOCK = 1 << 20


class BlobMissing(LookupError):
    """No blob with that digest."""


def _check_sha(sha: str) -> str:
    if not isinstance(sha, str) or not _HEX64.fullmatch(sha):
        raise ValueError("a blob is named by 64 lowercase hex digits")
    return sha


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key) or key in (".", ".."):
        raise ValueError("a staging key is an ASCII token [A-Za-z0-9._-]")
    return key


class BlobStore:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    # --- content-addressed blobs ---------------------------------------------------------------
    def path_for(self, sha: str) -> Path:
        sha = _check_sha(sha)
        return self.root / "sha256" / sha[:2] / sha[2:4] / sha

    def exists(self, sha: str) -> bool:
        return self.path_for(sha).is_file()

    def size(self, sha: str) -> int:
        try:
            return self.path_for(sha).stat().st_size
        except FileNotFoundError:
            raise BlobMissing(sha) from None

    def open(self, sha: str) -> BinaryIO:
        try:
            return open(self.path_for(sha), "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError:
            raise BlobMissing(sha) from None

    def read(self, sha: str) -> bytes:
        with self.open(sha) as f:
            return f.read()

    def put_bytes(self, data: bytes | bytearray | memoryview, *, sha: str | None = None) -> str:
        """`sha`: the SHA-256 hex the caller has just computed from these very bytes (an upload whose
        digest was checked against its manifest): they are written without being hashed again."""
        return self.put_stream([data], known_sha=sha)[0]

    def put_file(self, src: str | os.PathLike | BinaryIO) -> tuple[str, int]:
        """(sha, size) of a file copied in by streaming (a path or an open binary file)."""
        if isinstance(src, str | os.PathLike):
            with open(src, "rb") as f:
                return self.put_file(f)
        return self.put_stream(iter(lambda: src.read(COPY_BLOCK), b""))

    def put_stream(self, pieces: Iterable[bytes | bytearray | memoryview], *,
                   known_sha: str | None = None) -> tuple[str, int]:
        """(sha, size): writes the pieces to a temporary file while hashing (unless the caller
        knows the digest: `known_sha`), then moves it to its content address (an existing blob with
        the same digest is simply kept)."""
        if known_sha is not None:
            _check_sha(known_sha)
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        h, size = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix="blob-")
        try:
            with os.fdopen(fd, "wb") as out:
                for piece in pieces:
                    if known_sha is None:
                        h.update(piece)
                    out.write(piece)
                    size += len(piece)
                out.flush()
                os.fsync(out.fileno())
            sha = known_sha or h.hexdigest()
            target = self.path_for(sha)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha, size

    def link_staged(self, key: str, name: str, sha: str) -> str:
        """Give a staged piece its content address when the caller knows its SHA-256 already (taken
        from the bytes as they arrived: a one-chunk upload) — fsync, then a hard link: no second
        read, hash and write. Staged pieces are never modified in place (stage_put replaces the
        file), so the linked inode keeps the bytes that were hashed. The staged name stays until
        stage_remove, so a transaction that fails can be completed again."""
        _check_sha(sha)
        source, target = self.stage_path(key, name), self.path_for(sha)
        try:
            fd = os.open(source, os.O_RDONLY)
        except FileNotFoundError:
            raise BlobMissing(f"{key}/{name}") from None
        try:
            os.fsync(fd)  # durable before anything refers to it (put_stream fsyncs too)
        finally:
            os.close(fd)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except FileExistsError:  # the same bytes are stored already
            pass
        return sha

    def delete(self, sha: str) -> None:
        """Only for blobs nothing refers to (a payload that failed its checks)."""
        self.path_for(sha).unlink(missing_ok=True)

    # --- staging: pieces of uploads in progress --------------------------------------------------
    def staging_dir(self, key: str) -> Path:
        return self.root / "staging" / _check_key(key)

    def stage_path(self, key: str, name: str) -> Path:
        return self.staging_dir(key) / _check_key(name)

    def stage_put(self, key: str, name: str, data: bytes | bytearray | memoryview) -> Path:
        target = self.stage_path(key, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def stage_exists(self, key: str, name: str) -> bool:
        return self.stage_path(key, name).is_file()

    def stage_open(self, key: str, name: str) -> BinaryIO:
        try:
            return open(self.stage_path(key, name), "rb")  # noqa: SIM115
        except FileNotFoundError:
            raise BlobMissing(f"{key}/{name}") from None

    def stage_remove(self, key: str) -> None:
        shutil.rmtree(self.staging_dir(key), ignore_errors=True)

    def staged_keys(self) -> list[str]:
        """The uploads that have pieces in staging (for housekeeping)."""
        root = self.root / "staging"
        return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


# --- work that must wait for the database commit -----------------------------------------------

_AFTER_COMMIT = "blobs_after_commit"


def after_commit(session, fn) -> None:
    """Run `fn()` once the session's current transaction commits; drop it on rollback. For file
    clean-up that must not happen if the rows describing the files roll back (staged chunks are
    removed only once their upload is durably accepted, so a failed commit can be retried)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if not event.contains(Session, "after_commit", _run_after_commit):
        event.listen(Session, "after_commit", _run_after_commit)
        event.listen(Session, "after_rollback", _drop_after_commit)
    session.info.setdefault(_AFTER_COMMIT, []).append(fn)


def _run_after_commit(session) -> None:
    for fn in session.info.pop(_AFTER_COMMIT, []):
        try:
            fn()
        except OSError:  # clean-up only: a leftover file is harmless, a failed request is not
            pass


def _drop_after_commit(session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


def store_for_root(root: str | os.PathLike) -> BlobStore:
    return BlobStore(root)


def get_store() -> BlobStore:
    """The store of the current Flask app: BLOB_ROOT, else <instance folder>/blobs."""
    from flask import current_app  # lazy: services call this without importing Flask

    root = current_app.config.get("BLOB_ROOT") or os.path.join(current_app.instance_path, "blobs")
    cached = current_app.extensions.get("blob_store")
    if cached is None or str(cached.root) != str(root):
        cached = current_app.extensions["blob_store"] = BlobStore(root)
    return cached
