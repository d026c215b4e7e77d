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
