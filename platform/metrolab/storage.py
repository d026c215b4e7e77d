"""Content-addressed file store (SHA-256) under the data folder: signatures, scans, issued PDFs.
A stored file is never overwritten: the same bytes always have the same name."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from metrolab.settings import get_settings


def _path(digest: str) -> Path:
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("invalid digest")
    return get_settings().files_dir / digest[:2] / digest


def put(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    path = _path(digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return digest


def get(digest: str) -> bytes:
    return _path(digest).read_bytes()


def exists(digest: str) -> bool:
    try:
        return _path(digest).exists()
    except ValueError:
        return False
