"""Content-addressed file store (SHA-256): signatures, scans, issued PDFs. A stored file is never
overwritten: the same bytes always have the same name, so a file read back can be checked against
its name.

Two places to keep them, chosen by METROLAB_FILE_STORE:
* ``local`` (default) — under the data folder (``var/files/ab/abcd…``); one host.
* ``s3`` — a bucket on an S3-compatible server (MinIO, Ceph, a cloud's object store), so several
  app servers and render workers on different hosts share one store. METROLAB_S3_ENDPOINT
  (``http://minio.lab:9000``), METROLAB_S3_BUCKET, METROLAB_S3_ACCESS_KEY, METROLAB_S3_SECRET_KEY,
  optional METROLAB_S3_PREFIX and METROLAB_S3_REGION."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from metrolab.settings import get_settings

HEX = frozenset("0123456789abcdef")


def _checked(digest: str) -> str:
    if len(digest) != 64 or not HEX.issuperset(digest):
        raise ValueError("invalid digest")
    return digest


class Store(Protocol):
    def write(self, digest: str, data: bytes) -> None: ...
    def read(self, digest: str) -> bytes: ...
    def has(self, digest: str) -> bool: ...
    def digests(self) -> Iterator[str]: ...


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def write(self, digest: str, data: bytes) -> None:
        path = self.path(digest)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    def read(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()

    def has(self, digest: str) -> bool:
        return self.path(digest).exists()

    def digests(self) -> Iterator[str]:
        if self.root.is_dir():
            for path in sorted(self.root.glob("??/*")):
                if len(path.name) == 64 and HEX.issuperset(path.name):
                    yield path.name


class S3Store:
    """Objects named ``<prefix>ab/abcd…`` in one bucket (the same layout as the local store)."""

    def __init__(self) -> None:
        from minio import Minio

        endpoint = urlsplit(_env("METROLAB_S3_ENDPOINT"))
        self.client = Minio(
            endpoint.netloc,
            access_key=_env("METROLAB_S3_ACCESS_KEY"),
            secret_key=_env("METROLAB_S3_SECRET_KEY"),
            secure=endpoint.scheme == "https",
            region=os.environ.get("METROLAB_S3_REGION") or None,
        )
        self.bucket = _env("METROLAB_S3_BUCKET")
        self.prefix = os.environ.get("METROLAB_S3_PREFIX", "").strip("/")
        self.prefix = f"{self.prefix}/" if self.prefix else ""

    def _key(self, digest: str) -> str:
        return f"{self.prefix}{digest[:2]}/{digest}"

    def write(self, digest: str, data: bytes) -> None:
        if not self.has(digest):
            self.client.put_object(self.bucket, self._key(digest), io.BytesIO(data), len(data))

    def read(self, digest: str) -> bytes:
        from minio.error import S3Error

        try:
            response = self.client.get_object(self.bucket, self._key(digest))
        except S3Error as e:
            if e.code == "NoSuchKey":
                raise FileNotFoundError(digest) from e
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def has(self, digest: str) -> bool:
        from minio.error import S3Error

        try:
            self.client.stat_object(self.bucket, self._key(digest))
        except S3Error as e:
            if e.code in {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}:
                return False
            raise
        return True

    def digests(self) -> Iterator[str]:
        for obj in self.client.list_objects(self.bucket, prefix=self.prefix, recursive=True):
            name = (obj.object_name or "").rsplit("/", 1)[-1]
            if len(name) == 64 and HEX.issuperset(name):
                yield name


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"METROLAB_FILE_STORE=s3 需要设置 {name}")
    return value


def store() -> Store:
    kind = os.environ.get("METROLAB_FILE_STORE", "local")
    if kind == "s3":
        return _s3(*(os.environ.get(f"METROLAB_S3_{k}", "") for k in S3_SETTINGS))
    if kind != "local":
        raise RuntimeError(f"METROLAB_FILE_STORE 只能是 local 或 s3，而不是 {kind!r}")
    return LocalStore(get_settings().files_dir)


S3_SETTINGS = ("ENDPOINT", "BUCKET", "ACCESS_KEY", "SECRET_KEY", "PREFIX", "REGION")


@lru_cache(maxsize=4)
def _s3(*_settings: str) -> S3Store:
    """One client (and its connection pool) per configuration."""
    return S3Store()


def describe() -> str:
    """Where the files are, for `metrolab check` and the restore report."""
    s = store()
    if isinstance(s, S3Store):
        return f"s3://{s.bucket}/{s.prefix}"
    return str(get_settings().files_dir)


def put(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    store().write(digest, data)
    return digest


def get(digest: str) -> bytes:
    return store().read(_checked(digest))


def exists(digest: str) -> bool:
    try:
        return store().has(_checked(digest))
    except ValueError:
        return False


def digests() -> Iterator[str]:
    """Every stored file's name (for the backup)."""
    return store().digests()
