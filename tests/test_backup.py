"""`metrolab backup` / `metrolab restore` (issue 12 item 5): a lab with issued certificates, backed up
and restored into an empty database and an empty data folder, still answers every QR page as issued
by this lab (the token is signed with the restored secret_key), every PDF still has its hash, and
`metrolab audit verify` passes (the chains are keyed with the restored audit_key). Without the keys
restore refuses, or — when told to go on — says loudly what will break, and it does."""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import _PG_ADMIN, ROOT, TEST_DB, _pg_admin, run
from test_audit_chain import audit_cli, lab_async

# Run inside the restored lab: every issued certificate's public page and PDF hash.
CHECK = """
import asyncio, hashlib, json
from litestar.testing import TestClient
from metrolab import storage
from metrolab.app import create_app
from metrolab.certificates.tables import Certificate

async def issued():
    return await Certificate.select().where(Certificate.pdf_sha256 != "")

out = []
with TestClient(create_app()) as client:
    for cert in asyncio.run(issued()):
        page = client.get(f"/verify/{cert['verify_token']}")
        pdf = storage.get(cert["pdf_sha256"])
        out.append({
            "number": cert["number"],
            "page": page.status_code,
            "shows_number": cert["number"] in page.text,
            "pdf_ok": hashlib.sha256(pdf).hexdigest() == cert["pdf_sha256"],
        })
print(json.dumps(out))
"""


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "metrolab.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


@pytest.fixture
def empty_lab(tmp_path: Path):
    """A fresh data folder and an empty database (a second SQLite file / a new PostgreSQL
    database), as the environment of a lab that has nothing yet."""
    made = []

    def make(name: str) -> dict:
        data = tmp_path / name
        env = {k: v for k, v in os.environ.items() if not k.startswith("METROLAB_")}
        env.update(METROLAB_DATA_DIR=str(data), METROLAB_TEST_FAST_HASH="1", METROLAB_DB_POOL="0")
        env["METROLAB_BASE_URL"] = os.environ["METROLAB_BASE_URL"]
        if TEST_DB == "postgres":
            db = f"metrolab_restore_{secrets.token_hex(4)}"
            run(_pg_admin(f'CREATE DATABASE "{db}"'))
            made.append(db)
            env["METROLAB_DATABASE_URL"] = _PG_ADMIN.rsplit("/", 1)[0] + f"/{db}"
        else:
            env["METROLAB_DATABASE_URL"] = f"sqlite:///{data / 'restored.sqlite3'}"
        return env

    yield make
    for db in made:
        run(_pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


def _pages(env: dict) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_backup_restore_into_an_empty_lab_keeps_qr_pages_pdfs_and_chains(
    seeded, converter, empty_lab, tmp_path: Path
):
    run(lab_async(serials=("SN-BK-0001", "SN-BK-0002", "SN-BK-0003")))
    archive = tmp_path / "lab.tar.gz"
    made = _cli("backup", str(archive), env=dict(os.environ))
    assert made.returncode == 0, made.stdout + made.stderr
    assert "secret_key" in made.stdout and "audit_key" in made.stdout

    target = empty_lab("restored")
    done = _cli("restore", str(archive), env=target)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "与清单一致" in done.stdout and "secret_key、audit_key" in done.stdout
    assert "警告" not in done.stderr, done.stderr

    pages = _pages(target)
    assert pages and all(p["page"] == 200 and p["shows_number"] and p["pdf_ok"] for p in pages), (
        pages
    )
    verified = audit_cli("verify", env=target)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "审计链完好" in verified.stdout

    again = _cli("restore", str(archive), env=target)  # the target holds a lab now
    assert again.returncode == 1 and "--force" in again.stderr, again.stderr
    forced = _cli("restore", str(archive), "--force", env=target)
    assert forced.returncode == 0, forced.stdout + forced.stderr


def test_a_backup_without_keys_is_refused_or_restored_with_a_loud_warning(
    seeded, converter, empty_lab, tmp_path: Path
):
    run(lab_async(serials=("SN-BK-0101",)))
    archive = tmp_path / "nokeys.tar.gz"
    made = _cli("backup", str(archive), "--no-keys", env=dict(os.environ))
    assert made.returncode == 0 and "非本所出具" in made.stderr, made.stdout + made.stderr

    target = empty_lab("nokeys")
    refused = _cli("restore", str(archive), env=target)
    assert refused.returncode == 1, refused.stdout
    assert "secret_key" in refused.stderr and "非本所出具" in refused.stderr

    anyway = _cli("restore", str(archive), "--without-keys", env=target)
    assert anyway.returncode == 0, anyway.stdout + anyway.stderr
    assert "警告" in anyway.stderr and "非本所出具" in anyway.stderr
    assert [p["page"] for p in _pages(target)] == [404]  # what the warning said: not genuine
    assert audit_cli("verify", env=target).returncode == 1


def test_a_damaged_archive_is_refused_before_anything_is_touched(db, empty_lab, tmp_path: Path):
    import tarfile

    archive = tmp_path / "lab.tar.gz"
    made = _cli("backup", str(archive), env=dict(os.environ))
    assert made.returncode == 0, made.stderr
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name.startswith("keys/secret_key"):
                data = b"another-key"
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    target = empty_lab("damaged")
    out = _cli("restore", str(damaged), env=target)
    assert out.returncode == 1 and "keys/secret_key" in out.stderr, out.stderr
    assert not (Path(target["METROLAB_DATA_DIR"]) / "files").exists()
