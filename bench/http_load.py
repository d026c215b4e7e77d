"""HTTP load: N concurrent clients against a running metrolab (SQLite and PostgreSQL), side by side with
a bare Litestar endpoint served the same way — the framework's ceiling on this machine — as a ratio.

Each client signs in once, then alternates the home page ("我的检定任务") and a customer search.
The script starts each server itself on a fresh database (demo data + 500 customers).

    .venv/bin/python bench/http_load.py --clients 50 --seconds 15
Prints a table, writes bench/results/http_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("METROLAB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen) -> None:
    for _ in range(200):
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.returncode}")
        time.sleep(0.1)
    raise RuntimeError("server did not start")


PREPARE = """
import asyncio, sys
from metrolab.cli import _upgrade
from metrolab.seed import seed_all
from metrolab.accounts import staff
from metrolab.customers.tables import Customer

async def main():
    await _upgrade()
    await seed_all()
    await staff.create_user({"username": "bench", "full_name": "压测用户", "password": "bench-pass-1"}, ["clerk"])
    await Customer.insert(*[Customer(name=f"压测煤矿{i:04d}", category="煤矿" if i % 2 else "加油站",
                                     address=f"邯郸市第{i}号") for i in range(500)])
asyncio.run(main())
"""


def prepare(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-c", PREPARE], env=env, check=True, cwd=ROOT, capture_output=True
    )


async def signed_in_client(base: str, login: bool) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=60)
    if login:
        await client.get("/login")
        token = client.cookies.get("metrolab_csrf")
        r = await client.post(
            "/login",
            data={"username": "bench", "password": "bench-pass-1"},
            headers={"x-csrftoken": token},
        )
        if r.status_code not in (200, 303):
            raise RuntimeError(f"sign-in failed: {r.status_code}")
    return client


async def client_loop(
    client: httpx.AsyncClient,
    paths: list[str],
    deadline: float,
    latencies: list[float],
    errors: list[str],
) -> None:
    i = 0
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        r = await client.get(paths[i % len(paths)])
        latencies.append(time.perf_counter() - t0)
        if r.status_code != 200:
            errors.append(str(r.status_code))
        i += 1


async def load(base: str, clients: int, seconds: float, login: bool) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    # Every client signs in first (argon2 is deliberately slow); then the clock starts on steady-state pages.
    sessions = await asyncio.gather(*[signed_in_client(base, login) for _ in range(clients)])
    paths = ["/home", "/customers?q=%E7%85%A4%E7%9F%BF1"] if login else ["/ping"]
    start = time.perf_counter()
    await asyncio.gather(
        *[client_loop(c, paths, start + seconds, latencies, errors) for c in sessions]
    )
    elapsed = time.perf_counter() - start
    for c in sessions:
        await c.aclose()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 2 else [0] * 99
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": q[49] * 1000,
        "p95_ms": q[94] * 1000,
        "p99_ms": q[98] * 1000,
        "errors": len(errors),
    }


def serve(cmd: list[str], env: dict[str, str], health: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_up(health, proc)
    return proc


def run_metrolab(db: str, clients: int, seconds: float) -> dict:
    data = Path(tempfile.mkdtemp(prefix=f"metrolab-bench-{db}-"))
    env = dict(os.environ, METROLAB_DATA_DIR=str(data), METROLAB_SECRET_KEY="bench")
    env.pop("PICCOLO_CONF", None)
    pg_name = f"metrolab_bench_{secrets.token_hex(3)}"
    if db == "postgres":
        subprocess.run(["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{pg_name}"'], check=True)
        env["METROLAB_DATABASE_URL"] = PG_ADMIN.rsplit("/", 1)[0] + f"/{pg_name}"
    try:
        prepare(env)
        port = free_port()
        proc = serve(
            [sys.executable, "-m", "metrolab.cli", "serve", "--port", str(port)],
            env,
            f"http://127.0.0.1:{port}/healthz",
        )
        try:
            return asyncio.run(load(f"http://127.0.0.1:{port}", clients, seconds, login=True))
        finally:
            proc.terminate()
            proc.wait()
    finally:
        if db == "postgres":
            subprocess.run(
                ["psql", PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)']
            )


def run_bare(clients: int, seconds: float) -> dict:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bare_app:app",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    proc = serve(cmd, dict(os.environ), f"http://127.0.0.1:{port}/ping")
    try:
        return asyncio.run(load(f"http://127.0.0.1:{port}", clients, seconds, login=False))
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    results = {
        "clients": args.clients,
        "seconds": args.seconds,
        "bare_litestar": run_bare(args.clients, args.seconds),
    }
    for db in args.databases.split(","):
        results[db] = run_metrolab(db, args.clients, args.seconds)
    bare = results["bare_litestar"]["rps"]
    print(
        f"\nHTTP load, {args.clients} clients, {args.seconds:.0f} s each (home page + customer search)"
    )
    print(
        f"{'server':<16}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}{'vs bare':>9}"
    )
    for name in ["bare_litestar", *args.databases.split(",")]:
        r = results[name]
        r["ratio_to_bare"] = r["rps"] / bare if bare else 0
        print(
            f"{name:<16}{r['rps']:>9.0f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['errors']:>8}"
            f"{r['ratio_to_bare']:>9.3f}"
        )
    out = ROOT / "bench" / "results" / "http_load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"→ {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
