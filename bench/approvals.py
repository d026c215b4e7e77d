"""Batch approval (批量提交) through the service, against the pure render + PDF cost of the same
certificates. N certificates are brought to 批准中 through the real workflow (entrustment → task →
record → compile → submit 检定 → pass 核验), then:

* baseline: render the .docx and convert it to PDF for each certificate, one after another (no
            database, no workflow), and the same kept two in flight (as the batch keeps them);
* batch:    ``approve_batch`` — one password, per certificate: rules, signature, locked transition,
            number, QR, render, PDF, PAdES signature and SM2 seal, store, final update.

Without a job queue (SQLite, METROLAB_JOBS=inline) the batch issues through a pipeline
(``services.IssuePipeline``): the next certificate is approved and the one before signed and stored
while LibreOffice converts, two in flight. Fresh database (PostgreSQL on METROLAB_TEST_PG by
default, ``--db sqlite`` for a temporary file), one warm converter of two LibreOffice servers.

    .venv/bin/python bench/approvals.py -n 20 [--db sqlite]
Prints a table, writes bench/results/approvals.json.

2026-12-06, n=20, 2 cores, pool on: PostgreSQL 0.261 s per certificate against 0.337 s one after
another (0.78×) and 0.151 s two in flight (1.74×); SQLite 0.314 against 0.363 (0.87×) and 0.195
(1.61×). What the batch adds beyond render + PDF is CPU in this process — pyHanko's CMS (asn1crypto
re-encoding: ~40 ms), the pure-Python SM2 seal (~14 ms), the transition and issue queries — so
beside a second LibreOffice on two cores it shows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
ACCESS = {
    "postgres": "connection pool on, as metrolab serve runs",
    "sqlite": "held connections, WAL",
}
PG_ADMIN = os.environ.get("METROLAB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench-pass-123456"


def _environment(db: str) -> str:
    data_dir = Path(tempfile.mkdtemp(prefix="metrolab-bench-approvals-"))
    os.environ["METROLAB_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("METROLAB_SECRET_KEY", "bench-secret")
    os.environ.pop("METROLAB_DB_POOL", None)  # the pool on, as the server runs
    # Rendering inside the approval, to set its whole cost against render + PDF alone; the queued
    # path (approval returns, workers render) is bench/render_queue.py.
    os.environ.setdefault("METROLAB_JOBS", "inline")
    if db == "postgres":
        name = f"metrolab_bench_{secrets.token_hex(3)}"
        os.environ["METROLAB_DATABASE_URL"] = urlunsplit(
            urlsplit(PG_ADMIN)._replace(path=f"/{name}")
        )
        return name
    os.environ["METROLAB_DATABASE_URL"] = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    return ""


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _user(role: str, name: str):  # noqa: ANN202
    from metrolab.accounts import staff
    from metrolab.web.auth import CurrentUser

    user = await staff.create_user(
        {
            "username": f"{role}_{secrets.token_hex(2)}",
            "full_name": name,
            "password": PASSWORD,
            "department": "",
        },
        [role],
    )
    return CurrentUser(
        id=user.id,
        username=role,
        full_name=name,
        language="zh",
        department_id=None,
        roles=frozenset([role]),
    )


async def _approving(n: int) -> tuple[list[int], object]:
    """N certificates in 批准中, and the approver."""
    from metrolab.accounts.tables import Qualification
    from metrolab.business import services
    from metrolab.certificates import workflow as cw
    from metrolab.certificates.catalogue import instrument_type
    from metrolab.engine.forms import compute, load_definition, parse_submission, sample_data
    from metrolab.records.tables import OriginalRecord

    clerk, verifier = await _user("clerk", "业务员"), await _user("verifier", "检定员")
    checker, approver = await _user("checker", "核验员"), await _user("signatory", "批准人")
    await Qualification.insert(
        Qualification(
            user=verifier.id,
            certificate_no="JD-1",
            instrument_types=["methane_detector"],
            valid_until=date(2030, 1, 1),
        )
    )
    itype = await instrument_type("methane_detector")
    form = json.loads((ROOT / "form_schemas" / f"{itype['record_form']}.json").read_text())
    defn = load_definition(form, catalogue=itype)
    sample = compute(defn, sample_data(defn, catalogue=itype), catalogue=itype)
    pin = await services.entrustment_form()
    ids = []
    for start in range(0, n, 200):  # an entrustment holds at most 200 instruments
        size = min(200, n - start)
        posted = {
            "customer": "压测煤矿",
            "contact": "张三",
            "phone": "0310-5551234",
            "service_mode": "送检",
        }
        for i in range(size):
            posted.update(
                {
                    f"instruments.{i}.instrument_type": "methane_detector",
                    f"instruments.{i}.serial": f"SN-{start + i:05d}",
                    f"instruments.{i}.quantity": "1",
                }
            )
        data = parse_submission(pin.defn, posted)
        problems, codes = await services.check_entrustment(pin, data)
        assert not problems, problems
        e = await services.create_entrustment(clerk, pin, data, codes)
        await services.receive(e["id"], verifier, size)
        for t in await services.tasks_of(e["id"]):
            await services.assign(t["id"], verifier.id, verifier)
            record_id = await services.open_record(t["id"], verifier)
            await OriginalRecord.update(
                {
                    OriginalRecord.data: sample.data,
                    OriginalRecord.conclusion: sample.conclusion,
                    OriginalRecord.standards: ["STD-GAS-CO-01"],
                    OriginalRecord.verified_on: date(2026, 3, 12),
                    OriginalRecord.status: "saved",
                }
            ).where(OriginalRecord.id == record_id)
            cid = await services.compile_certificate(t["id"], verifier)
            await cw.act(cid, "submit", verifier, password=PASSWORD)
            await cw.act(cid, "pass_check", checker, password=PASSWORD)
            ids.append(cid)
    return ids, approver


async def _bench(n: int) -> dict[str, float]:
    import anyio

    from metrolab.certificates import services as certs
    from metrolab.certificates import workflow as cw
    from metrolab.certificates.tables import Certificate
    from metrolab.cli import _upgrade
    from metrolab.db import open_pool
    from metrolab.engine.documents.qr import qr_png
    from metrolab.engine.documents.render import render_docx
    from metrolab.seed import seed_all

    await open_pool()
    await _upgrade()  # the lab's tables and the job queue's, as `metrolab db upgrade`
    await seed_all()
    ids, approver = await _approving(n)
    # A warm converter, render process and signer, as a running worker has (services.warm_up).
    await anyio.to_thread.run_sync(certs.warm_up)
    rows = [await certs.get_certificate(i) for i in ids]
    _tv, template = await certs._template_bytes(rows[0])  # noqa: SLF001
    render_docx(template, rows[0]["context"], {})  # the template's checks, cached as a lab's are

    def contexts():  # noqa: ANN202
        for i, row in enumerate(rows):
            ctx = dict(row["context"])
            ctx["certificate"] = {
                **ctx.get("certificate", {}),
                "number": f"JD2026-{i:05d}",
                "kind": row["kind"],
                "revision": 0,
                "issued_at": date.today(),
            }
            yield i, ctx

    def render_pdf(i: int, ctx: dict) -> bytes:
        return certs.to_pdf(render_docx(template, ctx, {"qr_code": qr_png(f"x{i}")}))

    t0 = time.perf_counter()
    for i, ctx in contexts():
        await anyio.to_thread.run_sync(render_pdf, i, ctx)
    baseline = time.perf_counter() - t0
    # The same documents kept two in flight, as the batch's pipeline keeps them (services.IssuePipeline).
    t0 = time.perf_counter()
    making: list[asyncio.Future] = []
    for i, ctx in contexts():
        making.append(asyncio.ensure_future(anyio.to_thread.run_sync(render_pdf, i, ctx)))
        if len(making) >= 2:
            await making.pop(0)
    await asyncio.gather(*making)
    baseline_2 = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = await cw.approve_batch(ids, approver, PASSWORD)
    batch = time.perf_counter() - t0
    assert not result.failed, result.failed
    assert await Certificate.count().where(Certificate.pdf_sha256 != "") == n
    certs.close_converter()
    return {
        "baseline_render_pdf_s": baseline,
        "baseline_two_in_flight_s": baseline_2,
        "batch_approve_s": batch,
        "baseline_per_cert_s": baseline / n,
        "baseline_two_in_flight_per_cert_s": baseline_2 / n,
        "batch_per_cert_s": batch / n,
        "batch_vs_baseline": batch / baseline,
        "batch_vs_two_in_flight": batch / baseline_2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    args = parser.parse_args()
    pg_name = _environment(args.db)
    sys.path.insert(0, str(ROOT / "platform"))
    if pg_name:
        asyncio.run(_pg(f'CREATE DATABASE "{pg_name}"'))
    try:
        result = asyncio.run(_bench(args.n))
    finally:
        if pg_name:
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
    print(f"batch approval on {args.db}, n={args.n}, {os.cpu_count()} cores")
    print(f"  database access: {ACCESS[args.db]}")
    for key, value in result.items():
        print(f"  {key:<36} {value:8.3f}")
    out = ROOT / "bench" / "results" / "approvals.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "db": args.db,
                "n": args.n,
                "machine": platform.platform(),
                "cores": os.cpu_count(),
                "database_access": ACCESS[args.db],
                **result,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
