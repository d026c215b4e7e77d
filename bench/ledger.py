"""The instrument ledger at lab scale: N instruments over N/20 customers (bulk insert), then p50/p95 of
the lab-wide due-date queries (the clerks' task counter, the due page's first 500 rows + count, the whole
30-day list as the API returns it, the per-customer summary),
one customer's pages (ledger + statistics, portal) and a gas station's compliance computation — on SQLite
and on PostgreSQL, each in a fresh database (temporary SQLite file; a PostgreSQL database created and
dropped on METROLAB_TEST_PG), each in a child process (Piccolo binds tables to the engine at import).

    .venv/bin/python bench/ledger.py -n 100000
Prints a table, writes bench/results/ledger.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("METROLAB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PER_CUSTOMER = 20
CODES = [
    "fuel_dispenser",
    "metering_tank",
    "standard_metal_measure",
    "dipstick",
    "temperature_transmitter",
    "level_gauge",
    "methane_detector",
    "co_detector",
    "pressure_gauge",
    "mine_anemometer",
]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(p95 * 1000, 2),
        "runs": len(ordered),
    }


async def timed(fn, runs: int) -> dict[str, float]:  # noqa: ANN001
    await fn()  # warm
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - t0)
    return percentiles(samples)


async def child(n: int) -> dict:

    from metrolab.cli import _upgrade
    from metrolab.customers.tables import Customer
    from metrolab.db import close_pool, open_pool
    from metrolab.ledger import compliance, dossier, services
    from metrolab.ledger.tables import LedgerInstrument
    from metrolab.seed import seed_all

    await _upgrade()
    await seed_all()
    await open_pool()  # as `metrolab serve` does
    types = await services.instrument_types()
    rng = random.Random(7)
    today = date.today()
    customers = max(1, n // PER_CUSTOMER)
    t0 = time.perf_counter()
    for start in range(0, customers, 1000):
        await Customer.insert(
            *[
                Customer(name=f"压测客户{i:05d}", category="加油站" if i % 5 == 0 else "煤矿")
                for i in range(start, min(customers, start + 1000))
            ]
        )
    ids = [
        r["id"]
        for r in await Customer.select(Customer.id)
        .where(Customer.name.like("压测客户%"))
        .order_by(Customer.id)
    ]
    batch: list[LedgerInstrument] = []
    for i in range(n):
        code = CODES[i % len(CODES)] if ids[i // PER_CUSTOMER] % 5 else CODES[i % 6]
        # most instruments within their cycle, about 5 % overdue by up to two months
        cycle_days = int(types[code]["cycle_months"] * 30.4)
        verified = today - timedelta(days=rng.randint(0, cycle_days + cycle_days // 20 + 1))
        due = services.due_date(verified, types[code]["cycle_months"])
        batch.append(
            LedgerInstrument(
                customer=ids[i // PER_CUSTOMER],
                instrument_type=code,
                name=services.type_name(types, code),
                serial=f"S{i:07d}",
                model="M",
                status="in_use" if i % 17 else "idle",
                compulsory=bool(types[code]["compulsory"]),
                nozzles=4 if code == "fuel_dispenser" else None,
                last_verified_on=verified,
                last_conclusion="合格",
                next_due_on=due,
                last_certificate=f"C{i:07d}",
                source="import",
            )
        )
        if len(batch) == 500:
            await LedgerInstrument.insert(*batch)
            batch = []
    if batch:
        await LedgerInstrument.insert(*batch)
    insert_s = time.perf_counter() - t0
    one = ids[len(ids) // 2]
    station = next(c for c in ids if c % 5 == 0)
    overdue = await LedgerInstrument.count().where(LedgerInstrument.next_due_on < today)
    results = {
        "instruments": n,
        "customers": customers,
        "insert_s": round(insert_s, 2),
        "insert_rows_per_s": round(n / insert_s),
        "overdue": overdue,
        "due_within_30": await services.count_due(30),
        "task_counter_count_due_30": await timed(lambda: services.count_due(30), 30),
        "lab_due_page_30": await timed(
            lambda: asyncio.gather(services.due(30, limit=500), services.count_due(30)), 30
        ),
        "lab_due_list_30_all_rows": await timed(lambda: services.due(30), 10),
        "lab_due_by_customer_30": await timed(lambda: services.due_by_customer(30), 10),
        "customer_due_30": await timed(lambda: services.due(30, one), 100),
        "customer_ledger_and_statistics": await timed(
            lambda: asyncio.gather(
                services.search(customer_id=one, limit=None), dossier.statistics(one)
            ),
            100,
        ),
        "compliance_station": await timed(lambda: compliance.evaluate(station), 100),
    }
    await close_pool()
    return results


def run_child(url: str, n: int, data_dir: str) -> dict:
    env = dict(
        os.environ,
        METROLAB_DATABASE_URL=url,
        METROLAB_DATA_DIR=data_dir,
        METROLAB_SECRET_KEY="bench-secret-key-not-for-production",
        METROLAB_TEST_FAST_HASH="1",
    )
    env.pop("PICCOLO_CONF", None)
    out = subprocess.run(
        [sys.executable, __file__, "--child", "-n", str(n)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


QUERIES = [
    "task_counter_count_due_30",
    "lab_due_page_30",
    "lab_due_list_30_all_rows",
    "lab_due_by_customer_30",
    "customer_due_30",
    "customer_ledger_and_statistics",
    "compliance_station",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-n", type=int, default=100_000, help="instruments (default 100 000; customers = n / 20)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="one database only")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.n)), ensure_ascii=False))
        return
    results = {}
    with tempfile.TemporaryDirectory(prefix="metrolab-bench-ledger-") as tmp:
        if args.only in (None, "sqlite"):
            results["sqlite"] = run_child(f"sqlite:///{tmp}/bench.sqlite3", args.n, tmp)
        if args.only in (None, "postgres"):
            name = f"metrolab_bench_ledger_{secrets.token_hex(3)}"
            asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
            try:
                url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
                results["postgres"] = run_child(url, args.n, tmp)
            finally:
                asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"ledger: {args.n} instruments, {args.n // PER_CUSTOMER} customers")
    print(f"{'query':34} " + " ".join(f"{db:>22}" for db in results))
    print(f"{'':34} " + " ".join(f"{'p50 ms':>10} {'p95 ms':>11}" for _ in results))
    print(
        f"{'bulk insert (rows/s)':34} "
        + " ".join(f"{r['insert_rows_per_s']:>22}" for r in results.values())
    )
    for q in QUERIES:
        print(
            f"{q:34} "
            + " ".join(f"{r[q]['p50_ms']:>10} {r[q]['p95_ms']:>11}" for r in results.values())
        )
    out = ROOT / "bench" / "results" / "ledger.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "instruments": args.n,
                "machine": platform.platform(),
                "python": platform.python_version(),
                "date": date.today().isoformat(),
                "results": results,
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
