"""The shell: error pages in 中文, health, OpenAPI, public pages, database errors named clearly."""

from conftest import run


def test_unknown_route_is_the_404_page_in_chinese(browser):
    r = browser.get("/no/such/page")
    assert r.status_code == 404 and "页面不存在" in r.text and "<html" in r.text


def test_unknown_api_route_is_json_in_chinese(browser):
    r = browser.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.json()["title"] == "页面不存在"


def test_healthz_reports_the_database(browser):
    assert browser.get("/healthz").json() == {"status": "ok", "database": "ok"}


def test_openapi_schema_documents_the_api_for_signed_in_users(browser, make_user):
    assert browser.get("/schema/openapi.json").status_code == 401
    browser.login(make_user("clerk"))
    schema = browser.get("/schema/openapi.json").json()
    assert "/api/v1/customers" in schema["paths"] and "/api/v1/me" in schema["paths"]


def test_public_pages_are_editable_by_the_administrator(browser, make_user):
    browser.login(make_user("admin"))
    r = browser.post(
        "/lab/pages/intro",
        data={"title_zh": "本所简介", "body_zh": "新的介绍文字。"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    browser.post("/logout")
    page = browser.get("/")
    assert "本所简介" in page.text and "新的介绍文字。" in page.text
    browser.login(make_user("admin"))
    browser.post("/lab/pages/intro", data={"title_zh": "机构介绍", "body_zh": "示例"})


def test_unreachable_database_is_named_with_the_password_hidden():
    from metrolab.db import DatabaseUnavailable, check_database, engine_from_url

    url = "postgresql://metrolab:s3cret@127.0.0.1:1/metrolab"
    try:
        run(check_database(engine_from_url(url), url))
    except DatabaseUnavailable as exc:
        assert (
            "127.0.0.1:1" in str(exc) and "s3cret" not in str(exc) and "无法连接数据库" in str(exc)
        )
    else:
        raise AssertionError("expected DatabaseUnavailable")


def test_cli_check_reports_database_and_tools():
    import os
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "metrolab.cli", "check"],
        capture_output=True,
        text=True,
        env=os.environ,
    )
    assert "数据库" in out.stdout and "LibreOffice" in out.stdout
    # each face the shipped templates use, and the free twin it resolves to (a fresh machine has them)
    assert (
        "Times New Roman: → Liberation Serif" in out.stdout
        and "宋体: → Noto Serif CJK SC" in out.stdout
    )
