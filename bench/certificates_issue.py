"""Issuing certificates through the service (not HTTP): number + QR + render + PDF + store + the
final update, N certificates one after another and then N more with C concurrent approvals.

Each run uses a fresh database (a temporary SQLite file, or a PostgreSQL database created and
dropped on METROLAB_TEST_PG with ``--db postgres``) and one shared warm converter, as the app does.

    .venv/bin/python bench/certificates_issue.py -n 20 -c 4 [--db postgres]
Prints a table, writes bench/results/certificates_issue.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
ACCESS = {
    "postgres": "connection pool on, as metrolab serve runs",
    "sqlite": "held connections, WAL",
}
PG_ADMIN = os.environ.get("METROLAB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _environment(db: str) -> str:
    data_dir = Path(tempfile.mkdtemp(prefix="metrolab-bench-issue-"))
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


async def _bench(n: int, concurrency: int) -> dict[str, float]:

    from metrolab.accounts import staff
    from metrolab.certificates import services, workflow
    from metrolab.certificates.catalogue import instrument_type
    from metrolab.certificates.contract import SAMPLE
    from metrolab.cli import _upgrade
    from metrolab.customers.tables import Customer
    from metrolab.db import open_pool
    from metrolab.seed import seed_all
    from metrolab.web.auth import CurrentUser
    from metrolab.workflows.signatures import SignerProof

    await open_pool()
    await _upgrade()  # the lab's tables and the job queue's, as `metrolab db upgrade`
    await seed_all()
    customer = Customer(name="冀中能源峰峰集团有限公司大淑村矿", address="河北省邯郸市峰峰矿区")
    await customer.save()
    itype = await instrument_type("methane_detector")
    user = await staff.create_user(
        {
            "username": "bench_signatory",
            "full_name": "王志刚",
            "password": "bench-pass-1",
            "department": "",
        },
        ["signatory"],
    )
    signer = CurrentUser(
        id=user.id,
        username="bench_signatory",
        full_name="王志刚",
        language="zh",
        department_id=None,
        roles=frozenset({"signatory"}),
    )
    rows = [
        {"item": "示值误差", "result": "0.02", "unit": "%CH₄", "conclusion": "合格"},
        {"item": "报警误差", "result": "0.03", "unit": "%CH₄", "conclusion": "合格"},
        {"item": "响应时间", "result": "15", "unit": "s", "conclusion": "合格"},
    ]

    async def new(i: int) -> int:
        record = {
            "items": rows,
            "conclusion": "合格",
            "verified_on": "2026-03-12",
            "serial": f"SN-{i:05d}",
            "model": "JCB4",
        }
        ctx = services.build_context(
            record,
            customer={"name": customer.name, "address": customer.address},
            instrument_type=itype,
            people={"verifier": "张晓明", "checker": "李建华", "approver": "王志刚"},
            standards=[],
            lab=SAMPLE["lab"],
            number=None,
            revision=1,
            verify_url=None,
        )
        return (
            await services.create_certificate(
                ctx, instrument_type=itype["code"], customer_id=customer.id, status="approving"
            )
        )["id"]

    async def approve(cid: int) -> None:
        # Issuing happens only in the signed approval (its workflow effect); the password was checked.
        await workflow.act(cid, "approve", signer, password=SignerProof(signer.id))

    async def timed(cid: int) -> float:
        t0 = time.perf_counter()
        await approve(cid)
        return time.perf_counter() - t0

    services.converter()  # start and warm the pool before the clock
    await approve(await new(0))
    sequential = [await timed(await new(i)) for i in range(1, n + 1)]
    ids = [await new(i) for i in range(n + 1, 2 * n + 1)]
    gate = asyncio.Semaphore(concurrency)

    async def limited(cid: int) -> float:
        async with gate:
            return await timed(cid)

    t0 = time.perf_counter()
    concurrent = await asyncio.gather(*(limited(c) for c in ids))
    wall = time.perf_counter() - t0
    services.close_converter()
    return {
        "sequential_p50_s": statistics.median(sequential),
        "sequential_max_s": max(sequential),
        "sequential_per_s": n / sum(sequential),
        "concurrent_p50_s": statistics.median(concurrent),
        "concurrent_per_s": n / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20)
    parser.add_argument("-c", type=int, default=4, help="concurrent approvals")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    pg_name = _environment(args.db)
    sys.path.insert(0, str(ROOT / "platform"))
    if pg_name:
        asyncio.run(_pg(f'CREATE DATABASE "{pg_name}"'))
    try:
        result = asyncio.run(_bench(args.n, args.c))
    finally:
        if pg_name:
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
    print(f"issue() on {args.db}, n={args.n}, concurrency={args.c}, {os.cpu_count()} cores")
    print(f"  database access: {ACCESS[args.db]}")
    for key, value in result.items():
        print(f"  {key:<20} {value:8.3f}")
    out = ROOT / "bench" / "results" / "certificates_issue.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "db": args.db,
                "n": args.n,
                "concurrency": args.c,
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
