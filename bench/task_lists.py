"""Task lists and the certificate query with 10 k and 1 M certificates on PostgreSQL.

Fills a fresh database with N certificates in a realistic mix of states, in time order (numbers
and dates grow with the id, as a lab issues them), each with its original record (INSERT … SELECT
generate_series, then VACUUM ANALYZE as autovacuum would), opens the connection pool as
`metrolab serve` does, then times what pages run: the home page's counters for a checker and
signatory (待核验 / 待批准 …, as the page asks them), an exact count for comparison, and the
certificate query (first page, a status filter, a number search, a year's numbers, two digits, a
later page), the 原始记录 list (all, 我的记录, a serial, a record number, a year's numbers, two
digits, a later page), the 委托单 list (one for every four certificates, from 200 customers: all, a
number, a year's numbers, a rare and a common customer, 待发放, a state, a later page), the 检定任务
list (a task for every certificate: all, mine, 待编制, 待分配, a 出厂编号, 委托单号 and certificate
number, two digits, a later page) with the verifier's home counters, the 审计日志 (three events for
every certificate: all, actions common to once-only, an object, an actor, a day), and the statistics page
(certificates by month, instrument type and verifier over a year, by month over all time; records
by verifier over a year).

    .venv/bin/python bench/task_lists.py --sizes 10000,1000000
Prints a table, writes bench/results/task_lists.json."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("METROLAB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

WORKER = r'''
import asyncio, json, statistics, sys, time
from metrolab.cli import _upgrade
from metrolab.seed import seed_all
from metrolab.piccolo_conf import DB
from metrolab.accounts import staff
from metrolab.customers.tables import Customer
from metrolab.web.auth import CurrentUser
from metrolab.db import close_pool, open_pool

N = int(sys.argv[1])
# A record for every certificate, as a lab has (its 出厂编号, model and instrument name are searched
# with the certificate's number; its verifier is the 待核验 counter's, and the certificate's signers
# name it as compiling does: the statistics' verifier).
FILL_RECORDS = """
INSERT INTO original_record (id, number, instrument_type, form_version, customer, instrument_name, serial,
                             model, manufacturer, verified_on, standards, environment, data, conclusion,
                             status, verifier, created_at, updated_at, last_revision_hash, draft_page, draft_seq)
SELECT {offset} + g, 'YS' || (2020 + (g - 1) * 6 / {n}) || '-' || lpad(g::text, 7, '0'),
       (ARRAY['fuel_dispenser','methane_detector','pressure_gauge'])[1 + g % 3],
       (SELECT min(id) FROM form_version), {customer},
       (ARRAY['燃油加油机','甲烷检测报警器','压力表'])[1 + g % 3], 'SN' || g, 'M-' || (g % 50), '',
       DATE '2020-01-01' + ((g - 1)::bigint * 2190 / {n})::int, '[]', '{{}}', '{{}}', '合格', 'saved', {verifier}, now(), now(), '', '', 0
FROM generate_series(1, {n}) AS g;
SELECT setval(pg_get_serial_sequence('original_record', 'id'), (SELECT max(id) FROM original_record));
"""
FILL = """
INSERT INTO certificate (number, kind, status, lock_version, revision, instrument_type, customer, record, context, signers,
                         compiler_edits, verified_on, valid_until, conclusion, pdf_sha256, signature, issue_error,
                         printed_at, recall_reason, created_at, issued_at)
SELECT CASE WHEN g % 10 < 7 THEN 'JD' || (2020 + (g - 1) * 6 / {n}) || '-' || lpad(g::text, 7, '0') END,
       '检定证书',
       (ARRAY['released','released','released','released','printed','printed','issued','approving','checking','compiling'])[1 + g % 10],
       1, 1, (ARRAY['fuel_dispenser','methane_detector','pressure_gauge'])[1 + g % 3], {customer}, {offset} + g,
       json_build_object('instrument', json_build_object('serial', 'SN' || g)),
       json_build_object('verifier', {verifier}), '{{}}',
       DATE '2020-01-01' + ((g - 1)::bigint * 2190 / {n})::int, DATE '2020-06-01' + ((g - 1)::bigint * 2190 / {n})::int, '合格',
       CASE WHEN g % 10 < 7 THEN md5(g::text) || md5(g::text) ELSE '' END,
       CASE WHEN g % 10 < 7 THEN json_build_object('pades', true, 'reason', '检定证书', 'signer', '压测批准员')
            ELSE '{{}}'::json END,
       '', CASE WHEN g % 10 < 6 THEN now() END, '',
       now(), CASE WHEN g % 10 < 7 THEN now() END
FROM generate_series(1, {n}) AS g
"""
# 委托单 of four instruments each, from 200 customers; one rare customer's two entrustments are
# old. A task for every certificate (its record and certificate). What a lab has in hand is the
# newest: older entrustments are released, as are their tasks.
# The audit log: three events for every certificate, one a second up to now, by 20 people; one
# action a thousandth of them, one action once (long ago).
FILL_AUDIT = """
INSERT INTO audit_event (at, actor_id, actor_name, action, target_type, target_id, details, ip)
SELECT now() - ((3 * {n} - g) || ' seconds')::interval, NULL, '压测员' || (g % 20),
       CASE WHEN g % 1000 = 0 THEN 'customer.deleted' WHEN g = 100 THEN 'user.role_changed'
            ELSE (ARRAY['certificate.checked','certificate.approved','record.saved','task.compiled'])[1 + g % 4] END,
       'certificate', (g / 3)::text, '{{}}', '127.0.0.1'
FROM generate_series(1, 3 * {n}) AS g
"""
FILL_CUSTOMERS = """
INSERT INTO customer (name, credit_code, category, address, phone, remarks, created_at)
SELECT '压测委托单位' || lpad(c::text, 3, '0'), '', '', '', '', '', now() FROM generate_series(1, 200) AS c
"""
FILL_ENTRUSTMENTS = """
INSERT INTO entrustment (id, number, customer, contact, phone, requested_date, onsite, form_version, data,
                         status, lock_version, created_by, created_at, received_at, received_by, received_count)
SELECT {offset} + e, 'WT' || (2020 + (e - 1) * 6 / {n}) || '-' || lpad(e::text, 7, '0'),
       CASE WHEN e IN (5, 6) THEN {rare} ELSE {first_customer} + 1 + e % 200 END, '联系人' || e % 50, '', NULL,
       false, (SELECT min(id) FROM form_version), '{{}}',
       CASE WHEN e > {n} - 20 THEN (ARRAY['registered','received','in_progress','completed'])[1 + e % 4]
            ELSE 'released' END, 1, NULL, now(), now(), NULL, 4
FROM generate_series(1, {n}) AS e;
SELECT setval(pg_get_serial_sequence('entrustment', 'id'), (SELECT max(id) FROM entrustment));
"""
FILL_TASKS = """
INSERT INTO verification_task (entrustment, line, instrument_type, name, model, serial, manufacturer, quantity,
                               fee, department, assigned_to, record, certificate, status, released_at)
SELECT {entrustments} + 1 + (g - 1) / 4, 1 + (g - 1) % 4,
       (ARRAY['fuel_dispenser','methane_detector','pressure_gauge'])[1 + g % 3],
       (ARRAY['燃油加油机','甲烷检测报警器','压力表'])[1 + g % 3], 'M-' || (g % 50), 'SN' || g, '', 1, '', '',
       CASE WHEN g <= {n} - 80 OR g % 4 <> 0 THEN {verifier} END,
       CASE WHEN g <= {n} - 80 OR g % 4 >= 2 THEN {records} + g END,
       CASE WHEN g <= {n} - 80 OR g % 4 = 3 THEN {certificates} + g END,
       CASE WHEN g > {n} - 80 THEN (ARRAY['registered','assigned','recording','certifying'])[1 + g % 4]
            ELSE 'released' END,
       CASE WHEN g <= {n} - 80 THEN now() END
FROM generate_series(1, {n}) AS g
"""

async def timed(fn, runs=15):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter(); await fn(); times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))]}

async def main():
    await _upgrade(); await seed_all()
    await open_pool()  # as `metrolab serve` does
    c = Customer(name="压测客户"); await c.save()
    u = await staff.create_user({"username": "bench_v", "full_name": "压测核验员", "password": "bench-pass-1"},
                                ["checker", "signatory"])
    verifier = await staff.create_user(
        {"username": "bench_verifier", "full_name": "压测检定员", "password": "bench-pass-1"}, ["verifier"])
    rare = Customer(name="罕见委托单位"); await rare.save()
    async def top(table):
        return (await DB.run_ddl(f"SELECT coalesce(max(id), 0) AS n FROM {table}"))[0]["n"]
    offset, certificates = await top("original_record"), await top("certificate")
    t0 = time.perf_counter()
    for statement in FILL_RECORDS.format(offset=offset, customer=c.id, verifier=verifier.id, n=N).split(";")[:-1]:
        await DB.run_ddl(statement)
    await DB.run_ddl(FILL.format(customer=c.id, offset=offset, verifier=verifier.id, n=N))
    first_customer = await top("customer")
    await DB.run_ddl(FILL_CUSTOMERS)
    entrustments = await top("entrustment")
    fill = FILL_ENTRUSTMENTS.format(offset=entrustments, n=-(-N // 4), rare=rare.id, first_customer=first_customer)
    for statement in fill.split(";")[:-1]:
        await DB.run_ddl(statement)
    await DB.run_ddl(FILL_TASKS.format(entrustments=entrustments, records=offset, certificates=certificates,
                                       verifier=verifier.id, n=N))
    await DB.run_ddl(FILL_AUDIT.format(n=N))
    fill_s = time.perf_counter() - t0
    # The steady state autovacuum keeps (statistics, visibility map), not a bulk load's first minute.
    for table in ("original_record", "certificate", "customer", "entrustment", "verification_task",
                  "audit_event"):
        await DB.run_ddl(f"VACUUM ANALYZE {table}")
    from datetime import UTC, datetime
    from metrolab.accounts import services as accounts
    from metrolab.business import services
    from metrolab.web.auth import sha256
    from metrolab.web.navigation import task_counts
    # The person as a signed-in request sees them: the session's user, roles and permissions.
    me = await accounts.user_for_session(sha256(await accounts.start_session(u.id, "127.0.0.1")),
                                         datetime.now(UTC))
    out = {"certificates": N, "fill_s": fill_s}
    # The home page's counters as it asks them (one statement; a badge stops past 999).
    out["home_counters"] = await timed(lambda: task_counts(me))
    out["exact_count_approving"] = await timed(lambda: services.task_count("approving", me))
    out["query_first_page"] = await timed(lambda: services.search_certificates(page_no=1))
    out["query_status_checking"] = await timed(lambda: services.search_certificates(status="checking"))
    # One number's first digits (the 70 numbered certificates among 100 of 2023), as a clerk types it.
    probe = N * 55 // 100 // 10 * 10 + 3  # numbered: g % 10 < 7
    q_number = f"JD{2020 + (probe - 1) * 6 // N}-{probe:07d}"[:-2]
    out["query_number_search"] = await timed(lambda: services.search_certificates(q=q_number))
    # A year's numbers: a sixth of the certificates match (the newest first, counted to 1000+).
    out["query_number_common"] = await timed(lambda: services.search_certificates(q="JD2023"))
    # Two digits of a serial or number: found among the newest certificates (counted to 1000+).
    out["query_digits"] = await timed(lambda: services.search_certificates(q="12"))
    out["query_page_100"] = await timed(lambda: services.search_certificates(page_no=100))
    # 原始记录 as its list asks (a page of 50, newest first, counted): all, 我的记录, a rare 出厂编号
    # and record number (old records: through the trigram indexes), a year's numbers, two digits.
    from metrolab.records import services as records
    out["records_first_page"] = await timed(lambda: records.search())
    out["records_mine"] = await timed(lambda: records.search(verifier=verifier.id))
    out["records_mine_none"] = await timed(lambda: records.search(verifier=u.id))
    out["records_serial"] = await timed(lambda: records.search(f"SN{probe}"))
    q_record = f"YS{2020 + (probe - 1) * 6 // N}-{probe:07d}"[:-1]
    out["records_number"] = await timed(lambda: records.search(q_record))
    out["records_number_common"] = await timed(lambda: records.search("YS2023"))
    out["records_digits"] = await timed(lambda: records.search("12"))
    out["records_page_100"] = await timed(lambda: records.search(page_no=100))
    # 委托单 as its list asks: all, a rare number (old), a year's numbers, a customer with two old
    # entrustments, one with 1/200 of them, 待发放 (stage=release), a status; 检定任务: all, mine,
    # 待编制 (the home page's link), 待分配, a rare 出厂编号 and 委托单号, a later page.
    from metrolab.business import lists
    e_probe = probe // 4
    q_entrustment = f"WT{2020 + (e_probe - 1) * 6 // (N // 4)}-{e_probe:07d}"[:-1]
    out["entrustments_first_page"] = await timed(lambda: lists.entrustments())
    out["entrustments_number"] = await timed(lambda: lists.entrustments(q_entrustment))
    out["entrustments_number_common"] = await timed(lambda: lists.entrustments("WT2023"))
    out["entrustments_customer_rare"] = await timed(lambda: lists.entrustments("罕见委托"))
    out["entrustments_customer"] = await timed(lambda: lists.entrustments("压测委托单位123"))
    out["entrustments_release"] = await timed(lambda: lists.entrustments(stage="release"))
    out["entrustments_received"] = await timed(lambda: lists.entrustments(status="received"))
    out["entrustments_page_100"] = await timed(lambda: lists.entrustments(page_no=100))
    v = await accounts.user_for_session(
        sha256(await accounts.start_session(verifier.id, "127.0.0.1")), datetime.now(UTC))
    out["home_counters_verifier"] = await timed(lambda: task_counts(v))
    out["tasks_first_page"] = await timed(lambda: lists.tasks(v))
    out["tasks_mine"] = await timed(lambda: lists.tasks(v, mine=True))
    out["tasks_mine_compile"] = await timed(lambda: lists.tasks(v, mine=True, stage="compile"))
    out["tasks_unassigned"] = await timed(lambda: lists.tasks(v, stage="unassigned"))
    out["tasks_serial"] = await timed(lambda: lists.tasks(v, q=f"SN{probe}"))
    out["tasks_entrustment_number"] = await timed(lambda: lists.tasks(v, q=q_entrustment))
    q_certificate = f"JD{2020 + (probe - 1) * 6 // N}-{probe:07d}"
    out["tasks_certificate_number"] = await timed(lambda: lists.tasks(v, q=q_certificate))
    out["tasks_digits"] = await timed(lambda: lists.tasks(v, q="12"))
    out["tasks_page_100"] = await timed(lambda: lists.tasks(v, page_no=100))
    # 审计日志 as its page asks (a page of 50, newest first): all, a common, a rare and a once-only
    # action, one never taken, an object, an actor, a name nobody acted under, a day long ago.
    from datetime import date, timedelta
    from metrolab.audit import services as audit
    from metrolab.audit.services import Filters
    ago = date.today() - timedelta(days=3 * N // 86400 // 2)
    for name, f in {
        "audit_first_page": Filters(), "audit_action_common": Filters(action="record.saved"),
        "audit_action_rare": Filters(action="customer.deleted"),
        "audit_action_once": Filters(action="user.role_changed"),
        "audit_action_none": Filters(action="nothing.happened"),
        "audit_object": Filters(target_type="certificate", target_id=str(probe)),
        "audit_actor": Filters(actor="压测员7"), "audit_actor_none": Filters(actor="没有这个人"),
        "audit_day": Filters(start=ago, end=ago),
    }.items():
        out[name] = await timed(lambda f=f: audit.events(f, 1))
    out["audit_page_100"] = await timed(lambda: audit.events(Filters(), 100))
    # 统计分析 as its page asks: over one year by month, type and verifier; by month over all time.
    from datetime import date
    from metrolab.statistics.queries import grouped
    year = (date(2025, 1, 1), date(2025, 12, 31))
    out["statistics_month_year"] = await timed(lambda: grouped("certificates", "month", *year), runs=15)
    out["statistics_type_year"] = await timed(
        lambda: grouped("certificates", "instrument_type", *year), runs=15)
    out["statistics_verifier_year"] = await timed(lambda: grouped("certificates", "verifier", *year), runs=15)
    out["statistics_month_all"] = await timed(lambda: grouped("certificates", "month", None, None), runs=15)
    out["statistics_records_verifier_year"] = await timed(
        lambda: grouped("records", "verifier", *year), runs=15)
    await close_pool()
    print(json.dumps(out))

asyncio.run(main())
'''


def run_size(n: int) -> dict:
    name = f"metrolab_bench_tasks_{secrets.token_hex(3)}"
    subprocess.run(["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    try:
        env = dict(
            os.environ,
            METROLAB_DATABASE_URL=PG_ADMIN.rsplit("/", 1)[0] + f"/{name}",
            METROLAB_DATA_DIR=f"/tmp/{name}",
            METROLAB_SECRET_KEY="bench",
        )
        env.pop("PICCOLO_CONF", None)
        out = subprocess.run(
            [sys.executable, "-c", WORKER, str(n)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if out.returncode:  # the worker's traceback, not only "returned non-zero exit status"
            sys.stderr.write(out.stderr[-4000:])
            raise SystemExit(f"task_lists worker failed at {n:,} certificates")
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run(["psql", PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,1000000")
    args = parser.parse_args()
    results = [run_size(int(n)) for n in args.sizes.split(",")]
    keys = [k for k in results[0] if isinstance(results[0][k], dict)]
    print("\nTask lists and certificate query on PostgreSQL (p50 / p95 ms)")
    print(f"{'query':<30}" + "".join(f"{r['certificates']:>22,}" for r in results))
    for k in keys:
        print(
            f"{k:<30}"
            + "".join(f"{r[k]['p50_ms']:>12.1f} / {r[k]['p95_ms']:<7.1f}" for r in results)
        )
    print(f"{'(fill, s)':<30}" + "".join(f"{r['fill_s']:>22.1f}" for r in results))
    out = ROOT / "bench" / "results" / "task_lists.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"→ {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
