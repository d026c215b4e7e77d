"""Office management §5.6.3 消息公告: the technical manager writes a notice for a department (with a PDF
attachment) and publishes it; a member of that department sees it unread on the home page, opens it (read)
and confirms it; someone outside the target never sees it; 执行情况 lists each target's state; withdraw
hides it; a published notice cannot be deleted; the body is escaped. Pages and the JSON API (a token)."""

import base64

from conftest import mint_api_token, run
from metrolab.accounts.tables import Department
from metrolab.audit.tables import AuditEvent
from metrolab.office.tables import Notice

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _department(name: str) -> int:
    dept = Department(name=name, code=name.encode().hex()[:40])
    run(dept.save())
    return dept.id


def _people(make_user):
    mech, elec = _department("力学室"), _department("电学室")
    return (
        make_user("tech_manager", full_name="李主任", department=str(elec)),
        make_user("verifier", full_name="周检定", department=str(mech)),
        make_user("verifier", full_name="吴检定", department=str(mech)),
        make_user("verifier", full_name="郑外人", department=str(elec)),
        mech,
    )


def _write(browser, dept: int, body: str, action: str = "acknowledge") -> int:
    r = browser.post(
        "/office/notices",
        data={
            "title": "关于压力表检定规程换版的通知",
            "body": body,
            "needs_action": action,
            f"dept_{dept}": "1",
        },
        files={"attachment_0": ("规程.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def test_notice_page_walk(browser, new_browser, make_user):
    boss, member, other_member, outsider, mech = _people(make_user)
    browser.login(boss)
    body = "各位同事：\n请于本周内学习新规程。\n\n- 学习 JJG 52—2013\n- 完成考核<script>alert(1)</script>"
    notice_id = _write(browser, mech, body)
    assert (
        run(Notice.select(Notice.status).where(Notice.id == notice_id).first())["status"] == "draft"
    )
    # A wrong attachment type is refused by content, with the field named.
    bad = browser.post(
        "/office/notices",
        data={"title": "t", "body": "b", "target_all": "1"},
        files={"attachment_0": ("x.pdf", b"MZ not a pdf", "application/pdf")},
    )
    assert bad.status_code == 400 and "附件" in bad.text
    reader = new_browser()
    reader.login(member)
    assert reader.get(f"/office/notices/{notice_id}").status_code == 404  # a draft is not shown
    assert (
        browser.post(f"/office/notices/{notice_id}/publish", follow_redirects=False).status_code
        == 303
    )

    home = reader.get("/home").text
    assert 'data-task="notices_unread"><b>1</b>' in home
    assert "未读" in reader.get("/office/notices").text
    page = reader.get(f"/office/notices/{notice_id}")
    assert page.status_code == 200
    assert (
        "<li>学习 JJG 52—2013</li>" in page.text
        and "<p>各位同事： 请于本周内学习新规程。</p>" in page.text
    )
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    assert 'data-task="notices_unread"><b>1</b>' not in reader.get("/home").text
    assert reader.get(f"/office/notices/{notice_id}/attachments/0").content == PDF
    assert (
        reader.post(f"/office/notices/{notice_id}/confirm", follow_redirects=False).status_code
        == 303
    )
    assert "已确认已读" in reader.get(f"/office/notices/{notice_id}").text

    stranger = new_browser()
    stranger.login(outsider)
    assert f'href="/office/notices/{notice_id}"' not in stranger.get("/office/notices").text
    assert stranger.get(f"/office/notices/{notice_id}").status_code == 404
    assert stranger.get(f"/office/notices/{notice_id}/attachments/0").status_code == 404
    assert stranger.get(f"/office/notices/{notice_id}/status").status_code == 404

    status = browser.get(f"/office/notices/{notice_id}/status")
    assert status.status_code == 200
    rows = {
        name: status.text.split(name, 1)[1].split("</tr>", 1)[0] for name in ("周检定", "吴检定")
    }
    assert "未读" not in rows["周检定"] and "未读" in rows["吴检定"]
    assert "郑外人" not in status.text

    assert browser.post(f"/office/notices/{notice_id}/delete").status_code == 409
    assert (
        browser.post(f"/office/notices/{notice_id}/withdraw", follow_redirects=False).status_code
        == 303
    )
    assert reader.get(f"/office/notices/{notice_id}").status_code == 404
    assert f'href="/office/notices/{notice_id}"' not in reader.get("/office/notices").text
    assert (
        browser.post(f"/office/notices/{notice_id}/delete", follow_redirects=False).status_code
        == 303
    )
    assert run(Notice.count().where(Notice.id == notice_id)) == 0
    assert run(
        AuditEvent.exists().where(
            (AuditEvent.action == "notice.deleted") & (AuditEvent.target_id == str(notice_id))
        )
    )
    # A verifier cannot write notices.
    assert reader.post("/office/notices", data={"title": "x", "body": "y"}).status_code == 403


def test_notice_api(new_browser, make_user):
    boss, member, _, outsider, mech = _people(make_user)
    client = new_browser()
    b = {"Authorization": f"Bearer {mint_api_token(boss['id'])}"}
    m = {"Authorization": f"Bearer {mint_api_token(member['id'])}"}
    o = {"Authorization": f"Bearer {mint_api_token(outsider['id'])}"}
    body = {
        "title": "关于年终盘点",
        "body": "请各室盘点标准器。\n- 填写清单",
        "needs_action": "done",
        "departments": [mech],
        "attachments": [{"name": "清单.pdf", "content_base64": base64.b64encode(PDF).decode()}],
    }
    r = client.post("/api/v1/office/notices", headers=b, json=body)
    assert r.status_code == 201, r.text
    notice = r.json()
    assert notice["status"] == "draft" and notice["attachments"][0]["type"] == "application/pdf"
    assert client.post("/api/v1/office/notices", headers=m, json=body).status_code == 403
    bad = client.post(
        "/api/v1/office/notices", headers=b, json={**body, "departments": [], "roles": []}
    )
    assert bad.status_code == 400 and "发布范围" in bad.json()["detail"]
    nid = notice["id"]
    assert (
        client.post(f"/api/v1/office/notices/{nid}/publish", headers=b).json()["status"]
        == "published"
    )
    assert client.get(f"/api/v1/office/notices/{nid}", headers=o).status_code == 404
    assert client.get(f"/api/v1/office/notices/{nid}/attachments/0", headers=o).status_code == 404
    seen = client.get(f"/api/v1/office/notices/{nid}", headers=m).json()
    assert seen["receipt"]["read_at"] and seen["blocks"][1] == ["ul", ["填写清单"]]
    assert client.get("/api/v1/office/notices", headers=m).json()["inbox"][0]["id"] == nid
    done = client.post(f"/api/v1/office/notices/{nid}/confirm", headers=m).json()
    assert done["receipt"]["done_at"]
    status = client.get(f"/api/v1/office/notices/{nid}/status", headers=b).json()
    assert [(r["name"], bool(r["done_at"])) for r in status["recipients"]] == [
        ("吴检定", False),
        ("周检定", True),
    ] or {r["name"]: bool(r["done_at"]) for r in status["recipients"]} == {
        "周检定": True,
        "吴检定": False,
    }
    assert client.get(f"/api/v1/office/notices/{nid}/status", headers=m).status_code == 404
    assert client.post(f"/api/v1/office/notices/{nid}/delete", headers=b).status_code == 409
    assert (
        client.post(f"/api/v1/office/notices/{nid}/withdraw", headers=b).json()["status"]
        == "withdrawn"
    )
    assert client.get(f"/api/v1/office/notices/{nid}", headers=m).status_code == 404
    assert client.post(f"/api/v1/office/notices/{nid}/delete", headers=b).json()["deleted"] is True
    assert client.get("/api/v1/office/notices/2147483648", headers=b).status_code in (400, 404)
    assert client.post("/api/v1/office/notices/2147483647/publish", headers=b).status_code == 404


def test_notice_to_a_role_reaches_only_that_role(new_browser, make_user):
    boss = make_user("tech_manager", full_name="李主任")
    clerk = make_user("clerk", full_name="孙收发")
    verifier = make_user("verifier", full_name="钱检定")
    client = new_browser()
    b = {"Authorization": f"Bearer {mint_api_token(boss['id'])}"}
    body = {"title": "收发室通知", "body": "本周五前交回登记簿。", "roles": ["clerk"]}
    nid = client.post("/api/v1/office/notices", headers=b, json=body).json()["id"]
    client.post(f"/api/v1/office/notices/{nid}/publish", headers=b)
    status = client.get(f"/api/v1/office/notices/{nid}/status", headers=b).json()
    assert [r["name"] for r in status["recipients"]] == ["孙收发"]
    c = {"Authorization": f"Bearer {mint_api_token(clerk['id'])}"}
    v = {"Authorization": f"Bearer {mint_api_token(verifier['id'])}"}
    assert client.get(f"/api/v1/office/notices/{nid}", headers=c).status_code == 200
    assert client.get(f"/api/v1/office/notices/{nid}", headers=v).status_code == 404
    # Nothing asked: no confirmation to give.
    assert client.post(f"/api/v1/office/notices/{nid}/confirm", headers=c).status_code == 409
    unknown = client.post("/api/v1/office/notices", headers=b, json={**body, "roles": ["nobody"]})
    assert unknown.status_code == 400 and "角色" in unknown.json()["detail"]
