"""The lab API as an integrator uses it with a personal token: public service pages (list, read,
save — the page's rules and audit row) and 机构信息; bounded inputs."""

from __future__ import annotations

from api_client import audit_rows, integrator


def test_public_pages_are_listed_read_and_saved(new_browser, make_user):
    api = integrator(new_browser, make_user("admin"))
    slugs = [p["slug"] for p in api.get("/api/v1/lab/pages").json()]
    assert "intro" in slugs
    r = api.put(
        "/api/v1/lab/pages/intro",
        json={"title_zh": "机构介绍", "title_en": "About", "body_zh": "我们是法定计量检定机构。"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["body_zh"] == "我们是法定计量检定机构。"
    assert api.get("/api/v1/lab/pages/intro").json()["title_en"] == "About"
    assert audit_rows("public_page.saved", "intro")
    new = api.put("/api/v1/lab/pages/hours", json={"title_zh": "办公时间"})
    assert new.status_code == 200 and new.json()["slug"] == "hours"
    assert new_browser().get("/about/hours").status_code == 200  # the public sees it
    blank = api.put("/api/v1/lab/pages/intro", json={"title_zh": ""})
    assert blank.status_code == 400
    assert api.get("/api/v1/lab/pages/nowhere").status_code == 404
    assert api.put("/api/v1/lab/pages/bad%20slug", json={"title_zh": "x"}).status_code == 400
    assert api.put("/api/v1/lab/pages/intro", json={"title_zh": "a\u0000b"}).status_code == 400


def test_settings_twin_is_audited_like_the_page(new_browser, make_user):
    api = integrator(new_browser, make_user("admin"))
    r = api.put("/api/v1/lab/settings", json={"phone": "0310-8826599"})
    assert r.status_code == 200 and r.json()["phone"] == "0310-8826599"
    assert audit_rows("lab.settings_saved", 1)[-1]["details"]["changed"] == ["phone"]
    assert api.put("/api/v1/lab/settings", json={"address": "地" * 1001}).status_code == 400


def test_lab_operations_need_their_permission(new_browser, make_user):
    clerk = integrator(new_browser, make_user("clerk"))
    assert clerk.get("/api/v1/lab/pages").status_code == 403
    assert clerk.put("/api/v1/lab/pages/intro", json={"title_zh": "x"}).status_code == 403
    assert clerk.put("/api/v1/lab/settings", json={"phone": "1"}).status_code == 403
