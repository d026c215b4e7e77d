"""HTTP load as the server runs: `metrolab serve` (connection pool on), load from wrk (a C load
generator, not sharing the Python interpreter), and the baseline — a bare Litestar endpoint served by
uvicorn the same way — measured in the same run. Ratios matter, not absolute figures.

Scenarios, each `wrk -t1 -c10` for --seconds:
  bare_litestar           GET /ping, 1 worker (the framework's ceiling on this machine)
  <db>:home               the clerk's home page 我的检定任务, signed in (session cookie)
  <db>:api_customers      GET /api/v1/customers with an API token
  postgres_2w:…           the same with `metrolab serve --workers 2`
The script installs wrk from Debian if it is missing, and starts every server itself on a fresh
database (demo seed data + 500 customers); load starts once the server has finished starting (the
/healthz says the server's render worker is ready, and the machine is quiet again).

    .venv/bin/python bench/http_load.py --seconds 10
Prints a table, writes bench/results/http_load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402

PG_ADMIN = os.environ.get("METROLAB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

# wrk prints this one JSON line when a run ends (latencies in microseconds).
REPORT_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"socket_errors":%d,"http_errors":%d,'
    .. '"p50_us":%d,"p95_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""

PREPARE = """
import asyncio
from metrolab.cli import _upgrade
from metrolab.seed import seed_all
from metrolab.accounts import services, staff
from metrolab.customers.tables import Customer
from metrolab.web.auth import CurrentUser

async def main():
    await _upgrade()
    await seed_all()
    user = await staff.create_user(
        {"username": "bench", "full_name": "压测用户", "password": "bench-pass-1"}, ["clerk"])
    await Customer.insert(*[Customer(name=f"压测煤矿{i:04d}", category="煤矿" if i % 2 else "加油站",
                                     address=f"邯郸市第{i}号") for i in range(500)])
    # A token is minted from a password session; the bench stands in for that session.
    me = CurrentUser(id=user.id, username="bench", full_name="压测用户", language="zh",
                     department_id=None, session_sha256="bench")
    print(await services.create_api_token(me, "bench"))
asyncio.run(main())
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or sys.exit("wrk could not be installed (apt-get install wrk)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen) -> None:
    """Until the server answers and its render worker (if it runs one) has warmed up: ten answers
    in a row, each on a new connection, so that with --workers N every process is likely asked."""
    in_a_row = 0
    for _ in range(900):
        try:
            r = httpx.get(url, timeout=1)
            in_a_row = in_a_row + 1 if r.status_code < 500 and _worker_ready(r) else 0
            if in_a_row >= 10:
                return
        except httpx.HTTPError:
            in_a_row = 0
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.returncode}")
        time.sleep(0.1)
    raise RuntimeError("server did not start")


def _worker_ready(health: httpx.Response) -> bool:
    if not health.headers.get("content-type", "").startswith("application/json"):
        return True  # the bare app's /ping
    return health.json().get("render_worker", "ready") != "starting"


def _busy_cores(window: float) -> float:
    before = machine.cpu_ticks()
    time.sleep(window)
    return machine.busy_cores(before, machine.cpu_ticks())


def settle(limit: float = 60) -> None:
    """Wait until the machine is quiet, after the server said it is ready: load measured while it
    still starts is the start-up's, not the pages' (a p99 of 100 ms instead of 18). Quiet alone is
    not enough — unoserver sleeps ~5 s before LibreOffice's warm-up burns a core — so `wait_up`
    first waits for /healthz's render_worker "ready"."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if _busy_cores(0.5) < 0.15 and _busy_cores(0.5) < 0.15:
            return
    print(f"warning: the machine did not settle within {limit:.0f} s", file=sys.stderr)


def serve(cmd: list[str], env: dict[str, str], health: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_up(health, proc)
    settle()
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def wrk(url: str, seconds: float, headers: dict[str, str]) -> dict:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(REPORT_LUA)
    cmd = [ensure_wrk(), "-t1", "-c10", f"-d{seconds:.0f}s", "-s", str(script)]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], check=True, capture_output=True, text=True).stdout
    script.unlink()
    r = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    return {
        "requests": r["requests"],
        "rps": r["requests"] / (r["duration_us"] / 1e6),
        "p50_ms": r["p50_us"] / 1000,
        "p95_ms": r["p95_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "errors": r["socket_errors"] + r["http_errors"],
    }


def session_cookie(base: str) -> str:
    with httpx.Client(base_url=base, timeout=30) as client:
        client.get("/login")
        r = client.post(
            "/login",
            data={"username": "bench", "password": "bench-pass-1"},
            headers={"x-csrftoken": client.cookies.get("metrolab_csrf") or ""},
        )
        if r.status_code not in (200, 303):
            raise RuntimeError(f"sign-in failed: {r.status_code}")
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def run_metrolab(db: str, workers: int, seconds: float) -> dict[str, dict]:
    data = Path(tempfile.mkdtemp(prefix=f"metrolab-bench-{db}-"))
    env = dict(os.environ, METROLAB_DATA_DIR=str(data), METROLAB_SECRET_KEY="bench")
    env.pop("PICCOLO_CONF", None)
    env.pop("METROLAB_DB_POOL", None)  # the pool on, as the server runs
    pg_name = f"metrolab_bench_{secrets.token_hex(3)}"
    if db == "postgres":
        subprocess.run(["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{pg_name}"'], check=True)
        env["METROLAB_DATABASE_URL"] = PG_ADMIN.rsplit("/", 1)[0] + f"/{pg_name}"
    try:
        prepared = subprocess.run(
            [sys.executable, "-c", PREPARE], env=env, check=True, cwd=ROOT, capture_output=True
        )
        token = prepared.stdout.decode().strip().splitlines()[-1]
        port = free_port()
        proc = serve(
            [sys.executable, "-m", "metrolab.cli", "serve", "--port", str(port)]
            + ["--workers", str(workers)],
            env,
            f"http://127.0.0.1:{port}/healthz",
        )
        base = f"http://127.0.0.1:{port}"
        try:
            return {
                "home": wrk(f"{base}/home", seconds, {"Cookie": session_cookie(base)}),
                "api_customers": wrk(
                    f"{base}/api/v1/customers", seconds, {"Authorization": f"Bearer {token}"}
                ),
            }
        finally:
            stop(proc)
    finally:
        if db == "postgres":
            subprocess.run(
                ["psql", PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'],
                capture_output=True,
            )


def run_bare(seconds: float, *stack: str) -> dict:
    """Bare Litestar on uvicorn's default stack (uvloop + httptools, as `metrolab serve` runs), or on
    the one named in `stack` (e.g. `--loop asyncio --http h11`) to show what the stack itself gives."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port), *stack]
    proc = serve(
        [*cmd, "--log-level", "warning"], dict(os.environ), f"http://127.0.0.1:{port}/ping"
    )
    try:
        return wrk(f"http://127.0.0.1:{port}/ping", seconds, {})
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    rows: dict[str, dict] = {
        "bare_litestar": run_bare(args.seconds),
        "bare_asyncio_h11": run_bare(args.seconds, "--loop", "asyncio", "--http", "h11"),
    }
    for db in args.databases.split(","):
        for name, r in run_metrolab(db, 1, args.seconds).items():
            rows[f"{db}:{name}"] = r
        if db == "postgres":
            for name, r in run_metrolab(db, 2, args.seconds).items():
                rows[f"postgres_2w:{name}"] = r
    bare = rows["bare_litestar"]["rps"]
    print(f"\nHTTP load: wrk -t1 -c10, {args.seconds:.0f} s each, pool on; ratio to bare Litestar")
    print(
        f"{'scenario':<28}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}{'vs bare':>9}"
    )
    for name, r in rows.items():
        r["ratio_to_bare"] = r["rps"] / bare if bare else 0
        print(
            f"{name:<28}{r['rps']:>9.0f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['p99_ms']:>9.1f}"
            f"{r['errors']:>8}{r['ratio_to_bare']:>9.3f}"
        )
    out = ROOT / "bench" / "results" / "http_load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"seconds": args.seconds, "connections": 10, "rows": rows}, indent=2))
    print(f"→ {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
