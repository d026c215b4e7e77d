"""The S3-compatible file store (METROLAB_FILE_STORE=s3, issue 15): several hosts share one bucket.
Against a real S3 server speaking the protocol over HTTP (moto's server; MinIO is not packaged for
Debian or PyPI): files go to the bucket and nothing to the local folder, an issued certificate's PDF
is in the bucket and downloads from its page, and a backup of an S3 lab restores into a lab on the
local store with every PDF intact."""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from conftest import _free_port, run
from test_audit_chain import lab_async
from test_backup import _cli, _pages
from test_backup import empty_lab as empty_lab  # noqa: F401  (a fixture)

BUCKET = "metrolab-files"


@pytest.fixture(scope="module")
def s3_server():
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_server: str, monkeypatch: pytest.MonkeyPatch):
    from minio import Minio

    prefix = f"lab-{os.getpid()}-{os.urandom(3).hex()}"
    client = Minio(s3_server.removeprefix("http://"), "test", "test", secure=False)
    if not client.bucket_exists(BUCKET):
        client.make_bucket(BUCKET)
    for name, value in {
        "FILE_STORE": "s3",
        "S3_ENDPOINT": s3_server,
        "S3_BUCKET": BUCKET,
        "S3_ACCESS_KEY": "test",
        "S3_SECRET_KEY": "test",
        "S3_PREFIX": prefix,
        "S3_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(f"METROLAB_{name}", value)
    # The files stored before the switch (the shipped templates the database already holds) move
    # to the bucket, as a lab moving to S3 copies its folder.
    from metrolab import storage
    from metrolab.settings import get_settings

    local = storage.LocalStore(get_settings().files_dir)
    for digest in local.digests():
        storage.put(local.read(digest))
    return client, prefix


def _local_files() -> list[Path]:
    from metrolab.settings import get_settings

    root = get_settings().files_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.is_dir() else []


def test_files_go_to_the_bucket_and_come_back_checked(db, s3):
    from metrolab import storage

    client, prefix = s3
    before = _local_files()
    data = b"%PDF-1.7 scan of an entrustment slip"
    digest = storage.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert storage.put(data) == digest  # the same bytes, the same object
    assert storage.get(digest) == data and storage.exists(digest)
    assert storage.describe() == f"s3://{BUCKET}/{prefix}/"
    names = [o.object_name for o in client.list_objects(BUCKET, prefix=prefix, recursive=True)]
    assert f"{prefix}/{digest[:2]}/{digest}" in names
    assert digest in list(storage.digests())
    assert _local_files() == before  # nothing written beside the app

    missing = hashlib.sha256(b"never stored").hexdigest()
    assert not storage.exists(missing)
    with pytest.raises(FileNotFoundError):
        storage.get(missing)
    with pytest.raises(ValueError):
        storage.get("../../etc/passwd")


def test_an_s3_lab_issues_into_the_bucket_and_its_backup_restores_onto_local_files(
    s3, seeded, converter, browser, make_user, empty_lab, tmp_path: Path
):
    from metrolab import storage
    from metrolab.certificates.services import get_certificate

    client, prefix = s3
    lab = run(lab_async(serials=("SN-S3-0001", "SN-S3-0002")))
    cert = run(get_certificate(lab["certificates"][0]))
    digest = cert["pdf_sha256"]
    assert digest and client.stat_object(BUCKET, f"{prefix}/{digest[:2]}/{digest}").size > 1000
    assert all(digest not in p.name for p in _local_files())

    browser.login(make_user("signatory"))
    pdf = browser.get(f"/certificates/{cert['id']}/pdf")
    assert pdf.status_code == 200 and hashlib.sha256(pdf.content).hexdigest() == digest

    archive = tmp_path / "s3-lab.tar.gz"
    made = _cli("backup", str(archive), env=dict(os.environ))
    assert made.returncode == 0, made.stdout + made.stderr
    with tarfile.open(archive) as tar:
        stored = {n.rsplit("/", 1)[-1] for n in tar.getnames() if n.startswith("files/")}
    assert stored == set(storage.digests()) and digest in stored

    target = empty_lab("restored-local")  # no METROLAB_S3_*: the local store
    done = _cli("restore", str(archive), env=target)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(stored)} 个文件" in done.stdout
    pages = _pages(target)
    assert pages and all(p["page"] == 200 and p["pdf_ok"] for p in pages), pages
