"""The API docs page (/api-docs): Swagger UI from the lab's own files (no CDN), behind login, reading
/schema/openapi.json, linked from the profile page where API tokens are made."""

from __future__ import annotations

import re

import pytest

from conftest import ui_login


def test_the_page_needs_a_login(browser):
    r = browser.get("/api-docs", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_the_page_loads_its_local_script_and_names_the_schema(browser, make_user):
    browser.login(make_user("verifier"))
    page = browser.get("/api-docs")
    assert page.status_code == 200
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page.text)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in scripts
    assert "/static/js/apidocs.js" in scripts
    assert all(src.startswith("/static/") for src in scripts), scripts  # nothing from elsewhere
    assert 'href="/static/vendor/swagger-ui/swagger-ui.css"' in page.text
    assert 'data-schema-url="/schema/openapi.json"' in page.text
    assert 'href="/schema/openapi.json"' in page.text
    for src in scripts + ["/static/vendor/swagger-ui/swagger-ui.css"]:
        r = browser.get(src)
        assert r.status_code == 200 and len(r.content) > 500, src
    assert browser.get("/schema/openapi.json").json()["paths"]


def test_the_profile_page_links_the_docs_beside_the_tokens(browser, make_user):
    browser.login(make_user("clerk"))
    me = browser.get("/me").text
    assert 'href="/api-docs"' in me and "API 令牌" in me


@pytest.mark.browser
def test_chromium_shows_the_operations_without_leaving_the_lab(page, make_user):
    outside = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url)
            if not request.url.startswith(page.base) and not request.url.startswith("data:")
            else None
        ),
    )
    ui_login(page, make_user("clerk"))
    page.goto("/me")
    page.click("#api-docs-link")
    page.wait_for_url("**/api-docs")
    # one line per feature (tag); a click opens its operations
    page.wait_for_function(
        "document.querySelectorAll('.swagger-ui .opblock-tag').length > 10", timeout=30_000
    )
    page.click(".swagger-ui .opblock-tag[data-tag=customers]")
    page.wait_for_selector(".swagger-ui .opblock-summary-path:has-text('/api/v1/customers')")
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("metrolab API")
    assert outside == []
