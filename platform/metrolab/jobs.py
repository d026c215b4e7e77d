"""Heavy work off the request: rendering an approved certificate (number, QR, signatures, .docx, PDF,
store) runs as a job on a PostgreSQL job queue — procrastinate — so a signatory's approval returns
at once and several hosts share the rendering (`metrolab worker`, or the worker `metrolab serve`
runs beside the app).

Why procrastinate: it keeps its queue in the lab's own PostgreSQL (no broker to run), workers on
any host take jobs with `FOR UPDATE SKIP LOCKED`, and a worker that dies is found by its heartbeat,
so its job is retried.

The certificate row is the source of truth, not the queue. Approval commits the certificate as
approved without a PDF (the workflow's move) and its render job in the same transaction
(`defer_render_with_move`). The sweep (every minute, and when a worker starts) retries the jobs of
workers that stopped beating, and defers a job for any approved certificate still without its PDF
and without a job (one approved before the queue existed, or whose job failed for good). So an
approved certificate always gets its PDF; rendering is idempotent (`issue`).

On SQLite (the embedded default of `make run`) and when METROLAB_JOBS=inline (the test suite), the
same work runs in the request, as before."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import procrastinate
from procrastinate import PsycopgConnector, RetryStrategy

from metrolab.settings import get_settings

log = logging.getLogger("metrolab.jobs")

RENDER_QUEUE = "render"
RENDER_TASK = "render_certificate"
# A worker beats every HEARTBEAT seconds; one silent 4× as long is taken for dead and its job is
# retried by the next sweep (every 4× HEARTBEAT, in each worker).
HEARTBEAT_SECONDS = float(os.environ.get("METROLAB_WORKER_HEARTBEAT", "5"))

# What this process's render worker is doing, for /healthz: "" (none runs here), "starting"
# (LibreOffice, the render process and the signer warming: ~8 s, mostly unoserver's own start-up
# sleeps), "ready" (taking jobs) or "stopped". A load balancer or a benchmark waits for "ready".
_worker_state = ""


def worker_state() -> str:
    return _worker_state


@dataclass(frozen=True)
class Actor:
    """Who approved, as the audit log of a job names them (the person, not the worker)."""

    id: int | None
    username: str


def queued() -> bool:
    """True when rendering goes through the queue (PostgreSQL, METROLAB_JOBS not 'inline')."""
    settings = get_settings()
    return not settings.is_sqlite and settings.jobs != "inline"


@lru_cache(maxsize=1)
def _app() -> procrastinate.App:
    app = procrastinate.App(connector=PsycopgConnector(conninfo=get_settings().database_url))
    app.task(
        name=RENDER_TASK,
        queue=RENDER_QUEUE,
        retry=RetryStrategy(max_attempts=5, wait=10),  # a LibreOffice hiccup: tried again
    )(_render)
    return app


_open: list[procrastinate.App] = []  # the app, once its connection pool is open in this process


async def queue() -> procrastinate.App:
    """The queue, connected (its pool opens on first use and stays open until `close`)."""
    app = _app()
    if not _open:
        await app.open_async()
        _open.append(app)
    return app


async def close() -> None:
    while _open:
        await _open.pop().close_async()


# Without a queue, a batch approval collects its certificates here and issues them as a pipeline
# (`services.IssuePipeline`) instead of one after another inside each approval.
_issue_later: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "metrolab_issue_later", default=None
)


@contextlib.contextmanager
def issues_collected() -> Iterator[list[int]]:
    """Inside: `render_certificate` without a queue notes the certificate instead of issuing it."""
    collected: list[int] = []
    token = _issue_later.set(collected)
    try:
        yield collected
    finally:
        _issue_later.reset(token)


async def render_certificate(certificate_id: int, user: Any) -> None:
    """Render and issue an approved certificate: queued, or here and now (SQLite, inline)."""
    if not queued():
        if (later := _issue_later.get()) is not None:
            later.append(certificate_id)
            return
        from metrolab.certificates.services import issue

        await issue(certificate_id, user=user)
        return
    await defer_render(certificate_id, Actor(getattr(user, "id", None), _username(user)))


async def defer_render(certificate_id: int, actor: Actor) -> None:
    app = await queue()
    with contextlib.suppress(procrastinate.exceptions.AlreadyEnqueued):  # one is waiting already
        await (
            app.tasks[RENDER_TASK]
            .configure(queueing_lock=f"certificate-{certificate_id}")
            .defer_async(certificate_id=certificate_id, user_id=actor.id, username=actor.username)
        )


async def defer_render_with_move(certificate_id: int, user: Any) -> None:
    """The render job, written on the caller's connection — inside the approval's transaction —
    through procrastinate's own defer function (its insert trigger wakes the workers on commit).
    One waiting job per certificate, as ``defer_render``'s queueing lock keeps it."""
    from metrolab.certificates.tables import Certificate

    lock = f"certificate-{certificate_id}"
    args = json.dumps(
        {
            "certificate_id": certificate_id,
            "user_id": getattr(user, "id", None),
            "username": _username(user),
        }
    )
    await Certificate.raw(
        "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW({}, {}, 0, NULL, {}, {}::jsonb, NULL)"
        "::procrastinate_job_to_defer_v1]) WHERE NOT EXISTS (SELECT 1 FROM procrastinate_jobs"
        " WHERE queueing_lock = {} AND status = 'todo')",
        RENDER_QUEUE,
        RENDER_TASK,
        lock,
        args,
        lock,
    )


async def _render(certificate_id: int, user_id: int | None, username: str) -> None:
    from metrolab.certificates.services import issue

    await issue(certificate_id, user=Actor(user_id, username))


async def sweep() -> int:
    """Retry the jobs of dead workers; defer a render for every approved certificate without its
    PDF and without a job. Returns how many were deferred."""
    from metrolab.certificates.tables import Certificate

    app = await queue()
    for job in await app.job_manager.get_stalled_jobs(
        queue=RENDER_QUEUE, seconds_since_heartbeat=4 * HEARTBEAT_SECONDS
    ):
        log.warning("retrying job %s of a worker that stopped", job.id)
        await app.job_manager.retry_job(job)
    waiting = await Certificate.select(Certificate._meta.primary_key).where(
        (Certificate.status == "issued") & (Certificate.pdf_sha256 == "")
    )
    pending = {row["certificate_id"] for row in await job_states([r["id"] for r in waiting])}
    missing = [r["id"] for r in waiting if r["id"] not in pending]
    for cid in missing:
        await defer_render(cid, Actor(None, "sweep"))
    return len(missing)


async def job_states(certificate_ids: list[int]) -> list[dict[str, Any]]:
    """The live render job (todo / doing) of each certificate that has one."""
    if not certificate_ids or not queued():
        return []
    from metrolab.certificates.tables import Certificate

    rows = await Certificate.raw(
        "SELECT (args->>'certificate_id')::int AS certificate_id, status::text AS status, attempts"
        " FROM procrastinate_jobs WHERE task_name = {} AND status IN ('todo', 'doing')"
        " AND (args->>'certificate_id')::int = ANY({})",
        RENDER_TASK,
        certificate_ids,
    )
    return list(rows)


async def render_state(certificate_id: int) -> str:
    """'' (nothing queued), 'todo' (排队中) or 'doing' (生成中)."""
    rows = await job_states([certificate_id])
    return rows[0]["status"] if rows else ""


async def install_schema() -> None:
    """The queue's tables in the lab's PostgreSQL (once; `metrolab db upgrade` calls this)."""
    if get_settings().is_sqlite:
        return
    from metrolab.certificates.tables import Certificate

    exists = await Certificate.raw("SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS ok")
    if exists and exists[0]["ok"]:
        return
    app = await queue()
    await app.schema_manager.apply_schema_async()


async def run_worker(concurrency: int = 1, wait: bool = True, fail_fast: bool = False) -> None:
    """Take render jobs until stopped (`metrolab worker`, with ``fail_fast``; `metrolab serve` runs
    one too)."""
    import anyio

    from metrolab.certificates.keys import KeysMissing
    from metrolab.certificates.services import warm_templates, warm_up
    from metrolab.features import wire

    global _worker_state
    _worker_state = "starting"
    try:
        await install_schema()
        # LibreOffice (one server per concurrent job), the render process and the signer are
        # started before the first job is taken, so no job waits for them. A worker of its own that
        # cannot sign stops at start; the server's worker goes on, and each certificate shows why
        # it is not issued.
        try:
            await anyio.to_thread.run_sync(warm_up, concurrency)
        except KeysMissing:
            if fail_fast:
                raise
            log.exception("the render worker cannot sign: certificates will show why")
        wire()  # the features' hooks (the ledger follows an issue): no app here wires them
        await warm_templates()
        app = await queue()
        sweeping = asyncio.create_task(_sweep_forever(), name="metrolab-sweep")
        _worker_state = "ready"
        try:
            await app.run_worker_async(
                queues=[RENDER_QUEUE],
                concurrency=concurrency,
                wait=wait,
                update_heartbeat_interval=HEARTBEAT_SECONDS,
                stalled_worker_timeout=4 * HEARTBEAT_SECONDS,
                install_signal_handlers=False,  # the command / the server handles signals
            )
        finally:
            sweeping.cancel()
    finally:
        _worker_state = "stopped"  # however it ended: a start-up error too


async def _sweep_forever() -> None:
    while True:
        try:
            await sweep()
        except Exception:  # noqa: BLE001 - a failed sweep is logged and tried again next round
            log.exception("sweep failed")
        await asyncio.sleep(4 * HEARTBEAT_SECONDS)


def _username(user: Any) -> str:
    return str(getattr(user, "username", "") or "")
