"""The render queue on PostgreSQL (metrolab.jobs, procrastinate): an approval returns with its render
job queued, written in the approval's own transaction; `metrolab worker` processes render it; a worker killed mid-job leaves no LibreOffice
behind and its job is retried by another worker; the sweep re-queues an approved certificate whose job
was lost."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, TEST_DB, run

pytestmark = pytest.mark.skipif(TEST_DB != "postgres", reason="the job queue lives in PostgreSQL")


@pytest.fixture
def queued(seeded, monkeypatch):
    """The app as a PostgreSQL lab runs it: METROLAB_JOBS=queue (the suite renders inline)."""
    from metrolab import jobs
    from metrolab.settings import get_settings

    as_served = dataclasses.replace(get_settings(), jobs="queue")
    monkeypatch.setattr(jobs, "get_settings", lambda: as_served)
    jrun(jobs.install_schema())
    yield
    jrun(_forget_jobs())


def jrun(coroutine):  # noqa: ANN001, ANN201
    """``run``, then close the queue's pool: each ``run`` is its own event loop."""
    from metrolab import jobs

    async def then_close():  # noqa: ANN202
        try:
            return await coroutine
        finally:
            await jobs.close()

    return run(then_close())


async def _forget_jobs() -> None:
    from metrolab.certificates.tables import Certificate

    await Certificate.raw("DELETE FROM procrastinate_jobs")


def _worker(env_extra: dict | None = None, args: tuple[str, ...] = ()) -> subprocess.Popen:
    env = {
        **os.environ,
        "METROLAB_JOBS": "queue",
        "METROLAB_WORKER_HEARTBEAT": "0.5",
        **(env_extra or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "metrolab.cli", "worker", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _wait(predicate, seconds: float, what: str):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


def _page(cid: int) -> str:
    """The certificate page as a technical manager sees it, in the queued app."""
    from litestar.testing import TestClient

    from conftest import Browser, UserFactory
    from metrolab.app import create_app

    who = UserFactory()("tech_manager")
    os.environ["METROLAB_EMBEDDED_WORKER"] = "0"  # this app only serves pages
    try:
        with TestClient(create_app(), base_url="http://testserver.local") as client:
            return Browser(client).login(who).get(f"/certificates/{cid}").text
    finally:
        del os.environ["METROLAB_EMBEDDED_WORKER"]


def _certificate(cid: int) -> dict:
    from metrolab.certificates.services import get_certificate

    return run(get_certificate(cid))


def _job(cid: int) -> str:
    from metrolab import jobs

    return jrun(jobs.render_state(cid))


def _processes() -> dict[int, tuple[int, str]]:
    out = subprocess.run(["ps", "-eo", "pid,ppid,comm"], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in out.splitlines()[1:]]
    return {int(r[0]): (int(r[1]), r[2]) for r in rows if len(r) == 3}


def _libreoffice_under(pid: int) -> set[int]:
    """The LibreOffice processes started (through the deathwatch) by process ``pid``."""
    table, found, frontier = _processes(), set(), {pid}
    while frontier:
        frontier = {p for p, (parent, _name) in table.items() if parent in frontier} - found
        found |= frontier
    return {p for p in found if "soffice" in table[p][1]}


def _written_together(cid: int) -> bool:
    """The certificate's approval and its render job were written by one transaction (same xmin)."""
    from metrolab.certificates.tables import Certificate

    rows = run(
        Certificate.raw(
            "SELECT c.xmin::text = j.xmin::text AS same FROM certificate c, procrastinate_jobs j"
            " WHERE c.id = {} AND (j.args->>'certificate_id')::int = c.id",
            cid,
        )
    )
    return bool(rows) and all(r["same"] for r in rows)


def _alive(pids: set[int]) -> set[int]:
    return pids & set(_processes())


def test_an_approval_returns_with_its_render_queued_and_a_worker_renders_it(queued):
    from factories import approved
    from test_certificates import make_certificate

    cert = run(make_certificate())
    started = time.perf_counter()
    after = jrun(approved(cert["id"]))
    took = time.perf_counter() - started
    # Approved (待打印) in the approval's transaction; the PDF comes from the queue.
    assert after["status"] == "issued" and after["pdf_sha256"] == ""
    assert _job(cert["id"]) == "todo"
    assert _written_together(cert["id"])
    assert "正在排队生成" in _page(cert["id"])  # what the signatory sees until it is ready
    worker = _worker()
    try:
        done = _wait(lambda: _certificate(cert["id"])["pdf_sha256"], 120, "the worker renders it")
        _wait(lambda: _job(cert["id"]) == "", 20, "the job is done")
    finally:
        worker.terminate()
        worker.wait(30)
    issued = _certificate(cert["id"])
    assert done and issued["number"] and issued["verify_token"]
    print(f"approval returned in {took * 1000:.0f} ms with the render queued")


def test_a_killed_worker_leaves_no_libreoffice_and_its_job_is_retried(queued):
    from factories import approved
    from test_certificates import make_certificate

    cert = run(make_certificate())
    jrun(approved(cert["id"]))
    first = _worker()
    try:
        _wait(lambda: _job(cert["id"]) == "doing", 60, "the first worker takes the job")
        office = _wait(lambda: _libreoffice_under(first.pid), 60, "LibreOffice starts")
    finally:
        first.send_signal(signal.SIGKILL)  # no clean-up of its own: as a crash or the OOM killer
        first.wait(10)
    assert _certificate(cert["id"])["pdf_sha256"] == ""  # killed before it finished
    _wait(lambda: not _alive(office), 20, "its LibreOffice dies with it")
    second = _worker()
    try:
        _wait(lambda: _certificate(cert["id"])["pdf_sha256"], 120, "another worker retries the job")
    finally:
        second.terminate()
        second.wait(30)


def _cpus_allowed(pid: int) -> str:
    with open(f"/proc/{pid}/status") as status:
        return next(line.split()[1] for line in status if line.startswith("Cpus_allowed_list"))


def test_a_worker_pinned_to_a_core_keeps_its_libreoffice_there(queued):
    """`metrolab worker --cpu N` (one worker per core): the worker and the LibreOffice it starts
    run on core N only, and it renders as any worker does."""
    from factories import approved
    from test_certificates import make_certificate

    core = max(os.sched_getaffinity(0))
    cert = run(make_certificate())
    jrun(approved(cert["id"]))
    worker = _worker(args=("--cpu", str(core)))
    try:
        office = _wait(lambda: _libreoffice_under(worker.pid), 60, "LibreOffice starts")
        assert _cpus_allowed(worker.pid) == str(core)
        assert {_cpus_allowed(p) for p in office} == {str(core)}
        _wait(lambda: _certificate(cert["id"])["pdf_sha256"], 120, "the pinned worker renders")
    finally:
        worker.terminate()
        worker.wait(30)


def test_a_worker_asked_for_a_core_the_machine_lacks_says_which_it_has(queued):
    worker = _worker(args=("--cpu", "4096"))
    _, err = worker.communicate(timeout=60)
    assert worker.returncode != 0
    assert "--cpu 4096" in err.decode() and "可用的 CPU 核" in err.decode()
    assert "Traceback" not in err.decode()


def test_a_worker_that_cannot_sign_says_so_at_start_and_takes_no_job(queued, tmp_path):
    from factories import approved
    from test_certificates import make_certificate

    cert = run(make_certificate())
    jrun(approved(cert["id"]))
    worker = _worker({"METROLAB_DATA_DIR": str(tmp_path), "METROLAB_SIGNING_AUTO_KEYS": "0"})
    try:
        _, err = worker.communicate(timeout=120)
    finally:
        worker.kill()
    assert worker.returncode == 1
    assert (
        "没有签名密钥" in err.decode() and "Traceback" not in err.decode()
    )  # a message, not a crash
    assert _job(cert["id"]) == "todo"  # left for a worker that can sign
    assert _certificate(cert["id"])["issue_error"] == ""


def test_the_sweep_queues_an_approved_certificate_whose_job_was_lost(queued):
    from factories import approved
    from metrolab import jobs
    from test_certificates import make_certificate

    cert = run(make_certificate())
    jrun(approved(cert["id"]))
    jrun(_forget_jobs())  # as if the process died between the approval and the deferral
    assert _job(cert["id"]) == ""

    assert jrun(jobs.sweep()) == 1
    assert _job(cert["id"]) == "todo"
    assert jrun(jobs.sweep()) == 0  # queued once


def test_healthz_says_when_the_servers_render_worker_is_ready(queued, monkeypatch):
    """A server warms its render worker (LibreOffice, the signer) for several seconds after it
    answers: /healthz says so, for a load balancer (and the benchmarks) to wait for "ready"."""
    from litestar.testing import TestClient

    from metrolab import jobs
    from metrolab.app import create_app

    monkeypatch.setattr(jobs, "_worker_state", "")  # this process has no worker after the test
    with TestClient(create_app(), base_url="http://testserver.local") as client:
        assert client.get("/healthz").json()["render_worker"] == "starting"
        _wait(
            lambda: client.get("/healthz").json()["render_worker"] == "ready",
            90,
            "the worker has warmed up",
        )
        assert client.get("/healthz").json() == {
            "status": "ok",
            "database": "ok",
            "render_worker": "ready",
        }
    assert jobs.worker_state() == "stopped"
