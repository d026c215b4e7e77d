"""Original records through the services (not HTTP): validate + compute + store a fuel-dispenser record
(two nozzles × two flow points × three runs) N times, on SQLite and on PostgreSQL, with a plain
`jsonschema` validation of the same data (Draft202012Validator on derive_schema) as the baseline.

Each database is fresh (a temporary SQLite file; a PostgreSQL database created and dropped on
METROLAB_TEST_PG) and each run is a child process, because Piccolo binds tables to the engine at import.

    .venv/bin/python bench/records.py -n 200
Prints a table, writes bench/results/records.json.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("METROLAB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DATE = "2026-11-24"


def fuel_data(i: int) -> dict:
    def run(v_s: int) -> dict[str, str]:
        return {"V_J": "20.00", "V_s": str(v_s), "t_J": "24.0", "t_B": "24.0"}

    shift = i % 7  # vary the readings a little from record to record
    nozzle = {
        "items": {
            "indication": {
                "points": [
                    {"runs": [run(-20 - shift), run(-22), run(-20)]},
                    {"runs": [run(-24), run(-20 - shift), run(-22)]},
                ]
            },
            "payment": {"points": [{"P": "7.50", "V_J": "20.00", "J": "150.00"}]},
            "self_lock": {"points": [{"outcome": "合格"}]},
            "anti_cheat": {"points": [{"outcome": "合格"}]},
            "seal": {"points": [{"outcome": "合格"}]},
        }
    }
    return {
        "customer": "压测加油站",
        "serial": f"JY-{i:05d}",
        "verification_date": DATE,
        "fuel": "汽油",
        "material": "不锈钢",
        "V_0": "20",
        "environment": {"temperature": "21.5", "humidity": "55"},
        "standards": ["STD-VOL-20-01"],
        "nozzles": [
            copy.deepcopy(nozzle) | {"nozzle_no": "1"},
            copy.deepcopy(nozzle) | {"nozzle_no": "2"},
        ],
    }


def typed_view(pin, data: dict) -> dict:  # noqa: ANN001
    """The data as derive_schema describes it (numbers as numbers, blanks left out)."""
    from metrolab.engine.forms.scopes import build
    from metrolab.engine.forms.values import parse_number
    from metrolab.engine.forms.walk import visit

    typed = copy.deepcopy(data)
    root, _ = build(pin.defn, pin.catalogue)
    for v in list(visit(root, typed)):
        if v.entry.kind == "environment" and isinstance(v.value, dict):
            for k, text in list(v.value.items()):
                v.value[k] = parse_number(text)
        elif (
            v.entry.kind == "field"
            and v.entry.node.get("control") == "number"
            and v.value not in (None, "")
        ):
            v.container[v.entry.key] = parse_number(v.value)
        elif v.entry.kind == "computed":
            v.container.pop(v.entry.key, None)
    return typed


async def child(n: int) -> dict:
    from datetime import date

    from jsonschema import Draft202012Validator

    from metrolab.accounts import staff
    from metrolab.cli import _upgrade
    from metrolab.customers.tables import Customer
    from metrolab.db import close_pool, open_pool
    from metrolab.engine.forms import compute, derive_schema, validate_submission
    from metrolab.records import services
    from metrolab.seed import seed_all

    await _upgrade()
    await seed_all()
    await open_pool()  # as `metrolab serve` does
    user = await staff.create_user(
        {"username": "bench", "full_name": "压测检定员", "password": "bench-pass-1"}, ["verifier"]
    )
    customer = Customer(name="压测加油站")
    await customer.save()
    header = {"customer": customer.id, "instrument_name": "燃油加油机"}
    _, version = await services.record_form_for("fuel_dispenser")
    pin = await services.pinned(version["id"])
    on = date.fromisoformat(DATE)
    validator = Draft202012Validator(derive_schema(pin.defn, pin.catalogue))
    samples = [fuel_data(i) for i in range(n)]

    t_validate = t_compute = t_store = t_baseline = 0.0
    conclusions: dict[str, int] = {}
    wall = time.perf_counter()
    for i, data in enumerate(samples):
        # As services.evaluate: compute once, then validate the computed result.
        t0 = time.perf_counter()
        ctx = await services.context_for(pin, on)
        result = compute(pin.defn, data, pin.catalogue, ctx)
        t1 = time.perf_counter()
        problems = [
            p
            for p in validate_submission(pin.defn, data, pin.catalogue, ctx, computed=result)
            if p.code != "expired"
        ]
        problems += await services._expired_standards(pin, data, on)
        t2 = time.perf_counter()
        errors = [p for p in problems + result.problems if p.severity == "error"]
        if errors:
            raise SystemExit(f"record {i}: {errors}")
        evaluation = services.Evaluation(
            services._plain(result.data), result.conclusion, result.items, [], [], problems, ctx
        )
        rec = await services.create_record(
            user, customer_id=customer.id, instrument_type="fuel_dispenser", verified_on=on
        )
        outcome = await services.save(rec["id"], header, data, user, evaluation=evaluation)
        assert outcome.saved and outcome.revision is not None
        t3 = time.perf_counter()
        t_validate, t_compute, t_store = (
            t_validate + t2 - t1,
            t_compute + t1 - t0,
            t_store + t3 - t2,
        )
        conclusions[result.conclusion or ""] = conclusions.get(result.conclusion or "", 0) + 1
    wall = time.perf_counter() - wall
    typed = [typed_view(pin, d) for d in samples]
    t0 = time.perf_counter()
    for d in typed:
        validator.validate(d)
    t_baseline = time.perf_counter() - t0
    records, revisions, broken = await services.verify_chain()
    await close_pool()
    ms = 1000 / n
    return {
        "records": n,
        "records_per_s": round(n / wall, 1),
        "wall_s": round(wall, 3),
        "validate_ms": round(t_validate * ms, 3),
        "compute_ms": round(t_compute * ms, 3),
        "store_ms": round(t_store * ms, 3),
        "jsonschema_ms": round(t_baseline * ms, 3),
        "validate_vs_jsonschema": round(t_validate / t_baseline, 1) if t_baseline else None,
        "conclusions": conclusions,
        "chain": {"records": records, "revisions": revisions, "broken": len(broken)},
    }


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="records per database (default 200)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="one database only")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.n)), ensure_ascii=False))
        return
    results = {}
    with tempfile.TemporaryDirectory(prefix="metrolab-bench-records-") as tmp:
        if args.only in (None, "sqlite"):
            results["sqlite"] = run_child(f"sqlite:///{tmp}/bench.sqlite3", args.n, tmp)
        if args.only in (None, "postgres"):
            name = f"metrolab_bench_records_{secrets.token_hex(3)}"
            asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
            try:
                url = urlunsplit(urlsplit(PG_ADMIN)._replace(path=f"/{name}"))
                results["postgres"] = run_child(url, args.n, tmp)
            finally:
                asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(
        f"\n原始记录基准：燃油加油机 2 枪 × 2 流量点 × 3 次，每库 {args.n} 份（经 services，不经 HTTP）"
    )
    print(
        f"{'数据库':<10}{'记录/秒':>10}{'校验 ms':>10}{'计算 ms':>10}{'存储 ms':>10}{'jsonschema ms':>15}{'校验/基线':>10}"
    )
    for db, r in results.items():
        print(
            f"{db:<12}{r['records_per_s']:>10}{r['validate_ms']:>10}{r['compute_ms']:>10}{r['store_ms']:>10}"
            f"{r['jsonschema_ms']:>15}{r['validate_vs_jsonschema']:>10}×"
        )
    print(
        "（计算 = 读标准器上下文 + compute（每次保存一次）；校验 = 在计算结果上 validate_submission + 过期标准器检查；基线 = 同一数据的 Draft202012Validator.validate；"
        "存储 = 新建记录 + 首次保存（修订与哈希链）；审计链均已校验）"
    )
    out = ROOT / "bench" / "results" / "records.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": {
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                },
                "n": args.n,
                "results": results,
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n"
    )
    print(f"→ {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
