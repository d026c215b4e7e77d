"""Business: entrustment → tasks → record → certificate (compile / check / approve, batch) → release.
Real database (SQLite or PostgreSQL), real workflow engine, real PDF toolchain for issuing."""

from __future__ import annotations

import asyncio
import base64
import io
import shutil
from datetime import date

import pytest

from conftest import run
from factories import backdate_receipt, pin_broken_template, unpin_template
from metrolab.business import release, services
from metrolab.business.tables import Entrustment, Release, VerificationTask
from metrolab.certificates import printing
from metrolab.certificates import workflow as cw
from metrolab.certificates.tables import Certificate
from metrolab.web.auth import CurrentUser
from metrolab.web.errors import UserError
from metrolab.workflows import services as wf

needs_pdf = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
PASSWORD = "secret-pass-1"
VERIFIED_ON = date(2026, 3, 12)


def who(user: dict, *roles: str, name: str = "") -> CurrentUser:
    return CurrentUser(
        id=user["id"],
        username=user["username"],
        full_name=name or user["username"],
        language="zh",
        department_id=None,
        roles=frozenset(roles),
    )


def qualify(user: dict, types=("methane_detector",), until: date = date(2030, 1, 1)) -> None:
    from metrolab.accounts.tables import Qualification

    run(
        Qualification.insert(
            Qualification(
                user=user["id"],
                certificate_no=f"JD-{user['id']}",
                instrument_types=list(types),
                valid_until=until,
            )
        )
    )


def entrust_form(serials=("SN-A-0001",), customer="峰峰集团大淑村矿") -> dict:
    data = {
        "customer": customer,
        "contact": "张三",
        "phone": "0310-5551234",
        "service_mode": "送检",
        "_new_customer": "1",  # the first entrustment of a customer not yet on file
    }
    for i, s in enumerate(serials):
        data.update(
            {
                f"instruments.{i}.instrument_type": "methane_detector",
                f"instruments.{i}.serial": s,
                f"instruments.{i}.quantity": "1",
                f"instruments.{i}.model": "JCB4",
            }
        )
    return data


async def _entrustment(clerk: CurrentUser, serials=("SN-A-0001",)) -> dict:
    from metrolab.engine.forms import parse_submission

    pin = await services.entrustment_form()
    data = parse_submission(pin.defn, entrust_form(serials))
    problems, codes = await services.check_entrustment(pin, data)
    assert not problems, problems
    return await services.create_entrustment(clerk, pin, data, codes)


async def _fill_record(record_id: int) -> None:
    """The verifier filled and saved the record (the form's computed sample), verified on VERIFIED_ON."""
    from metrolab.records.tables import OriginalRecord
    from test_certificates import record_for

    rec = await record_for("methane_detector", conforming=True)
    await OriginalRecord.update(
        {
            OriginalRecord.data: rec["data"],
            OriginalRecord.conclusion: rec["conclusion"],
            OriginalRecord.standards: ["FAC-GAS-01", "STD-GAS-CO-01"],
            OriginalRecord.verified_on: VERIFIED_ON,
            OriginalRecord.status: "saved",
        }
    ).where(OriginalRecord.id == record_id)


async def _to_certificate(clerk, verifier, receiver=None, serials=("SN-A-0001",)) -> list[int]:
    """Entrustment → received → assigned to ``verifier`` → records → certificates (编制中)."""
    e = await _entrustment(clerk, serials)
    await services.receive(e["id"], receiver or verifier, len(serials))
    await backdate_receipt(e["id"])  # received before VERIFIED_ON (the forms' not_before)
    ids = []
    for t in await services.tasks_of(e["id"]):
        await services.assign(t["id"], verifier.id, receiver or verifier)
        record_id = await services.open_record(t["id"], verifier)
        await _fill_record(record_id)
        ids.append(await services.compile_certificate(t["id"], verifier))
    return ids


@pytest.fixture
def people(seeded, make_user):
    clerk = make_user("clerk", full_name="业务员小王")
    verifier = make_user("verifier", full_name="检定员张晓明")
    checker = make_user("checker", full_name="核验员李建华")
    approver = make_user("signatory", full_name="批准人王志刚")
    qualify(verifier)
    return {
        "clerk": who(clerk, "clerk", name="业务员小王"),
        "verifier": who(verifier, "verifier", name="检定员张晓明"),
        "checker": who(checker, "checker", name="核验员李建华"),
        "approver": who(approver, "signatory", name="批准人王志刚"),
        "raw": {"verifier": verifier},
    }


def _refused(awaitable) -> str:
    with pytest.raises(UserError) as exc:
        run(awaitable)
    return str(exc.value.detail)


# ── entrustment ─────────────────────────────────────────────────────────────────────────────


def test_entrustment_from_the_published_form_makes_one_task_per_line(seeded, browser, make_user):
    browser.login(make_user("clerk"))
    bad = entrust_form(("SN-1", "SN-2"))
    bad["instruments.1.instrument_type"] = "不存在的器具"
    bad["phone"] = "abc"
    r = browser.post("/entrustments", data=bad)
    assert r.status_code == 400
    assert (
        "没有名为“不存在的器具”的器具类型" in r.text
        and "SN-2" in r.text
        and "峰峰集团大淑村矿" in r.text
    )
    r = browser.post("/entrustments", data=entrust_form(("SN-1", "SN-2")), follow_redirects=False)
    assert r.status_code == 303, r.text
    e = run(Entrustment.select().first())
    assert e["number"] == f"WT{date.today().year}-00001" and e["status"] == "registered"
    tasks = run(VerificationTask.select().order_by(VerificationTask.line))
    assert [t["serial"] for t in tasks] == ["SN-1", "SN-2"] and tasks[0][
        "instrument_type"
    ] == "methane_detector"
    slip = browser.get(f"/entrustments/{e['id']}/slip")
    assert (
        slip.status_code == 200
        and e["number"] in slip.text
        and "data:image/png;base64," in slip.text
    )
    assert e["number"] in browser.get("/entrustments?q=WT").text


def test_receive_assign_and_the_customer_cannot_be_deleted(people):
    from metrolab.customers.services import references

    e = run(_entrustment(people["clerk"]))
    assert "委托单" in " ".join(run(references(e["customer"])))
    msg = _refused(services.receive(e["id"], people["clerk"], 1))
    assert "需要以下角色之一" in msg
    run(services.receive(e["id"], people["verifier"], 1))
    e = run(services.get_entrustment(e["id"]))
    assert (
        e["status"] == "received"
        and e["received_count"] == 1
        and e["received_by"] == people["verifier"].id
    )
    task = run(services.tasks_of(e["id"]))[0]
    run(services.assign(task["id"], people["verifier"].id, people["verifier"]))
    assert run(services.get_task(task["id"]))["status"] == "assigned"
    assert (
        _refused(services.open_record(task["id"], people["checker"]))
        == "只有分配到该任务的检定员可以操作"
    )


# ── separation of duties ─────────────────────────────────────────────────────────────────────


def test_unqualified_verifier_is_refused_with_the_rule_and_the_name(people, make_user):
    other = make_user("verifier", full_name="无证检定员")
    o = who(other, "verifier", name="无证检定员")
    (cid,) = run(_to_certificate(people["clerk"], o))
    msg = _refused(cw.act(cid, "submit", o, password=PASSWORD))
    assert "verifier_qualified" in msg and "无证检定员" in msg and "2026-03-12" in msg


def test_standard_expired_on_the_verification_date_is_refused(people):
    from metrolab.records.tables import OriginalRecord

    (cid,) = run(_to_certificate(people["clerk"], people["verifier"]))
    cert = run(cw.get_certificate(cid))
    run(
        OriginalRecord.update({OriginalRecord.verified_on: date(2026, 10, 1)}).where(
            OriginalRecord.id == cert["record"]
        )
    )
    run(
        Certificate.update({Certificate.verified_on: date(2026, 10, 1)}).where(
            Certificate.id == cid
        )
    )
    msg = _refused(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    assert "standards_valid" in msg and "FAC-GAS-01" in msg and "2026-08-31" in msg


def test_checker_who_is_the_verifier_and_wrong_password_and_missing_reason(people):
    (cid,) = run(_to_certificate(people["clerk"], people["verifier"]))
    assert (
        _refused(cw.act(cid, "submit", people["verifier"], password="wrong"))
        == "密码不正确，签名未完成"
    )
    run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    both = who(
        {"id": people["verifier"].id, "username": "v"}, "verifier", "checker", name="检定员张晓明"
    )
    msg = _refused(cw.act(cid, "pass_check", both, password=PASSWORD))
    assert "checker_not_verifier" in msg and "检定员张晓明" in msg
    assert "原因" in _refused(cw.act(cid, "return_check", people["checker"], reason="  "))
    run(cw.act(cid, "return_check", people["checker"], reason="示值误差计算有误"))
    cert = run(cw.get_certificate(cid))
    assert cert["status"] == "compiling"
    hist = run(wf.history(Certificate, cid))
    assert hist[-1]["reason"] == "示值误差计算有误" and hist[0]["signature"]["meaning"] == "检定"


def test_approver_needs_the_signatory_role_and_must_not_be_the_verifier(people, make_user):
    (cid,) = run(_to_certificate(people["clerk"], people["verifier"]))
    run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    run(cw.act(cid, "pass_check", people["checker"], password=PASSWORD))
    # the rule itself (a role-holder check comes first in the engine, so call the rule directly too)
    from metrolab.engine.workflow import RULES

    assert "不是授权签字人" in RULES["approver_authorised"](
        {"roles": ["checker"], "actor_name": "核验员李建华"}
    )
    assert "需要以下角色之一" in _refused(
        cw.act(cid, "approve", people["checker"], password=PASSWORD)
    )
    self_approver = who(
        {"id": people["verifier"].id, "username": "v"}, "verifier", "signatory", name="检定员张晓明"
    )
    msg = _refused(cw.act(cid, "approve", self_approver, password=PASSWORD))
    assert "approver_not_verifier" in msg and "检定员张晓明" in msg
    assert run(cw.get_certificate(cid))["status"] == "approving"


def test_compiler_not_verifier_goes_through_initial_review(people):
    from metrolab.certificates.tables import Certificate as C

    (cid,) = run(_to_certificate(people["clerk"], people["verifier"]))
    run(C.update({C.created_by: people["clerk"].id}).where(C.id == cid))  # the clerk compiled it
    msg = _refused(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    assert "初审" in msg
    run(cw.act(cid, "submit_initial_review", people["clerk"]))
    assert "原因" in _refused(cw.act(cid, "return_initial_review", people["verifier"]))
    run(cw.act(cid, "confirm_initial_review", people["verifier"], password=PASSWORD))
    assert run(cw.get_certificate(cid))["status"] == "checking"


# ── approval: issue, concurrency, batch ──────────────────────────────────────────────────────


@needs_pdf
def test_two_approvals_at_once_exactly_one_succeeds(people, converter, make_user):
    other = make_user("signatory", full_name="批准人二")
    (cid,) = run(_to_certificate(people["clerk"], people["verifier"]))
    run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    run(cw.act(cid, "pass_check", people["checker"], password=PASSWORD))
    lock = run(cw.get_certificate(cid))["lock_version"]

    async def both():
        return await asyncio.gather(
            cw.act(cid, "approve", people["approver"], password=PASSWORD, expected_lock=lock),
            cw.act(cid, "approve", who(other, "signatory"), password=PASSWORD, expected_lock=lock),
            return_exceptions=True,
        )

    results = run(both())
    ok = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, UserError)]
    assert len(ok) == 1 and len(refused) == 1 and refused[0].status_code == 409, results
    cert = run(cw.get_certificate(cid))
    assert (
        cert["status"] == "issued"
        and cert["number"]
        and cert["pdf_sha256"]
        and cert["verify_token"]
    )
    approvals = [h for h in run(wf.history(Certificate, cid)) if h["action"] == "approve"]
    assert len(approvals) == 1 and approvals[0]["signature"]["meaning"] == "批准"


@needs_pdf
def test_batch_approval_lists_the_bad_one_and_issues_the_others(
    people, converter, browser, make_user
):
    ids = run(
        _to_certificate(people["clerk"], people["verifier"], serials=("SN-B-1", "SN-B-2", "SN-B-3"))
    )
    for cid in ids:
        run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
        run(cw.act(cid, "pass_check", people["checker"], password=PASSWORD))
    # the second one's verifier is the approver: refused by approver_not_verifier, the others go on
    bad = ids[1]
    cert = run(cw.get_certificate(bad))
    run(
        Certificate.update(
            {Certificate.signers: {**cert["signers"], "verifier": people["approver"].id}}
        ).where(Certificate.id == bad)
    )
    approver = run(_user_row(people["approver"].id))
    browser.login(approver)
    page = browser.get("/business/approvals")
    assert page.status_code == 200 and "SN-B-1" in page.text
    wrong = browser.post(
        "/business/approvals", data={"ids": [str(i) for i in ids], "password": "nope"}
    )
    assert wrong.status_code == 403 and not run(
        Certificate.exists().where(Certificate.pdf_sha256 != "")
    )
    r = browser.post(
        "/business/approvals", data={"ids": [str(i) for i in ids], "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    assert (
        "已批准并出具 2 份，失败 1 份" in r.text
        and "approver_not_verifier" in r.text
        and "SN-B-2" in r.text
    )
    rows = {c["id"]: c for c in run(Certificate.select().where(Certificate.id.is_in(ids)))}
    assert rows[bad]["status"] == "approving" and not rows[bad]["number"]
    assert all(rows[i]["status"] == "issued" and rows[i]["pdf_sha256"] for i in ids if i != bad)


@needs_pdf
def test_an_interrupted_batch_is_completed_by_rerunning_it(people, converter):
    """Approved but the PDF step never ran (the process died): the certificate has no number, no PDF,
    is not on the verify page; rerunning the batch issues it with the same approval."""
    ids = run(_to_certificate(people["clerk"], people["verifier"], serials=("SN-C-1", "SN-C-2")))
    for cid in ids:
        run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
        run(cw.act(cid, "pass_check", people["checker"], password=PASSWORD))
    # the interruption: the approval committed, the issue step failed (here: a template that cannot render)
    run(pin_broken_template(ids[0]))
    with pytest.raises(UserError):
        run(cw.act(ids[0], "approve", people["approver"], password=PASSWORD))
    run(unpin_template(ids[0]))
    cert = run(cw.get_certificate(ids[0]))
    assert cert["status"] == "issued" and not cert["pdf_sha256"] and not cert["number"]
    assert cert["issue_error"]
    result = run(cw.approve_batch(ids, people["approver"], PASSWORD))
    assert not result.failed and len(result.done) == 2
    rows = run(Certificate.select().where(Certificate.id.is_in(ids)))
    assert all(r["pdf_sha256"] and r["number"] and r["status"] == "issued" for r in rows)
    assert len([h for h in run(wf.history(Certificate, ids[0])) if h["action"] == "approve"]) == 1


@needs_pdf
def test_a_batch_issues_in_the_order_ticked_and_a_render_failure_is_listed(people, converter):
    """Without a job queue a batch issues through a pipeline (the next certificate approved while
    LibreOffice converts one): numbers still follow the order ticked, and a certificate that cannot
    render is listed with why while the ones on either side are issued."""
    serials = ("SN-P-1", "SN-P-2", "SN-P-3", "SN-P-4")
    ids = run(_to_certificate(people["clerk"], people["verifier"], serials=serials))
    for cid in ids:
        run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
        run(cw.act(cid, "pass_check", people["checker"], password=PASSWORD))
    ticked = [ids[3], ids[0], ids[2], ids[1]]
    broken = ids[2]
    run(pin_broken_template(broken))
    result = run(cw.approve_batch(ticked, people["approver"], PASSWORD))
    assert [f["id"] for f in result.failed] == [broken]
    assert "证书生成失败，可重试" in result.failed[0]["message"]
    rows = {c["id"]: c for c in run(Certificate.select().where(Certificate.id.is_in(ids)))}
    good = [i for i in ticked if i != broken]
    numbers = [rows[i]["number"] for i in good]
    assert all(numbers) and numbers == sorted(numbers), numbers
    assert [d["number"] for d in result.done] == numbers
    assert all(rows[i]["status"] == "issued" and rows[i]["pdf_sha256"] for i in good)
    assert rows[broken]["status"] == "issued" and not rows[broken]["pdf_sha256"]
    assert rows[broken]["issue_error"]
    # mended, the same batch again issues it with the number it was given in its turn
    run(unpin_template(broken))
    again = run(cw.approve_batch(ticked, people["approver"], PASSWORD))
    assert not again.failed and len(again.done) == 4
    rows = {c["id"]: c for c in run(Certificate.select().where(Certificate.id.is_in(ids)))}
    assert rows[broken]["pdf_sha256"]
    numbers = [rows[i]["number"] for i in ticked]
    assert numbers == sorted(numbers) and len(set(numbers)) == 4, numbers


async def _user_row(user_id: int) -> dict:
    from metrolab.accounts.tables import User

    row = await User.select(User.id, User.username).where(User.id == user_id).first()
    return {**row, "password": PASSWORD}


# ── release, pages ───────────────────────────────────────────────────────────────────────────


def _png() -> str:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (120, 40), "white")
    ImageDraw.Draw(img).line((5, 30, 115, 10), fill="black", width=3)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@needs_pdf
def test_release_with_the_customer_signature_and_the_verify_page(people, converter, browser):
    (cid,) = run(_to_certificate(people["clerk"], people["verifier"]))
    run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    run(cw.act(cid, "pass_check", people["checker"], password=PASSWORD))
    run(cw.act(cid, "approve", people["approver"], password=PASSWORD))
    task = run(VerificationTask.select().first())
    e_id = task["entrustment"]
    run(services.entrustment_act(e_id, "complete", people["verifier"]))
    browser.login(run(_user_row(people["clerk"].id)))
    r = browser.post(
        f"/entrustments/{e_id}/release",
        data={
            "tasks": [str(task["id"])],
            "mode": "certificate_and_instrument",
            "method": "自取",
            "collector": "张三",
            "signature": _png(),
        },
    )
    assert (
        r.status_code == 400 and "尚未打印" in r.text
    )  # printing is a step of its own, not back-filled
    run(printing.print_pdf([cid], people["clerk"]))
    r = browser.post(
        f"/entrustments/{e_id}/release",
        data={
            "tasks": [str(task["id"])],
            "mode": "certificate_and_instrument",
            "method": "自取",
            "collector": "张三",
            "signature": "",
        },
    )
    assert r.status_code == 400 and "请客户在签名框内签名" in r.text
    r = browser.post(
        f"/entrustments/{e_id}/release",
        data={
            "tasks": [str(task["id"])],
            "mode": "certificate_and_instrument",
            "method": "自取",
            "collector": "张三",
            "signature": _png(),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    cert = run(cw.get_certificate(cid))
    e = run(services.get_entrustment(e_id))
    rel = run(Release.select().output(load_json=True).first())
    assert cert["status"] == "released" and cert["printed_at"] and e["status"] == "released"
    assert (
        rel["collector"] == "张三"
        and rel["certificates"] == [cert["number"]]
        and rel["signature_sha256"]
    )
    assert (
        browser.get(f"/business/releases/{rel['id']}/signature.png").headers["content-type"]
        == "image/png"
    )
    verify = browser.get(f"/verify/{cert['verify_token']}")
    assert "有效" in verify.text
    detail = browser.get(f"/entrustments/{e_id}")
    assert "张三" in detail.text and "已发放" in detail.text
    listed = browser.get("/business/certificates?status=issued_any")
    assert cert["number"] in listed.text
    home = browser.get("/home")
    assert "待发放" in home.text


@needs_pdf
def test_modification_after_release_makes_a_new_revision_and_the_old_one_says_superseded(
    people, converter, browser, make_user
):
    from metrolab.certificates.services import verify_status

    tech = who(make_user("tech_manager"), "tech_manager", name="技术负责人")
    (cid,) = run(_to_certificate(people["clerk"], people["verifier"]))
    run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    run(cw.act(cid, "pass_check", people["checker"], password=PASSWORD))
    old = run(cw.act(cid, "approve", people["approver"], password=PASSWORD))
    task = run(VerificationTask.select().first())
    run(services.entrustment_act(task["entrustment"], "complete", people["verifier"]))
    run(printing.print_pdf([cid], people["clerk"]))
    run(
        release.release(
            task["entrustment"],
            people["clerk"],
            mode="certificate_and_instrument",
            task_ids=[task["id"]],
            collector="张三",
            method="自取",
            signature_data_url=_png(),
        )
    )
    assert run(cw.get_certificate(cid))["status"] == "released"
    assert "原因" in _refused(cw.act(cid, "request_modification", people["verifier"]))
    run(cw.act(cid, "request_modification", people["verifier"], reason="客户名称有误"))
    run(cw.act(cid, "review_modification", tech))
    new = run(cw.act(cid, "approve_modification", people["approver"]))
    assert new["revision"] == 2 and new["status"] == "compiling" and new["supersedes"] == cid
    assert run(VerificationTask.select().first())["certificate"] == new["id"]
    assert "第 2 版" in _refused(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    assert (
        run(verify_status(old["verify_token"]))["status"] == "有效"
    )  # until the new one is issued
    # compiled by the approver (not the verifier): the verifier's initial review, then check and approval
    run(cw.act(new["id"], "submit_initial_review", people["verifier"]))
    run(cw.act(new["id"], "confirm_initial_review", people["verifier"], password=PASSWORD))
    run(cw.act(new["id"], "pass_check", people["checker"], password=PASSWORD))
    issued2 = run(cw.act(new["id"], "approve", people["approver"], password=PASSWORD))
    assert issued2["pdf_sha256"] and issued2["number"]
    old_page = run(verify_status(old["verify_token"]))
    assert old_page["state"] == "superseded"
    assert old_page["status"] == f"已被第 2 版替代（证书编号 {issued2['number']}）"
    assert old_page["replaced_by"] == {
        "number": issued2["number"],
        "token": issued2["verify_token"],
    }
    new_page = run(verify_status(issued2["verify_token"]))
    assert new_page["status"] == "有效" and new_page["replaces"]["number"] == old["number"]
    # the amendment says on itself which certificate it replaces (ISO/IEC 17025 §7.8.8.2)
    from metrolab import storage
    from test_certificates import pdf_text

    assert issued2["context"]["certificate"]["supersedes_number"] == old["number"]
    assert f"本证书替代 {old['number']} 号证书" in pdf_text(
        storage.get(issued2["pdf_sha256"])
    ).replace("\n", "")
    # the issued-certificates query keeps the superseded one, marked
    browser.login(make_user("clerk"))
    listing = browser.get("/certificates", params={"q": old["number"]}).text
    assert old["number"] in listing and "已被替代" in listing


def test_pages_task_counters_greyed_actions_and_certificate_query(people, browser, make_user):
    ids = run(_to_certificate(people["clerk"], people["verifier"], serials=("SN-Q-1", "SN-Q-2")))
    run(cw.act(ids[0], "submit", people["verifier"], password=PASSWORD))
    browser.login(run(_user_row(people["checker"].id)))
    home = browser.get("/home")
    assert "待核验" in home.text
    detail = browser.get(f"/business/certificates/{ids[1]}")  # 编制中: the checker may not submit
    assert (
        detail.status_code == 200
        and "需要以下角色之一" in detail.text
        and "disabled" in detail.text
    )
    checking = browser.get("/business/certificates?status=checking")
    assert "SN-Q-1" in checking.text and "SN-Q-2" not in checking.text
    assert "SN-Q-2" in browser.get("/business/certificates?q=峰峰").text
    refused = browser.post(f"/business/certificates/{ids[0]}/act/return_check", data={"reason": ""})
    assert refused.status_code in (400, 422) and "原因" in refused.text
    r = browser.post(
        f"/business/certificates/{ids[0]}/act/return_check",
        data={"reason": "重新计算"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert run(cw.get_certificate(ids[0]))["status"] == "compiling"
    assert task_counts_for(people["verifier"]) >= 2
    tasks = browser.get("/tasks?q=SN-Q")
    assert "SN-Q-1" in tasks.text and "SN-Q-2" in tasks.text


def task_counts_for(user) -> int:  # noqa: ANN001
    return (
        run(services.task_count("checking", user))
        + run(services.task_count("compile", user))
        + len(run(services.search_certificates("compiling", mine=True, user=user))[0])
    )


def test_modifying_an_entrustment_needs_a_reason_and_keeps_started_tasks(people, browser):
    e = run(_entrustment(people["clerk"], ("SN-M-1", "SN-M-2")))
    browser.login(run(_user_row(people["clerk"].id)))
    assert browser.get(f"/entrustments/{e['id']}/edit").status_code == 200
    form = entrust_form(("SN-M-1", "SN-M-2X", "SN-M-3"))
    r = browser.post(f"/entrustments/{e['id']}/edit", data=form)
    assert r.status_code == 400 and "修改委托单必须填写原因" in r.text and "SN-M-3" in r.text
    r = browser.post(
        f"/entrustments/{e['id']}/edit",
        data={**form, "_reason": "客户补送一台"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    tasks = run(services.tasks_of(e["id"]))
    assert [t["serial"] for t in tasks] == ["SN-M-1", "SN-M-2X", "SN-M-3"]
    hist = run(wf.history(Entrustment, e["id"]))
    assert hist[-1]["action"] == "modify" and hist[-1]["reason"] == "客户补送一台"
    run(services.receive(e["id"], people["verifier"], 3))
    run(services.assign(tasks[2]["id"], people["verifier"].id, people["verifier"]))
    r = browser.post(
        f"/entrustments/{e['id']}/edit", data={**entrust_form(("SN-M-1",)), "_reason": "删两台"}
    )
    assert r.status_code == 409 and "SN-M-3" in r.text
    assert len(run(services.tasks_of(e["id"]))) == 3


def test_a_returned_certificate_is_back_on_the_verifiers_to_compile_list(people, browser):
    (cid,) = run(_to_certificate(people["clerk"], people["verifier"]))
    assert (
        run(services.task_count("compile", people["verifier"])) == 1
    )  # compiled, not yet submitted
    run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    assert run(services.task_count("compile", people["verifier"])) == 0
    assert run(services.task_count("checking", people["checker"])) == 1
    run(cw.act(cid, "return_check", people["checker"], reason="结论有误"))
    assert run(services.task_count("compile", people["verifier"])) == 1
    browser.login(run(_user_row(people["verifier"].id)))
    assert "SN-A-0001" in browser.get("/tasks?mine=1&stage=compile").text


def test_onsite_entrustment_is_scheduled_not_received(people):
    from metrolab.engine.forms import parse_submission

    async def onsite() -> dict:
        pin = await services.entrustment_form()
        posted = {
            **entrust_form(("SN-O-1",)),
            "service_mode": "现场检定",
            "site_address": "大淑村矿井下",
        }
        data = parse_submission(pin.defn, posted)
        problems, codes = await services.check_entrustment(pin, data)
        assert not problems, problems
        return await services.create_entrustment(people["clerk"], pin, data, codes)

    e = run(onsite())
    assert e["onsite"] is True
    assert "下厂检定的委托单不经科室接收" in _refused(
        services.receive(e["id"], people["verifier"], 1)
    )
    run(services.entrustment_act(e["id"], "schedule_onsite", people["clerk"]))
    run(services.entrustment_act(e["id"], "confirm_onsite", people["verifier"]))
    task = run(services.tasks_of(e["id"]))[0]
    run(services.assign(task["id"], people["verifier"].id, people["verifier"]))
    run(services.open_record(task["id"], people["verifier"]))
    assert run(services.get_entrustment(e["id"]))["status"] == "in_progress"


@needs_pdf
def test_release_certificate_only_then_instrument_only(people, converter):
    ids = run(_to_certificate(people["clerk"], people["verifier"], serials=("SN-R-1", "SN-R-2")))
    e_id = run(VerificationTask.select().first())["entrustment"]
    tasks = run(services.tasks_of(e_id))
    run(cw.act(ids[0], "submit", people["verifier"], password=PASSWORD))
    run(cw.act(ids[0], "pass_check", people["checker"], password=PASSWORD))
    run(cw.act(ids[0], "approve", people["approver"], password=PASSWORD))
    msg = _refused(
        release.release(
            e_id,
            people["clerk"],
            mode="certificate_only",
            task_ids=[t["id"] for t in tasks],
            collector="张三",
            method="邮寄",
            carrier="EMS",
            tracking_no="EMS1234567890CN",
        )
    )
    assert "SN-R-2" in msg and "尚未批准" in msg
    run(printing.print_pdf([ids[0]], people["clerk"]))
    run(
        release.release(
            e_id,
            people["clerk"],
            mode="certificate_only",
            task_ids=[tasks[0]["id"]],
            collector="张三",
            method="邮寄",
            carrier="EMS",
            tracking_no="EMS1234567890CN",
        )
    )
    assert run(cw.get_certificate(ids[0]))["status"] == "released"
    assert (
        run(services.get_task(tasks[0]["id"]))["status"] == "certifying"
    )  # the instrument is still here
    run(
        release.release(
            e_id,
            people["clerk"],
            mode="instrument_only",
            task_ids=[tasks[0]["id"]],
            collector="李四",
            method="自取",
            signature_data_url=_png(),
        )
    )
    assert run(services.get_task(tasks[0]["id"]))["status"] == "released"
    assert run(services.get_entrustment(e_id))["status"] == "in_progress"  # SN-R-2 not done yet
    modes = [r["mode"] for r in run(release.releases_of(e_id))]
    assert modes == ["certificate_only", "instrument_only"]


# ── a certificate true to its record (issue 10) ─────────────────────────────────────────────────


def _correct_record(record_id: int, verifier, reason: str, **data_changes) -> None:  # noqa: ANN001
    """The verifier corrects the saved record through the records service (划改 with a reason)."""
    from metrolab.records import services as records

    rec = run(records.get_record(record_id))
    header = {
        "customer": str(rec["customer"] or ""),
        "instrument_name": rec["instrument_name"],
        "serial": rec["serial"],
        "model": rec["model"],
        "manufacturer": rec["manufacturer"],
        "verified_on": rec["verified_on"].isoformat(),
        "standards": rec["standards"],
    }
    data = {
        **rec["data"],
        "standards": ["FAC-GAS-01"],
        "verification_date": VERIFIED_ON.isoformat(),
        **data_changes,
    }
    outcome = run(records.save(record_id, header, data, verifier, reason))
    assert outcome.saved, (
        outcome.header_errors,
        [(p.path, p.message_zh) for p in outcome.problems],
    )


@needs_pdf
def test_a_returned_certificate_is_reissued_with_the_corrected_record(people, converter, make_user):
    """The record is locked once submitted; 核验退回 reopens it; the re-submitted content, its signature
    hash and the issued PDF all say what the corrected record says."""
    from metrolab import storage
    from metrolab.records import services as records
    from test_certificates import pdf_text

    (cid,) = run(_to_certificate(people["clerk"], people["verifier"]))
    record_id = run(cw.get_certificate(cid))["record"]
    model = run(records.get_record(record_id))["data"]["model"]
    run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    first_hash = run(wf.history(Certificate, cid))[-1]["signature"]["sha256"]
    # locked: the record page says why, the service refuses
    lock = run(records.locked_by(record_id))
    assert lock and "核验中" in lock["message"] and lock["href"] == f"/business/certificates/{cid}"
    with pytest.raises(UserError) as refused:
        _correct_record(record_id, people["verifier"], "型号抄错", model="YB-100")
    assert refused.value.status_code == 409 and "不能直接修改" in str(refused.value.detail)
    # 核验退回 → the record opens again; the correction is a 划改 with its reason
    run(cw.act(cid, "return_check", people["checker"], reason="型号与铭牌不符"))
    assert run(records.locked_by(record_id)) is None
    _correct_record(record_id, people["verifier"], "型号抄错", model="YB-100")
    run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    cert = run(cw.get_certificate(cid))
    assert cert["context"]["instrument"]["model"] == "YB-100" != model
    second_hash = run(wf.history(Certificate, cid))[-1]["signature"]["sha256"]
    assert second_hash != first_hash  # the verifier signed different content
    run(cw.act(cid, "pass_check", people["checker"], password=PASSWORD))
    cert = run(cw.act(cid, "approve", people["approver"], password=PASSWORD))
    text = pdf_text(storage.get(cert["pdf_sha256"]))
    assert "YB-100" in text and model not in text


@needs_pdf
def test_content_changed_after_signing_sends_the_certificate_back(people, converter):
    """Changed behind the lock (here: directly in the database): the checker's signature is refused and
    the certificate returns to 编制 with the reason, instead of signing content nobody checked."""
    from metrolab.records.tables import OriginalRecord

    (cid,) = run(_to_certificate(people["clerk"], people["verifier"]))
    run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    record_id = run(cw.get_certificate(cid))["record"]
    rec = run(
        OriginalRecord.select(OriginalRecord.data)
        .where(OriginalRecord.id == record_id)
        .output(load_json=True)
        .first()
    )
    run(
        OriginalRecord.update(
            {OriginalRecord.data: {**rec["data"], "model": "ZZ-9"}, OriginalRecord.model: "ZZ-9"}
        ).where(OriginalRecord.id == record_id)
    )
    msg = _refused(cw.act(cid, "pass_check", people["checker"], password=PASSWORD))
    assert "已改变" in msg
    cert = run(cw.get_certificate(cid))
    assert (
        cert["status"] == "compiling"
        and run(wf.history(Certificate, cid))[-1]["action"] == "content_changed"
    )


@needs_pdf
def test_one_person_never_checks_and_approves_the_same_certificate(people, converter, make_user):
    both = who(make_user("checker", "signatory"), "checker", "signatory", name="两个角色的人")
    (cid,) = run(_to_certificate(people["clerk"], people["verifier"]))
    run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    run(cw.act(cid, "pass_check", both, password=PASSWORD))
    msg = _refused(cw.act(cid, "approve", both, password=PASSWORD))
    assert "同一人不能既核验又批准" in msg
    assert run(cw.get_certificate(cid))["number"] is None
    assert run(cw.act(cid, "approve", people["approver"], password=PASSWORD))["number"]


def test_issue_is_refused_outside_the_approval(people, browser, make_user):
    """Every door that can reach issuing: the service, the page, the API, the batch; only 批准 opens it."""
    from metrolab.certificates import services as certs

    (cid,) = run(_to_certificate(people["clerk"], people["verifier"]))
    admin = browser.login(make_user("admin", "signatory"))
    for state in ("compiling", "checking", "approving"):
        run(Certificate.update({Certificate.status: state}).where(Certificate.id == cid))
        assert "尚未经核验和批准" in _refused(certs.issue(cid, user=people["approver"]))
        assert admin.post(f"/api/v1/certificates/{cid}/issue").status_code == 409
        admin.post(f"/certificates/{cid}/issue")
        assert admin.post(f"/business/certificates/{cid}/reissue").status_code == 409
    # 待打印 without a signed approval on record (moved there behind the workflow's back): refused too
    run(Certificate.update({Certificate.status: "issued"}).where(Certificate.id == cid))
    assert "没有批准人的签名记录" in _refused(certs.issue(cid))
    assert admin.post(f"/api/v1/certificates/{cid}/issue").status_code == 409
    assert (
        run(cw.get_certificate(cid))["number"] is None
        and not run(cw.get_certificate(cid))["pdf_sha256"]
    )


def test_no_route_but_the_signed_approval_numbers_a_certificate(people, browser, app, make_user):
    """Enumerate every unsafe route of the app and call it, as a user holding every role, on a
    certificate in 批准中 (ids substituted, typical fields posted, the password included): none
    numbers it, except the workflow's 批准 action with the signatory's password."""
    import re

    from test_permissions import _routes

    (cid,) = run(_to_certificate(people["clerk"], people["verifier"]))
    run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    run(cw.act(cid, "pass_check", people["checker"], password=PASSWORD))
    every = make_user("admin", "tech_manager", "template_reviewer", "clerk", "checker", "signatory")
    client = browser.login(every)
    form = {
        "password": every["password"],
        "reason": "测试",
        "ids": str(cid),
        "id": str(cid),
        "lock_version": "",
        "one": str(cid),
    }
    tried = 0
    for path, method, _handler in _routes(app):
        if method not in {"POST", "PUT", "PATCH", "DELETE"} or path.startswith(
            ("/login", "/logout", "/language")
        ):
            continue
        if (path.endswith("/act/{action:str}") and "certificates" in path) or path.startswith(
            "/business/approvals"
        ):
            continue  # the workflow's 批准, one at a time or in a batch: tried below
        url = re.sub(r"\{[^}:]+:int\}", str(cid), path)
        url = re.sub(r"\{action:str\}", "approve", url)
        url = re.sub(r"\{[^}]+\}", "x", url)
        client.request(method, url, data=form)
        tried += 1
        assert run(cw.get_certificate(cid))["number"] is None, (
            f"{method} {path} numbered a certificate"
        )
    assert tried > 50
    r = client.post("/business/approvals/one", data={"id": str(cid), "password": every["password"]})
    assert r.status_code == 200 and run(cw.get_certificate(cid))["number"]
    approval = [h for h in run(wf.history(Certificate, cid)) if h["action"] == "approve"]
    assert len(approval) == 1 and approval[0]["signature"]["signer_id"] == every["id"]


def test_a_record_opened_from_a_task_carries_the_nameplate(people):
    """出厂编号, 型号, 制造单位 typed on the entrustment are in the new record: the verifier does not retype them."""
    from metrolab.records import services as records

    e = run(_entrustment(people["clerk"], serials=("SN-PLATE-1",)))
    run(services.receive(e["id"], people["verifier"], 1))
    (task,) = run(services.tasks_of(e["id"]))
    run(services.assign(task["id"], people["verifier"].id, people["verifier"]))
    rec = run(records.get_record(run(services.open_record(task["id"], people["verifier"]))))
    assert rec["serial"] == rec["data"]["serial"] == "SN-PLATE-1"
    assert rec["model"] == rec["data"]["model"] == task["model"] and task["model"]


# ── defects replayed (issue 12): each as the reproduction found it ───────────────────────────


def test_the_batch_form_without_javascript_and_nothing_ticked_says_so(people, browser):
    """Was a 500 (KeyError: 'ids'): the no-JavaScript form posted with no box ticked."""
    (cid,) = run(_to_certificate(people["clerk"], people["verifier"]))
    run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    run(cw.act(cid, "pass_check", people["checker"], password=PASSWORD))
    browser.login(run(_user_row(people["approver"].id)))
    r = browser.post("/business/approvals", data={"password": PASSWORD})
    assert r.status_code == 400 and "请至少勾选一份证书" in r.text
    assert 'id="batch-form"' in r.text and "SN-A-0001" in r.text  # the list again, to tick
    assert run(cw.get_certificate(cid))["status"] == "approving"
    r = browser.post(
        "/business/approvals/one",
        data={"id": str(cid), "password": "wrong"},
        headers={"accept": "application/json"},  # as the page's script asks
    )
    assert r.status_code == 403 and "密码不正确" in r.json()["detail"]


def test_a_verifier_cannot_compile_another_verifiers_task(people, browser, make_user):
    """Was: POST /tasks/{id}/compile by any verifier compiled somebody else's task."""
    e = run(_entrustment(people["clerk"]))
    run(services.receive(e["id"], people["verifier"], 1))
    (task,) = run(services.tasks_of(e["id"]))
    run(services.assign(task["id"], people["verifier"].id, people["verifier"]))
    run(_fill_record(run(services.open_record(task["id"], people["verifier"]))))
    other = make_user("verifier", full_name="检定员赵六")
    browser.login(other)
    r = browser.post(f"/tasks/{task['id']}/compile", follow_redirects=False)
    assert r.status_code == 403 and "只有本人或业务室编制人员可以编制证书" in r.text
    assert "检定员张晓明" in r.text
    assert run(services.get_task(task["id"]))["certificate"] is None
    # 业务室's 编制人 compiles for the verifier (then the verifier's 初审), as §5.8.3 allows.
    cid = run(services.compile_certificate(task["id"], people["clerk"]))
    assert run(services.get_task(task["id"]))["certificate"] == cid


def test_receiving_more_instruments_than_entrusted_is_refused_on_the_page(people, browser):
    e = run(_entrustment(people["clerk"], ("SN-C-1", "SN-C-2")))
    browser.login(run(_user_row(people["verifier"].id)))
    r = browser.post(f"/entrustments/{e['id']}/receive", data={"count": "5"})
    assert r.status_code == 400 and "接收数量 5 台超过委托单的器具数量 2 台" in r.text
    assert 'id="receive-error"' in r.text and 'value="5"' in r.text  # the typed count kept
    assert run(services.get_entrustment(e["id"]))["status"] == "registered"
    r = browser.post(
        f"/entrustments/{e['id']}/receive", data={"count": "2"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert run(services.get_entrustment(e["id"]))["received_count"] == 2


def test_page_inputs_are_bounded_not_database_errors(people, browser):
    browser.login(run(_user_row(people["clerk"].id)))
    big = 2147483648
    for url in (
        f"/entrustments/{big}",
        f"/entrustments/{big}/edit",
        f"/business/certificates/{big}",
    ):
        assert browser.get(url).status_code in (400, 404), url
    for url in (f"/entrustments/{big}/receive", f"/tasks/{big}/compile", f"/tasks/{big}/assign"):
        assert browser.post(url, data={}).status_code in (400, 403, 404), url
    assert browser.get("/entrustments?q=%00").status_code == 400
    form = entrust_form(("SN-NUL",))
    form["contact"] = "张\x00三"
    form["_version"] = str(big)
    r = browser.post("/entrustments", data=form)
    assert r.status_code == 400 and "控制字符" in r.text and "SN-NUL" in r.text
    assert run(Entrustment.count()) == 0
    e = run(_entrustment(people["clerk"]))
    r = browser.post(f"/entrustments/{e['id']}/act/print", data={})
    assert r.status_code == 404
    r = browser.post("/business/certificates/1/act/release", data={})
    assert r.status_code == 404 and "这个动作" in r.text


def test_two_clerks_submitting_at_the_same_moment_both_get_their_entrustment(
    people, new_browser, make_user
):
    """Was: one 500 (UniqueViolation) in 4 of 5 trials on PostgreSQL and the typed form lost. The
    counter table queues the two numberings; both clerks land on their own entrustment."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    clerks = [new_browser().login(make_user("clerk")) for _ in range(2)]
    start = threading.Barrier(2)

    def submit(i: int):  # noqa: ANN202
        start.wait()
        return clerks[i].post(
            "/entrustments", data=entrust_form((f"SN-RACE-{i}",)), follow_redirects=False
        )

    for _trial in range(3):
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(submit, range(2)))
        assert [a.status_code for a in answers] == [303, 303], [a.text[:300] for a in answers]
    numbers = [r["number"] for r in run(Entrustment.select(Entrustment.number))]
    assert len(numbers) == len(set(numbers)) == 6
    serials = sorted(t["serial"] for t in run(VerificationTask.select(VerificationTask.serial)))
    assert serials == ["SN-RACE-0"] * 3 + ["SN-RACE-1"] * 3
