"""Tamper evidence (issue 12 items 4 and 8): a lab made through the services passes `metrolab audit
verify`; each kind of row altered directly in the database — a record's verifier, type or status, a
revision's author, a certificate's conclusion, valid_until, PDF hash or signers, a signature step, a
template approval, audit rows deleted, a chain link deleted or recomputed without the key, a chain
truncated behind an anchor — makes it fail, naming the chain, the row and what differs."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from conftest import ROOT, run
from factories import (
    VERIFIED_ON,
    backdate_receipt,
    entrustment_async,
    person_async,
    qualify_async,
)


async def save_record_async(record_id: int, verifier) -> None:  # noqa: ANN001
    """The verifier fills the form's sample readings and saves them (the first revision)."""
    from metrolab.certificates import catalogue
    from metrolab.engine.forms import sample_data
    from metrolab.records import services as records

    rec = await records.record_or_404(record_id)
    pin = await records.pinned(rec["form_version"])
    itype = await catalogue.instrument_type(rec["instrument_type"])
    data = {
        **sample_data(pin.defn, catalogue=itype),
        **{k: v for k, v in (rec["data"] or {}).items() if v},
        "standards": ["FAC-GAS-01", "STD-GAS-CH4-01"],  # valid on VERIFIED_ON
        "verification_date": VERIFIED_ON.isoformat(),
    }
    header = {"customer": rec["customer"], "instrument_name": rec["instrument_name"]}
    outcome = await records.save(record_id, header, data, verifier)
    assert outcome.saved, (outcome.header_errors, outcome.problems)


async def lab_async(serials=("SN-CH-0001", "SN-CH-0002")) -> dict:  # noqa: ANN001
    """Entrustment → records saved → certificates: the first issued (核验, 批准), the second in 核验."""
    from metrolab.business import services
    from metrolab.certificates import workflow as cw
    from metrolab.workflows.signatures import SignerProof

    clerk = await person_async("clerk", full_name="赵登记")
    verifier = await person_async("verifier", full_name="李检定")
    checker = await person_async("checker", full_name="王核验")
    signatory = await person_async("signatory", full_name="张批准")
    await qualify_async(verifier.id)
    e = await entrustment_async(clerk, serials)
    await services.receive(e["id"], verifier, len(serials))
    await backdate_receipt(e["id"])  # received before VERIFIED_ON (the forms' not_before)
    ids = []
    for t in await services.tasks_of(e["id"]):
        await services.assign(t["id"], verifier.id, verifier)
        record_id = await services.open_record(t["id"], verifier)
        await save_record_async(record_id, verifier)
        ids.append(await services.compile_certificate(t["id"], verifier))
    for n, cid in enumerate(ids):
        await cw.act(cid, "submit", verifier, password=SignerProof(verifier.id))
        if n == 0:
            await cw.act(cid, "pass_check", checker, password=SignerProof(checker.id))
            await cw.act(cid, "approve", signatory, password=SignerProof(signatory.id))
    return {"certificates": ids, "verifier": verifier, "checker": checker, "signatory": signatory}


def audit_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "metrolab.cli", "audit", *args],
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )


def _reports() -> dict:
    from metrolab.audit.chain import verify

    return {r.chain: r for r in run(verify())}


def _broken() -> dict[str, list[str]]:
    return {k: r.problems for k, r in _reports().items() if r.problems}


def _sql(sql: str, *args) -> list:  # noqa: ANN002
    from metrolab.audit.tables import AuditEvent

    return run(AuditEvent.raw(sql, *args))


@pytest.fixture
def lab(seeded, converter):  # noqa: ARG001 - the shipped templates, a PDF converter
    return run(lab_async())


def test_a_lab_made_through_the_services_passes_and_each_chain_is_reported(lab):
    reports = _reports()
    assert not [r.problems for r in reports.values() if r.problems]
    for chain in (
        "certificate",
        "workflow_transition",
        "original_record",
        "record_revision",
        "certificate_template_version",
        "audit_event",
    ):
        assert reports[chain].links >= reports[chain].rows > 0, chain
    out = audit_cli("verify")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "审计链完好" in out.stdout
    assert "证书（certificate）：" in out.stdout and "审计日志（audit_event）：" in out.stdout


def _issued(lab: dict) -> dict:
    from metrolab.certificates.services import get_certificate

    return run(get_certificate(lab["certificates"][0]))


# (what a person with database access changes, the chain that must report it, words of the report)
def _row_edits(lab: dict) -> list[tuple[str, str, tuple, str, str]]:
    cert = _issued(lab)
    record_id = cert["record"]
    other = lab["checker"].id
    approve = _sql(
        "SELECT id FROM workflow_transition WHERE object_type = 'certificate' AND action = 'approve'"
    )[0]["id"]
    revision = _sql("SELECT id FROM record_revision WHERE record = {}", record_id)[0]["id"]
    template = _sql(
        "SELECT id FROM certificate_template_version WHERE status = 'published' ORDER BY id"
    )[0]["id"]
    c, r = cert["id"], record_id
    return [
        ("UPDATE original_record SET verifier = {} WHERE id = {}", "original_record", (other, r),
         f"original_record #{r}", "verifier"),
        ("UPDATE original_record SET instrument_type = {} WHERE id = {}", "original_record",
         ("co_detector", r), f"original_record #{r}", "instrument_type"),
        ("UPDATE original_record SET status = {} WHERE id = {}", "original_record", ("draft", r),
         f"original_record #{r}", "status"),
        ("UPDATE record_revision SET by_name = {} WHERE id = {}", "record_revision",
         ("冒名者", revision), f"record_revision #{revision}", "by_name"),
        ("UPDATE certificate SET conclusion = {} WHERE id = {}", "certificate", ("不合格", c),
         f"certificate #{c}（{cert['number']}）", "conclusion"),
        ("UPDATE certificate SET valid_until = {} WHERE id = {}", "certificate",
         (date(2099, 12, 31), c), f"certificate #{c}", "valid_until"),
        ("UPDATE certificate SET pdf_sha256 = {} WHERE id = {}", "certificate", ("0" * 64, c),
         f"certificate #{c}", "pdf_sha256"),
        ("UPDATE certificate SET signers = {} WHERE id = {}", "certificate",
         (json.dumps({"verifier": other, "checker": other, "approver": other}), c),
         f"certificate #{c}", "signers"),
        ("UPDATE workflow_transition SET signature = {} WHERE id = {}", "workflow_transition",
         (json.dumps({"signer": "伪造", "meaning": "批准"}, ensure_ascii=False), approve),
         f"workflow_transition #{approve}", "signature"),
        ("UPDATE workflow_transition SET actor_name = {} WHERE id = {}", "workflow_transition",
         ("冒名者", approve), f"workflow_transition #{approve}", "actor_name"),
        ("UPDATE certificate_template_version SET approval_signature = {} WHERE id = {}",
         "certificate_template_version", ("{}", template),
         f"certificate_template_version #{template}", "approval_signature"),
    ]  # fmt: skip


def test_each_kind_of_row_edited_in_the_database_is_named(lab):
    for sql, chain, args, where, what in _row_edits(lab):
        table = sql.split()[1]
        column = sql.split()[3]
        before = _sql(f"SELECT {column} FROM {table} WHERE id = {{}}", args[-1])[0][column]
        _sql(sql, *args)
        broken = _broken()
        assert list(broken) == [chain], (sql, broken)
        first = broken[chain][0]
        assert where in first and what in first, (sql, first)
        if isinstance(before, dict | list):
            before = json.dumps(before, ensure_ascii=False)
        _sql(sql, before, args[-1])  # put it back: the chain is whole again
        assert not _broken(), (sql, _broken())


def test_an_edited_record_is_named_by_the_cli_with_what_differs(lab):
    cert = _issued(lab)
    _sql("UPDATE certificate SET conclusion = {} WHERE id = {}", "不合格", cert["id"])
    out = audit_cli("verify")
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"certificate #{cert['id']}（{cert['number']}）" in out.stdout
    assert 'conclusion：链上 "合格"，现为 "不合格"' in out.stdout
    assert "[✓] 审计日志（audit_event）" in out.stdout  # the other chains are reported whole


def test_deleted_rows_deleted_links_and_links_recomputed_without_the_key(lab):
    from metrolab.audit.chain import canonical

    # an audit row deleted
    last = _sql("SELECT max(id) AS id FROM audit_event")[0]["id"]
    _sql("DELETE FROM audit_event WHERE id = {}", last)
    assert any(f"audit_event #{last}" in p and "已不存在" in p for p in _broken()["audit_event"])
    # a link deleted (the row stays): the chain has a gap and the row no link
    cert = _issued(lab)
    link = _sql(
        "SELECT id, seq FROM audit_chain_entry WHERE chain = 'certificate' AND object_id = {} "
        "ORDER BY seq LIMIT 1",
        str(lab["certificates"][1]),
    )[0]
    _sql("DELETE FROM audit_chain_entry WHERE id = {}", link["id"])
    problems = _broken()["certificate"]
    assert any("序号不连续" in p for p in problems), problems
    # a certificate edited and its latest link recomputed with plain SHA-256 (no key)
    _sql("UPDATE certificate SET conclusion = {} WHERE id = {}", "不合格", cert["id"])
    latest = _sql(
        "SELECT id, seq, object_id, at, payload, prev FROM audit_chain_entry "
        "WHERE chain = 'certificate' AND object_id = {} ORDER BY seq DESC LIMIT 1",
        str(cert["id"]),
    )[0]
    payload = json.loads(latest["payload"]) | {"conclusion": "不合格"}
    text = canonical(payload)
    forged = hashlib.sha256(
        canonical(["certificate", latest["seq"], latest["object_id"], latest["at"], text,
                   latest["prev"]]).encode()
    ).hexdigest()  # fmt: skip
    _sql("UPDATE audit_chain_entry SET payload = {}, mac = {} WHERE id = {}", text, forged,
         latest["id"])  # fmt: skip
    problems = _broken()["certificate"]
    assert any(f"第 {latest['seq']} 条" in p and "密钥签名不符" in p for p in problems), problems
    assert not any("conclusion" in p for p in problems)  # the row now matches the forged link
    # a published form version retired behind the reviewers' backs
    form = _sql("SELECT id FROM form_version WHERE status = 'published' ORDER BY id")[0]["id"]
    _sql("UPDATE form_version SET status = 'retired' WHERE id = {}", form)
    problems = _broken()["form_version"]
    assert any(f"form_version #{form}" in p and "status" in p for p in problems), problems


def test_a_chain_truncated_or_rewritten_behind_an_anchor(lab, tmp_path: Path):
    anchor = tmp_path / "anchor.json"
    out = audit_cli("anchor", str(anchor))
    assert out.returncode == 0, out.stderr
    heads = json.loads(anchor.read_text())["chains"]
    assert heads["certificate"]["count"] > 0
    ok = audit_cli("verify", "--anchor", str(anchor))
    assert ok.returncode == 0 and "并延续锚点" in ok.stdout, ok.stdout + ok.stderr
    # the newest audit row and its link removed together: the chain alone still looks whole
    last = _sql("SELECT max(id) AS id FROM audit_event")[0]["id"]
    _sql("DELETE FROM audit_event WHERE id = {}", last)
    _sql("DELETE FROM audit_chain_entry WHERE chain = 'audit_event' AND object_id = {}", str(last))
    assert "audit_event" not in _broken()
    bad = audit_cli("verify", "--anchor", str(anchor))
    assert bad.returncode == 1, bad.stdout
    assert "链被截断" in bad.stdout and "审计日志（audit_event）" in bad.stdout


def test_verify_with_another_audit_key_says_so(lab):
    env = dict(os.environ, METROLAB_AUDIT_KEY="not-the-key-that-sealed-this-lab")
    out = audit_cli("verify", env=env)
    assert out.returncode == 1
    assert "当前 audit_key 不是建链时的密钥" in out.stdout
