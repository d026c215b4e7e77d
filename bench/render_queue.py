"""Queued rendering: how fast the signatory's approval returns when rendering is queued, and how the
render work scales with the number of `metrolab worker` processes (issue 15: two workers on two
cores ≥ 1.8× one worker).

Fresh PostgreSQL database (METROLAB_TEST_PG), connection pool on as `metrolab serve` runs. 2·N
certificates are brought to 批准中 through the real workflow (bench/approvals.py), then per round:

* the signatory approves N certificates one at a time (each approval commits and defers its render
  job — the figure is the approval's own latency, rendering excluded);
* then K worker processes (`metrolab worker --cpu i`, one per core) start; each warms its
  LibreOffice before it takes a job, and the render figure is the queue's own window, first job started → last job succeeded
  (procrastinate_events), so start-up is not in it. Two workers warm up side by side and one
  starts its first job later ("joined s"), and at the end one may idle while the other finishes:
  the "steady" rate sums each worker's own jobs / (its last end − its first start), the rate a
  long-running pair renders at; both ratios are printed.

Rounds alternate one worker and two (``--pairs`` times), so a slow spell of the machine falls on
both; the ratios are the summed rates of the two-worker rounds over the one-worker rounds. Also
printed: each job's own time (p50, and the first job's: a warm worker's first certificate costs
little more than the others) and how many of the machine's cores were busy while the workers rendered (/proc/stat) — two workers that leave a core partly idle
are waiting on something other than the CPU.

    .venv/bin/python bench/render_queue.py -n 20 --pairs 2
Prints a table, writes bench/results/render_queue.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "platform"))

from bench import approvals, machine  # noqa: E402  (approvals: the batch-approval fixtures)

ACCESS = (
    "connection pool on, as metrolab serve runs; rendering on the procrastinate queue;"
    " each worker pinned to a core (metrolab worker --cpu N)"
)


def _workers(k: int) -> list[subprocess.Popen[bytes]]:
    """K workers, each on a core of its own, as docs/scale-out.md runs them (`--cpu`)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "platform"), "METROLAB_WORKER_HEARTBEAT": "2"}
    cores = sorted(os.sched_getaffinity(0))
    return [
        subprocess.Popen(
            [sys.executable, "-m", "metrolab.cli", "worker", "--concurrency", "1"]
            + ["--cpu", str(cores[i % len(cores)])],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for i in range(k)
    ]


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


async def _render_window(ids: list[int]) -> float:
    """Seconds from the first render job's start to the last one's success, from the queue's own
    event log (procrastinate_events) — the render throughput, not the approvals' pace."""
    from metrolab.certificates.tables import Certificate

    rows = await Certificate.raw(
        "SELECT extract(epoch FROM max(e.at) FILTER (WHERE e.type = 'succeeded')"
        " - min(e.at) FILTER (WHERE e.type = 'started')) AS s FROM procrastinate_events e"
        " JOIN procrastinate_jobs j ON j.id = e.job_id"
        " WHERE (j.args->>'certificate_id')::int = ANY({})",
        ids,
    )
    return float(rows[0]["s"])


async def _started(ids: list[int]) -> bool:
    from metrolab.certificates.tables import Certificate

    rows = await Certificate.raw(
        "SELECT 1 FROM procrastinate_jobs WHERE status <> 'todo'"
        " AND (args->>'certificate_id')::int = ANY({}) LIMIT 1",
        ids,
    )
    return bool(rows)


async def _job_seconds(ids: list[int]) -> list[float]:
    """Each render job's own time, started → succeeded, in the order the jobs started."""
    from metrolab.certificates.tables import Certificate

    rows = await Certificate.raw(
        "SELECT extract(epoch FROM max(e.at) FILTER (WHERE e.type = 'succeeded')"
        " - max(e.at) FILTER (WHERE e.type = 'started')) AS s FROM procrastinate_events e"
        " JOIN procrastinate_jobs j ON j.id = e.job_id"
        " WHERE (j.args->>'certificate_id')::int = ANY({})"
        " GROUP BY j.id ORDER BY min(e.at) FILTER (WHERE e.type = 'started')",
        ids,
    )
    return [float(r["s"]) for r in rows if r["s"] is not None]  # a job retried: its last try


async def _worker_spans(ids: list[int]) -> list[tuple[int, float, float]]:
    """Per worker: (jobs, its first job's start, its last job's success) in epoch seconds. Read
    while the workers run: a stopping worker unregisters, and its jobs' worker_id becomes NULL."""
    from metrolab.certificates.tables import Certificate

    rows = await Certificate.raw(
        "SELECT count(DISTINCT j.id) AS jobs,"
        " extract(epoch FROM min(e.at) FILTER (WHERE e.type = 'started')) AS first,"
        " extract(epoch FROM max(e.at) FILTER (WHERE e.type = 'succeeded')) AS last"
        " FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id"
        " WHERE (j.args->>'certificate_id')::int = ANY({}) GROUP BY j.worker_id",
        ids,
    )
    return [(int(r["jobs"]), float(r["first"]), float(r["last"])) for r in rows]


async def _round(ids: list[int], approver: object, k: int) -> dict[str, float]:
    """The signatory approves the certificates one at a time (each approval defers its job); then
    K workers start and render the queue until every PDF is there."""
    from metrolab.certificates import workflow as cw
    from metrolab.certificates.tables import Certificate

    latencies = []
    for cid in ids:
        t0 = time.perf_counter()
        await cw.act(cid, "approve", approver, password=approvals.PASSWORD)
        latencies.append(time.perf_counter() - t0)
    procs = _workers(k)
    ticks = None
    try:
        while await Certificate.count().where(
            Certificate.id.is_in(ids), Certificate.pdf_sha256 != ""
        ) < len(ids):
            if ticks is None and await _started(ids):
                ticks = machine.cpu_ticks()  # the machine's load while the workers render
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a worker exited early")
            await asyncio.sleep(0.1)
        busy = machine.busy_cores(ticks, machine.cpu_ticks()) if ticks else float("nan")
        spans = await _worker_spans(ids)
    finally:
        _stop(procs)
    elapsed = await _render_window(ids)
    jobs = await _job_seconds(ids)
    return {
        "job_p50_s": statistics.median(jobs),
        "cores_busy": busy,
        "first_job_s": jobs[0],
        "approval_p50_ms": statistics.median(latencies) * 1000,
        "approval_max_ms": max(latencies) * 1000,
        "render_s": elapsed,
        "certificates_per_s": len(ids) / elapsed,
        # each worker from its first job's start to its last job's end, summed: the rate while
        # the workers render, without the later start of one worker or the other's tail
        "steady_per_s": sum(jobs / (last - first) for jobs, first, last in spans),
        "last_joined_s": max(first for _, first, _ in spans) - min(first for _, first, _ in spans),
    }


async def _bench(n: int, pairs: int) -> list[dict[str, float]]:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from metrolab import jobs
    from metrolab.db import close_pool, open_pool
    from metrolab.seed import seed_all

    await open_pool()
    assert (await run_forwards(app_name="all")).success
    await jobs.install_schema()
    await seed_all()
    ids, approver = await approvals._approving(2 * pairs * n)  # noqa: SLF001
    rounds = []
    try:
        for i, k in enumerate([1, 2] * pairs):
            rounds.append({"workers": k, **await _round(ids[i * n : (i + 1) * n], approver, k)})
    finally:
        await jobs.close()
        await close_pool()
    return rounds


def _ratio(rounds: list[dict[str, float]], key: str) -> float:
    """Two workers' summed rate over one worker's, across all rounds."""
    return sum(r[key] for r in rounds if r["workers"] == 2) / sum(
        r[key] for r in rounds if r["workers"] == 1
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="certificates per round")
    parser.add_argument("--pairs", type=int, default=2, help="rounds of 1 worker then 2 workers")
    args = parser.parse_args()
    os.environ["METROLAB_JOBS"] = "queue"
    os.environ["METROLAB_EMBEDDED_WORKER"] = "0"
    pg_name = approvals._environment("postgres")  # noqa: SLF001
    asyncio.run(approvals._pg(f'CREATE DATABASE "{pg_name}"'))  # noqa: SLF001
    try:
        rounds = asyncio.run(_bench(args.n, args.pairs))
    finally:
        asyncio.run(approvals._pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))  # noqa: SLF001
    ratio, steady = _ratio(rounds, "certificates_per_s"), _ratio(rounds, "steady_per_s")
    print(f"queued rendering on postgres, n={args.n} per round, {os.cpu_count()} cores")
    print(f"  database access: {ACCESS}")
    print(
        f"  {'':<10} {'approval p50':>13} {'approval max':>13} {'render s':>9} {'cert/s':>7}"
        f" {'steady/s':>9} {'joined s':>9} {'job p50 s':>10} {'1st job s':>10} {'cores busy':>11}"
    )
    for r in rounds:
        name = "1 worker" if r["workers"] == 1 else f"{r['workers']} workers"
        print(
            f"  {name:<10} {r['approval_p50_ms']:>10.1f} ms {r['approval_max_ms']:>10.1f} ms"
            f" {r['render_s']:>9.2f} {r['certificates_per_s']:>7.2f}"
            f" {r['steady_per_s']:>9.2f} {r['last_joined_s']:>9.2f}"
            f" {r['job_p50_s']:>10.3f} {r['first_job_s']:>10.3f} {r['cores_busy']:>11.2f}"
        )
    print(
        f"  2 workers / 1 worker: {ratio:.2f}× over the queue's window (first start → last end),"
        f" {steady:.2f}× steady (each worker's own span, summed; target ≥ 1.8)"
    )
    out = ROOT / "bench" / "results" / "render_queue.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "db": "postgres",
                "n": args.n,
                "machine": platform.platform(),
                "cores": os.cpu_count(),
                "database_access": ACCESS,
                "rounds": rounds,
                "two_over_one": ratio,
                "two_over_one_steady": steady,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
