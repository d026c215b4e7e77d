"""The certificates feature's JSON API as an integrator drives it: a personal API token, no browser.

Templates (upload, versions, submit, review with the password, return, retire, preview, .docx),
certificate queries (number, customer, serial), PDF, printing (reprint needs a reason), recall (signed),
number voiding; the recall request and the three signatures' separation of duties on page and API;
bounded inputs (ids above 2³¹, NUL in search text) answered 400/404, never 500."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest
from docx import Document

from conftest import run
from factories import PASSWORD, as_user, compiled_certificates, qualify_async
from metrolab.audit.tables import AuditEvent
from metrolab.certificates import workflow as cw
from metrolab.certificates.tables import Certificate, PrintLog, TemplateVersion, VoidedNumber

ROOT = Path(__file__).resolve().parents[1]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HUGE = 2147483648


class Integrator:
    """A script with one person's API token (Authorization: Bearer …; no cookies, no CSRF); the
    token is made as a person makes it, on the profile page."""

    def __init__(self, client, user: dict, browser) -> None:  # noqa: ANN001
        self.client = client
        self.user = user
        made = browser.login(user).post("/me/tokens", data={"name": "集成测试"})
        token = re.search(r'id="new-token">([^<]+)<', made.text).group(1)
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.client.post(url, headers=self.headers, **kw)

    def put(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.client.put(url, headers=self.headers, **kw)


@pytest.fixture
def api(app, new_browser):
    from litestar.testing import TestClient

    with TestClient(app, base_url="http://testserver.local") as client:
        yield lambda user: Integrator(client, user, new_browser())


def shipped_docx() -> bytes:
    return (ROOT / "certificate_templates" / "verification_certificate.docx").read_bytes()


def docx_with(*paragraphs: str) -> bytes:
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def audited(action: str, target_id: int) -> bool:
    return bool(
        run(
            AuditEvent.exists().where(
                (AuditEvent.action == action) & (AuditEvent.target_id == str(target_id))
            )
        )
    )


def detail(r) -> str:  # noqa: ANN001
    return r.json()["detail"]


# ── templates ─────────────────────────────────────────────────────────────────────────────


def test_template_upload_review_and_download_through_the_api(seeded, api, make_user):
    author = api(make_user("tech_manager", "template_reviewer", full_name="模板作者"))
    reviewer = api(make_user("template_reviewer", full_name="模板审核员"))
    clerk = api(make_user("clerk"))
    new = {"key": "api_tpl", "name": "接口上传的模板", "kind": "检定证书"}
    bad = author.post(
        "/api/v1/certificate-templates",
        data=new,
        files={"file": ("x.docx", b"not a word file", DOCX)},
    )
    assert bad.status_code == 400 and bad.json()["errors"], bad.text
    assert not run(TemplateVersion.exists().where(TemplateVersion.filename == "x.docx"))
    assert (
        clerk.post(
            "/api/v1/certificate-templates",
            data=new,
            files={"file": ("a.docx", shipped_docx(), DOCX)},
        ).status_code
        == 403
    )
    r = author.post(
        "/api/v1/certificate-templates", data=new, files={"file": ("a.docx", shipped_docx(), DOCX)}
    )
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert v1["status"] == "draft" and v1["number"] == 1 and v1["template_key"] == "api_tpl"
    listed = {t["key"]: t for t in reviewer.get("/api/v1/certificate-templates").json()}
    assert listed["api_tpl"]["versions"][0]["id"] == v1["id"]
    tid = v1["template"]
    r = author.post(
        f"/api/v1/certificate-templates/{tid}/versions",
        files={"file": ("b.docx", shipped_docx(), DOCX)},
    )
    assert r.status_code == 201 and r.json()["number"] == 2
    v2 = r.json()
    body = reviewer.get(f"/api/v1/certificate-templates/{tid}").json()
    assert [v["number"] for v in body["versions"]] == [2, 1] and body["key"] == "api_tpl"

    base = "/api/v1/certificate-templates/versions"
    assert author.post(f"{base}/{v1['id']}/submit").json()["status"] == "in_review"
    # the author cannot approve what they wrote, even holding the reviewer's role
    r = author.post(f"{base}/{v1['id']}/approve", json={"password": PASSWORD})
    assert r.status_code == 403 and "不能审批自己" in detail(r)
    assert reviewer.post(f"{base}/{v1['id']}/approve", json={}).status_code == 400
    r = reviewer.post(f"{base}/{v1['id']}/approve", json={"password": "wrong-pass-99"})
    assert r.status_code == 403 and "密码不正确" in detail(r)
    r = reviewer.post(f"{base}/{v1['id']}/approve", json={"password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "published"
    assert r.json()["approval_signature"]["signer_id"] == reviewer.user["id"]
    assert audited("certificate_template_version.approve", v1["id"])

    assert author.post(f"{base}/{v2['id']}/submit").status_code == 200
    assert reviewer.post(f"{base}/{v2['id']}/return", json={"reason": ""}).status_code == 400
    r = reviewer.post(f"{base}/{v2['id']}/return", json={"reason": "页眉缺少机构名称"})
    assert r.status_code == 200 and r.json()["status"] == "draft"
    assert r.json()["review_reason"] == "页眉缺少机构名称"
    assert author.post(f"{base}/{v2['id']}/submit").status_code == 200
    assert author.post(f"{base}/{v2['id']}/submit").status_code == 409  # not a draft any more

    r = clerk.get(f"{base}/{v1['id']}/template.docx")
    assert r.status_code == 200 and r.content == shipped_docx()
    assert r.headers["content-type"].startswith(DOCX)
    r = author.post(f"{base}/{v1['id']}/retire")
    assert r.status_code == 200 and r.json()["status"] == "retired"
    for url in (
        f"/api/v1/certificate-templates/{HUGE}",
        f"{base}/{HUGE}",
        f"{base}/{HUGE}/template.docx",
        f"{base}/{HUGE}/preview.pdf",
        f"{base}/999999/template.docx",
    ):
        assert reviewer.get(url).status_code in (400, 404), url
    assert author.post(f"{base}/{HUGE}/submit").status_code in (400, 404)


@pytest.mark.parametrize(
    "source",
    ["{% for i in range(10**9) %}{{ i }}{% endfor %}", "{{ nothing.here.at_all }}"],
    ids=["range-1e9", "unknown-variable"],
)
def test_a_preview_the_sandbox_stops_is_refused_in_chinese_on_page_and_api(
    seeded, api, browser, make_user, source
):
    """A stored version that cannot render (uploaded before a lint rule, or a render-time refusal):
    its preview answers 422 with the reason, quickly, never a 500 after the time limit."""
    from metrolab import storage

    template = run(TemplateVersion.select(TemplateVersion.template).first())["template"]
    bad = TemplateVersion(
        template=template, number=77, status="draft", docx_sha256=storage.put(docx_with(source))
    )
    run(bad.save())
    user = make_user("clerk")
    started = time.monotonic()
    r = api(user).get(f"/api/v1/certificate-templates/versions/{bad.id}/preview.pdf")
    assert r.status_code == 422, r.text
    assert "模板无法用示例数据生成预览" in detail(r)
    page = browser.login(user).get(f"/certificate-templates/versions/{bad.id}/preview.pdf")
    assert page.status_code == 422 and "模板无法用示例数据生成预览" in page.text
    assert time.monotonic() - started < 45


# ── certificates: queries, PDF, printing, recall, numbers ────────────────────────────────────


@pytest.fixture
def lab(seeded, make_user):
    rows = {
        "clerk": make_user("clerk", full_name="业务员小王"),
        "verifier": make_user("verifier", full_name="检定员张晓明"),
        "checker": make_user("checker", full_name="核验员李建华"),
        "approver": make_user("signatory", full_name="批准人王志刚"),
        "manager": make_user("admin", "signatory", full_name="技术负责人刘强"),
    }
    run(qualify_async(rows["verifier"]["id"]))
    people = {
        "clerk": as_user(rows["clerk"], "clerk"),
        "verifier": as_user(rows["verifier"], "verifier"),
        "checker": as_user(rows["checker"], "checker"),
        "approver": as_user(rows["approver"], "signatory"),
    }
    return rows, people


def compiled(people, serials=("SN-API-0001",)) -> list[int]:  # noqa: ANN001
    return run(compiled_certificates(people["clerk"], people["verifier"], serials))


def issued(people, serials=("SN-API-0001",)) -> list[int]:  # noqa: ANN001
    ids = compiled(people, serials)
    for cid in ids:
        run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
        run(cw.act(cid, "pass_check", people["checker"], password=PASSWORD))
        run(cw.act(cid, "approve", people["approver"], password=PASSWORD))
    return ids


def test_certificate_queries_pdf_and_printing(lab, api, converter):
    rows, people = lab
    (cid,) = issued(people, ("SN-API-7788",))
    cert = run(cw.get_certificate(cid))
    clerk = api(rows["clerk"])
    for q in (cert["number"], "大淑村", "SN-API-7788"):
        found = clerk.get("/api/v1/certificates", params={"q": q}).json()
        assert [c["id"] for c in found["items"]] == [cid], q
    assert clerk.get("/api/v1/certificates", params={"q": "没有这个"}).json()["total"] == 0
    assert clerk.get("/api/v1/certificates", params={"q": "a\x00b"}).status_code == 400
    assert clerk.get("/api/v1/certificates", params={"kind": "别的"}).status_code == 400
    pdf = clerk.get(f"/api/v1/certificates/{cid}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"].startswith("application/pdf")

    queue = clerk.get("/api/v1/certificates/to-print").json()
    assert [c["id"] for c in queue["items"]] == [cid]
    r = clerk.post("/api/v1/certificates/print", json={"ids": [cid]})
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert run(cw.get_certificate(cid))["status"] == "printed"
    r = clerk.post("/api/v1/certificates/print", json={"ids": [cid]})
    assert r.status_code == 400 and "补打须填写原因" in detail(r)
    r = clerk.post("/api/v1/certificates/print", json={"ids": [cid], "reason": "客户遗失"})
    assert r.status_code == 200
    log = run(PrintLog.select().where(PrintLog.certificate == cid).order_by(PrintLog.id))
    assert [p["reprint"] for p in log] == [False, True] and log[1]["reason"] == "客户遗失"
    assert audited("certificate.reprinted", cid)
    printed = clerk.get("/api/v1/certificates/to-print", params={"print_status": "已打印"})
    assert [c["id"] for c in printed.json()["items"]] == [cid]
    assert clerk.post("/api/v1/certificates/print", json={"ids": []}).status_code == 400
    assert clerk.post("/api/v1/certificates/print", json={"ids": [HUGE]}).status_code == 400
    assert clerk.post("/api/v1/certificates/print", json={"ids": [999999]}).status_code == 404
    record = clerk.get(f"/api/v1/certificates/records/{cert['record']}/print")
    assert record.status_code == 200 and record.json()["html"]
    assert clerk.get(f"/api/v1/certificates/records/{HUGE}/print").status_code in (400, 404)


def test_recall_through_the_api_is_signed_and_only_for_who_may(lab, api, converter):
    rows, people = lab
    (cid,) = issued(people)
    url = f"/api/v1/certificates/{cid}/recall"
    body = {"reason": "结论有误", "password": PASSWORD}
    assert api(rows["verifier"]).post(url, json=body).status_code == 403  # no certificates.void
    manager = api(rows["manager"])
    assert manager.post(url, json={"reason": "结论有误"}).status_code == 400  # no password
    r = manager.post(url, json={**body, "password": "wrong-pass-99"})
    assert r.status_code == 403 and "密码不正确" in detail(r)
    assert run(cw.get_certificate(cid))["status"] == "issued"
    r = manager.post(url, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "recalled" and r.json()["recall_reason"] == "结论有误"
    withdraw = [h for h in run(cw.wf.history(Certificate, cid)) if h["action"] == "withdraw"]
    assert withdraw[0]["signature"]["signer_id"] == rows["manager"]["id"]
    assert audited("certificate.withdraw", cid)
    assert manager.post(url, json=body).status_code == 409  # already withdrawn


def test_voiding_a_number_through_the_api(lab, api, browser):
    rows, _people = lab
    manager = api(rows["manager"])
    url = "/api/v1/certificates/numbers/void"
    r = manager.post(url, json={"number": "JD2026-999999", "reason": "打印错误作废"})
    assert r.status_code == 200 and r.json() == {"number": "JD2026-999999", "voided": True}
    assert run(VoidedNumber.exists().where(VoidedNumber.number == "JD2026-999999"))
    assert audited("certificate.number_voided", "JD2026-999999")
    r = manager.post(url, json={"number": "JD2026-999999", "reason": "再次"})
    assert r.status_code == 409 and "已作废" in detail(r)
    assert manager.post(url, json={"number": "JD2026-1", "reason": ""}).status_code == 400
    assert manager.post(url, json={"number": "X" * 60, "reason": "太长"}).status_code == 400
    assert api(rows["clerk"]).post(url, json={"number": "A1", "reason": "x"}).status_code == 403
    listed = manager.get("/api/v1/certificates/numbers/voided").json()
    assert listed[0]["number"] == "JD2026-999999"
    # the page, with a number longer than the column, answers 400 beside the field (not a 500)
    page = browser.login(rows["manager"]).post(
        "/certificates/numbers/void", data={"number": "X" * 60, "reason": "太长"}
    )
    assert page.status_code == 400 and "至多 50 个字符" in page.text


def test_bounded_ids_and_search_text(lab, api, browser, new_browser):
    rows, people = lab
    (cid,) = compiled(people)
    manager = api(rows["manager"])
    for url in (
        f"/api/v1/certificates/{HUGE}",
        f"/api/v1/certificates/{HUGE}/pdf",
        f"/api/v1/certificates/{HUGE}/content",
        "/api/v1/certificates/0",
        f"/api/v1/certificates/{cid}/pdf",  # not issued yet: no PDF
    ):
        assert manager.get(url).status_code in (400, 404), url
    for url in (f"/api/v1/certificates/{HUGE}/issue", f"/api/v1/certificates/{HUGE}/recall"):
        assert manager.post(url, json={"reason": "x", "password": PASSWORD}).status_code in (
            400,
            404,
        ), url
    r = manager.get("/api/v1/certificates", params={"q": "\x00"})
    assert r.status_code == 400 and any("\u4e00" <= ch <= "\u9fff" for ch in detail(r))
    assert manager.get("/api/v1/certificates", params={"page_no": HUGE}).status_code == 400
    page = browser.login(rows["manager"])
    assert page.get("/certificates", params={"q": "\x00"}).status_code == 400
    assert page.get(f"/certificates/{HUGE}/pdf").status_code == 404
    assert page.get(f"/certificate-templates/{HUGE}").status_code == 404
    clerk = new_browser().login(rows["clerk"])
    assert clerk.post("/certificates/print", data={"ids": str(HUGE)}).status_code == 404


# ── the workflow's people: who may ask for a recall, three different signers ─────────────────


def _act_api_path(app) -> str | None:  # noqa: ANN001
    """The JSON twin of the certificate workflow's step, when the business feature has it."""
    for route in app.routes:
        if route.path.startswith("/api/v1/certificates/{") and "/actions/{" in route.path:
            return "/api/v1/certificates/{cid}/actions/{action}"
    return None


def test_a_verifier_cannot_request_recall_of_another_verifiers_certificate(
    lab, api, browser, app, make_user, converter
):
    rows, people = lab
    (cid,) = issued(people)
    other_row = make_user("verifier", full_name="检定员赵六")
    run(qualify_async(other_row["id"]))
    other = as_user(other_row, "verifier", name="检定员赵六")
    with pytest.raises(cw.Refused) as refused:
        run(cw.act(cid, "request_recall", other, reason="想改"))
    assert refused.value.status_code == 403 and "不是本证书的检定员或编制人" in refused.value.detail
    page = browser.login(other_row)
    r = page.post(f"/business/certificates/{cid}/act/request_recall", data={"reason": "想改"})
    assert r.status_code == 403 and "不是本证书的检定员或编制人" in r.text
    if path := _act_api_path(app):
        r = api(other_row).post(
            path.format(cid=cid, action="request_recall"), json={"reason": "想改"}
        )
        assert r.status_code == 403, r.text
    assert run(cw.get_certificate(cid))["status"] == "issued"
    # its own verifier may
    moved = run(cw.act(cid, "request_recall", people["verifier"], reason="结论笔误"))
    assert moved["status"] == "recall_requested"


def test_the_three_signatures_are_three_different_people_on_page_and_api(
    seeded, make_user, new_browser, api, app, converter
):
    """检定 (the verifier), 核验 and 批准: a person holding every role still signs one of them; each
    refusal names the rule, on the page and on the API, and the certificate does not move."""
    roles = ("verifier", "checker", "signatory")
    a_row, b_row, c_row = (make_user(*roles, full_name=n) for n in ("甲检定", "乙核验", "丙批准"))
    clerk_row = make_user("clerk")
    run(qualify_async(a_row["id"]))
    a, b, c = (as_user(r, *roles) for r in (a_row, b_row, c_row))
    (cid,) = run(compiled_certificates(as_user(clerk_row, "clerk"), a, ("SN-SOD-1",)))
    api_path = _act_api_path(app)

    def attempt(row: dict, action: str, words: str) -> None:
        before = run(cw.get_certificate(cid))["status"]
        page = new_browser().login(row)
        r = page.post(
            f"/business/certificates/{cid}/act/{action}", data={"password": row["password"]}
        )
        assert r.status_code == 403 and words in r.text, (action, r.status_code)
        if api_path:
            r = api(row).post(
                api_path.format(cid=cid, action=action), json={"password": row["password"]}
            )
            assert r.status_code == 403 and words in detail(r), (action, r.text)
        assert run(cw.get_certificate(cid))["status"] == before

    run(cw.act(cid, "submit", a, password=PASSWORD))
    attempt(a_row, "pass_check", "不能核验自己检定的证书")
    run(cw.act(cid, "pass_check", b, password=PASSWORD))
    attempt(a_row, "approve", "不能批准自己检定的证书")
    attempt(b_row, "approve", "同一人不能既核验又批准")
    assert run(cw.get_certificate(cid))["number"] is None
    done = run(cw.act(cid, "approve", c, password=PASSWORD))
    assert done["status"] == "issued" and done["number"]
    signers = {
        h["action"]: h["signature"]["signer_id"] for h in run(cw.wf.history(Certificate, cid))
    }
    assert [signers["submit"], signers["pass_check"], signers["approve"]] == [
        a_row["id"],
        b_row["id"],
        c_row["id"],
    ]


def test_voiding_a_number_a_certificate_holds_goes_through_the_signed_void_step(
    lab, api, converter
):
    """作废 of a held number is the workflow's signed step: password, role, history — not a bare
    status change the certificate's flow record would not show."""
    rows, people = lab
    (cid,) = issued(people)
    number = run(cw.get_certificate(cid))["number"]
    manager = api(rows["manager"])
    url = "/api/v1/certificates/numbers/void"
    r = manager.post(url, json={"number": number, "reason": "打印错误作废"})
    assert r.status_code == 400 and "密码" in detail(r)
    assert (
        manager.post(
            url, json={"number": number, "reason": "打印错误作废", "password": "wrong-pass-99"}
        ).status_code
        == 403
    )
    assert run(cw.get_certificate(cid))["status"] == "issued"
    assert not run(VoidedNumber.exists().where(VoidedNumber.number == number))
    r = manager.post(url, json={"number": number, "reason": "打印错误作废", "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert run(cw.get_certificate(cid))["status"] == "voided"
    void = [h for h in run(cw.wf.history(Certificate, cid)) if h["action"] == "void"]
    assert void and void[0]["signature"]["signer_id"] == rows["manager"]["id"]
    assert void[0]["reason"] == "打印错误作废"
