"""Office management §5.6.2 周工作计划: a staff member registers, fills and submits a week's plan; the head
of the department sees the department's week, returns it with a comment, accepts the resubmission;
history kept; the week exported as xlsx. Pages and the JSON API (a token) on the same services."""

import io

from openpyxl import load_workbook

from conftest import mint_api_token, run
from metrolab.accounts.tables import Department
from metrolab.audit.tables import AuditEvent
from metrolab.office.tables import WeeklyPlan
from metrolab.workflows.tables import TransitionRecord


def _department(name: str) -> str:
    dept = Department(name=name, code=name.encode().hex()[:40])
    run(dept.save())
    return str(dept.id)


def _people(make_user):
    metering, other = _department("力学室"), _department("电学室")
    return (
        make_user("verifier", full_name="周检定", department=metering),
        make_user("tech_manager", full_name="李主任", department=metering),
        make_user("tech_manager", full_name="王主任", department=other),
    )


def _create(browser, week="2026-12-02"):
    r = browser.post("/office/plans", data={"week": week}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def test_plan_page_walk_return_resubmit_accept(browser, new_browser, make_user):
    staff, head, other_head = _people(make_user)
    browser.login(staff)
    plan_id = _create(browser)  # a Wednesday: filed under its Monday
    row = run(WeeklyPlan.select().where(WeeklyPlan.id == plan_id).first())
    assert str(row["week_start"]) == "2026-11-30" and row["status"] == "draft"
    assert browser.post("/office/plans", data={"week": "2026-12-04"}).status_code == 409
    # Nothing to submit yet: the guard says why.
    empty = browser.post(f"/office/plans/{plan_id}/submit")
    assert empty.status_code == 409 and "至少有一项" in empty.text
    saved = browser.post(
        f"/office/plans/{plan_id}/items",
        data={
            "content_0": "检定压力表 20 台",
            "planned_0": "周三",
            "remarks_0": "送检单位：市水厂",
            "content_1": "",
            "planned_1": "",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    bad = browser.post(f"/office/plans/{plan_id}/items", data={"planned_0": "周五"})
    assert bad.status_code == 400 and "请填写工作内容" in bad.text
    assert (
        browser.post(f"/office/plans/{plan_id}/submit", follow_redirects=False).status_code == 303
    )
    assert (
        browser.post(f"/office/plans/{plan_id}/items", data={"content_0": "x"}).status_code == 409
    )

    boss = new_browser().login(head)
    assert 'data-task="plans_to_review"><b>1</b>' in boss.get("/home").text
    week = boss.get("/office/plans/week?week=2026-12-01")
    assert week.status_code == 200 and "周检定" in week.text and "已提交" in week.text
    assert "submitted" not in week.text
    stranger = new_browser().login(other_head)  # another department's head sees nothing of it
    assert stranger.get(f"/office/plans/{plan_id}").status_code == 403
    assert stranger.post(f"/office/plans/{plan_id}/accept").status_code == 403
    assert boss.post(f"/office/plans/{plan_id}/return").status_code == 422  # a comment is required
    r = boss.post(
        f"/office/plans/{plan_id}/return",
        data={"comment": "请写明完成数量"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert 'data-task="plans_returned"><b>1</b>' in browser.get("/home").text
    mine = browser.get(f"/office/plans/{plan_id}")
    assert "请写明完成数量" in mine.text and "已退回" in mine.text
    browser.post(
        f"/office/plans/{plan_id}/items",
        data={"content_0": "检定压力表 20 台", "done_0": "已完成 20 台"},
    )
    browser.post(f"/office/plans/{plan_id}/submit")
    assert boss.post(f"/office/plans/{plan_id}/accept", data={"comment": "同意"}).status_code == 200
    row = run(WeeklyPlan.select().where(WeeklyPlan.id == plan_id).first().output(load_json=True))
    assert row["status"] == "accepted" and row["head_comment"] == "同意"
    assert row["items"][0]["done"] == "已完成 20 台"
    steps = run(
        TransitionRecord.select(TransitionRecord.action)
        .where(
            (TransitionRecord.object_type == "weekly_plan")
            & (TransitionRecord.object_id == plan_id)
        )
        .order_by(TransitionRecord.id)
    )
    assert [s["action"] for s in steps] == ["submit", "return", "submit", "accept"]
    history = browser.get("/office/plans")
    assert "2026-11-30" in history.text and "已确认" in history.text
    # The export: one line per item, the head's comment, a formula-looking text kept as text.
    xlsx = boss.get("/office/plans/week.xlsx?week=2026-11-30")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    lines = list(sheet.iter_rows(values_only=True))
    assert lines[1][:3] == ("周检定", "已确认", "检定压力表 20 台") and lines[1][6] == "同意"
    assert any(line[0] == "李主任" and line[1] == "未登记" for line in lines)


def test_plan_api_as_an_integrator(new_browser, make_user):
    staff, head, _other = _people(make_user)
    client = new_browser()
    mine = {"Authorization": f"Bearer {mint_api_token(staff['id'])}"}
    boss = {"Authorization": f"Bearer {mint_api_token(head['id'])}"}
    r = client.post(
        "/api/v1/office/plans",
        headers=mine,
        json={"week": "2026-12-07", "items": [{"content": '=HYPERLINK("x")', "planned": "周一"}]},
    )
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["week_start"] == "2026-12-07" and plan["status_label"] == "填写中"
    assert plan["actions"] == ["submit"]
    assert (
        client.post("/api/v1/office/plans", headers=mine, json={"week": "2026-12-08"}).status_code
        == 409
    )
    bad = client.post(
        f"/api/v1/office/plans/{plan['id']}/items", headers=mine, json={"items": [{"content": ""}]}
    )
    assert bad.status_code == 400
    r = client.post(f"/api/v1/office/plans/{plan['id']}/submit", headers=mine, json={})
    assert r.status_code == 200 and r.json()["to"] == "submitted"
    refused = client.post(f"/api/v1/office/plans/{plan['id']}/accept", headers=mine, json={})
    assert refused.status_code == 403 and refused.json()["detail"]
    week = client.get("/api/v1/office/plans/week?week=2026-12-09", headers=boss).json()
    assert [line["plan"]["id"] for line in week["rows"] if line["plan"]] == [plan["id"]]
    r = client.post(
        f"/api/v1/office/plans/{plan['id']}/accept",
        headers=boss,
        json={"comment": "好", "lock_version": 0},
    )
    assert r.status_code == 409  # the lock moved when it was submitted
    r = client.post(
        f"/api/v1/office/plans/{plan['id']}/accept", headers=boss, json={"comment": "好"}
    )
    assert r.status_code == 200 and r.json()["status_label"] == "已确认"
    assert run(
        AuditEvent.exists().where(
            (AuditEvent.action == "weekly_plan.accept") & (AuditEvent.target_id == str(plan["id"]))
        )
    )
    x = client.get("/api/v1/office/plans/week.xlsx?week=2026-12-07", headers=boss)
    cells = list(load_workbook(io.BytesIO(x.content)).active.iter_rows(values_only=True))
    assert cells[1][2] == '\'=HYPERLINK("x")'  # safe_cell: shown, never run
    assert client.get("/api/v1/office/plans/week.xlsx", headers=mine).status_code == 403
    assert client.get("/api/v1/office/plans/2147483648", headers=mine).status_code in (400, 404)
    assert client.get("/api/v1/office/plans/2147483647", headers=mine).status_code == 404
    assert [p["id"] for p in client.get("/api/v1/office/plans", headers=mine).json()] == [
        plan["id"]
    ]


# ── 收文管理 §5.6.4 ───────────────────────────────────────────────────────────────────────────

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _register_document(browser, **extra):
    data = {
        "doc_no": "冀质监函〔2026〕12号",
        "sender": "市市场监督管理局",
        "title": "关于开展计量专项检查的通知",
        "received_on": "2026-11-20",
        "due_date": "2026-11-25",
        **extra,
    }
    return browser.post(
        "/office/documents",
        data=data,
        files={"scan": ("notice.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )


def test_incoming_document_walk(browser, new_browser, make_user):
    clerk = make_user("clerk", full_name="业务员小王")
    leader = make_user("tech_manager", full_name="李主任")
    reader = make_user("verifier", full_name="周检定")
    handler = make_user("checker", full_name="陈核验")
    browser.login(clerk)
    bad = browser.post(
        "/office/documents",
        data={"doc_no": "x", "sender": "y", "title": "z", "received_on": "2026-11-20"},
        files={"scan": ("a.exe", b"MZ\x90\x00", "application/octet-stream")},
    )
    assert bad.status_code == 400 and "只接受 PDF" in bad.text
    r = _register_document(browser)
    assert r.status_code == 303, r.text
    doc_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert browser.get(f"/office/documents/{doc_id}/scan").content == PDF
    listing = browser.get("/office/documents?q=市场监督")
    assert (
        "关于开展计量专项检查的通知" in listing.text
        and "逾期" in listing.text
        and ">registered<" not in listing.text
    )
    assert browser.get("/office/documents?q=没有这个").text.count("/office/documents/") == 0
    assert (
        browser.post(f"/office/documents/{doc_id}/propose").status_code == 422
    )  # 拟办 needs the proposal
    browser.post(f"/office/documents/{doc_id}/propose", data={"comment": "请检定科办理"})
    boss = new_browser().login(leader)
    assert 'data-task="documents_to_review"><b>1</b>' in boss.get("/home").text
    assert (
        browser.post(f"/office/documents/{doc_id}/review").status_code == 403
    )  # the clerk is no leader
    assert (
        boss.post(f"/office/documents/{doc_id}/review", data={"comment": "同意"}).status_code == 200
    )
    refused = browser.post(f"/office/documents/{doc_id}/circulate")
    assert refused.status_code == 409 and "请选择传阅人和办理人" in refused.text
    browser.post(
        f"/office/documents/{doc_id}/circulate",
        data={
            f"reader_{reader['id']}": "1",
            f"reader_{leader['id']}": "1",
            "assignee": str(handler["id"]),
        },
    )
    assert "还有传阅人未签阅" in browser.post(f"/office/documents/{doc_id}/assign").text
    one = new_browser().login(reader)
    assert 'data-task="documents_to_read"><b>1</b>' in one.get("/home").text
    assert (
        one.post(
            f"/office/documents/{doc_id}/read", data={"note": "已阅"}, follow_redirects=False
        ).status_code
        == 303
    )
    assert one.post(f"/office/documents/{doc_id}/read").status_code == 409  # once
    assert new_browser().login(handler).post(f"/office/documents/{doc_id}/read").status_code == 403
    boss.post(f"/office/documents/{doc_id}/read")
    assert (
        browser.post(f"/office/documents/{doc_id}/assign", follow_redirects=False).status_code
        == 303
    )
    doer = new_browser().login(handler)
    assert 'data-task="documents_to_handle"><b>1</b>' in doer.get("/home").text
    assert (
        browser.post(f"/office/documents/{doc_id}/close", data={"result": "x"}).status_code == 409
    )  # not the assignee
    assert doer.post(f"/office/documents/{doc_id}/close", data={"result": ""}).status_code == 400
    assert (
        doer.post(
            f"/office/documents/{doc_id}/close", data={"result": "已完成自查并上报"}
        ).status_code
        == 200
    )
    page = doer.get(f"/office/documents/{doc_id}")
    assert "已办结" in page.text and "已完成自查并上报" in page.text and "已阅" in page.text
    steps = run(
        TransitionRecord.select(TransitionRecord.action)
        .where(
            (TransitionRecord.object_type == "incoming_document")
            & (TransitionRecord.object_id == doc_id)
        )
        .order_by(TransitionRecord.id)
    )
    assert [s["action"] for s in steps] == ["propose", "review", "circulate", "assign", "close"]
    assert (
        "逾期"
        not in browser.get("/office/documents?q=12号&overdue=1").text.split('id="documents"')[1]
    )
    sheet = load_workbook(
        io.BytesIO(browser.get("/office/documents.xlsx?status=closed").content)
    ).active
    lines = list(sheet.iter_rows(values_only=True))
    assert (
        lines[1][0] == "冀质监函〔2026〕12号"
        and lines[1][5] == "已办结"
        and lines[1][8] == "已完成自查并上报"
    )


def test_incoming_document_api(new_browser, make_user):
    import base64

    clerk, leader = make_user("clerk"), make_user("tech_manager")
    client = new_browser()
    c = {"Authorization": f"Bearer {mint_api_token(clerk['id'])}"}
    lead = {"Authorization": f"Bearer {mint_api_token(leader['id'])}"}
    body = {
        "doc_no": "=CMD()",
        "sender": "省局",
        "title": "通知",
        "received_on": "2026-12-01",
        "scan_base64": base64.b64encode(PDF).decode(),
        "scan_name": "n.pdf",
    }
    r = client.post("/api/v1/office/documents", headers=c, json=body)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert (
        doc["status_label"] == "已登记"
        and doc["actions"] == ["propose"]
        and doc["scan_type"] == "application/pdf"
    )
    assert client.get(f"/api/v1/office/documents/{doc['id']}/scan", headers=c).content == PDF
    bad = client.post(
        "/api/v1/office/documents",
        headers=c,
        json={**body, "scan_base64": base64.b64encode(b"GIF89a").decode()},
    )
    assert bad.status_code == 400 and "扫描件" in bad.json()["detail"]
    assert client.post("/api/v1/office/documents", headers=lead, json=body).status_code == 403
    r = client.post(
        f"/api/v1/office/documents/{doc['id']}/propose",
        headers=c,
        json={"comment": "拟请技术室办理"},
    )
    assert r.status_code == 200 and r.json()["to"] == "proposed"
    r = client.post(f"/api/v1/office/documents/{doc['id']}/review", headers=lead, json={})
    assert r.json()["status_label"] == "已审核"
    r = client.post(
        f"/api/v1/office/documents/{doc['id']}/circulate",
        headers=c,
        json={"readers": [leader["id"]], "assignee": 2147483647},
    )
    assert r.status_code == 400
    r = client.post(
        f"/api/v1/office/documents/{doc['id']}/circulate",
        headers=c,
        json={"readers": [leader["id"]], "assignee": clerk["id"]},
    )
    assert r.status_code == 200 and [x["name"] for x in r.json()["readers"]]
    assert (
        client.post(
            f"/api/v1/office/documents/{doc['id']}/read", headers=lead, json={"note": "阅"}
        ).status_code
        == 200
    )
    client.post(f"/api/v1/office/documents/{doc['id']}/assign", headers=c, json={})
    r = client.post(
        f"/api/v1/office/documents/{doc['id']}/close", headers=c, json={"result": "已办"}
    )
    assert r.status_code == 200 and r.json()["status_label"] == "已办结"
    rows = client.get("/api/v1/office/documents?q=省局&status=closed", headers=c).json()
    assert [x["id"] for x in rows] == [doc["id"]]
    x = client.get("/api/v1/office/documents.xlsx", headers=c)
    assert (
        list(load_workbook(io.BytesIO(x.content)).active.iter_rows(values_only=True))[1][0]
        == "'=CMD()"
    )
    assert client.get("/api/v1/office/documents/2147483648", headers=c).status_code in (400, 404)
    assert client.get("/api/v1/office/documents/2147483647", headers=c).status_code == 404
    assert run(AuditEvent.exists().where(AuditEvent.action == "incoming_document.read"))
