"""Deny by default: every route declares its permission, and the app refuses everyone else.

The test enumerates every route of the app, so a route added without a permission fails here."""

import re

import pytest

from metrolab.web.permissions import PERMISSIONS

# The explicit public allowlist: login, health, static, public pages, (later) certificate verification.
PUBLIC_PATHS = {
    "/",
    "/login",
    "/language",
    "/healthz",
    "/about/{slug:str}",
    "/static",
    "/favicon.ico",
}
# The 业务服务 portal (§5.3); its staff pages (/services/applications…) need a permission.
PUBLIC_PATHS |= {
    "/services",
    "/services/apply",
    "/services/status",
    "/services/standards",
    "/services/qr",
    "/services/qr/{name:str}",
    "/services/documents",
    "/services/documents/{doc_id:int}/download",
}
# The public verification page's JSON twin: anyone holding the QR code checks a certificate file.
PUBLIC_PATHS |= {"/api/v1/verify/{token:str}/check"}
PUBLIC_PREFIXES = ("/verify", "/static", "/portal")


def _routes(app):
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(getattr(handler, "http_methods", []) or []):
                if method in {"HEAD", "OPTIONS"}:
                    continue
                yield route.path, method, handler


def _concrete(path: str) -> str:
    path = re.sub(r"\{[^}:]+:int\}", "1", path)
    path = re.sub(r"\{[^}:]+:path\}", "/css/metrolab.css", path)
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_route_declares_a_known_permission_or_is_on_the_public_allowlist(app):
    seen = 0
    for path, method, handler in _routes(app):
        seen += 1
        if handler.opt.get("public"):
            assert path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES), (
                f"{method} {path} is public but not allowlisted"
            )
            continue
        code = handler.opt.get("permission")
        assert code, f"{method} {path} declares no permission"
        assert code == "authenticated" or code in PERMISSIONS, (
            f"{method} {path}: unknown permission {code}"
        )
    assert seen > 20


def test_anonymous_and_unprivileged_requests_are_refused_on_every_protected_route(
    app, browser, new_browser, make_user
):
    nobody = new_browser().login(make_user())  # signed in, but holds no role
    checked = 0
    for path, method, handler in _routes(app):
        if handler.opt.get("public"):
            continue
        url = _concrete(path)
        anon = browser.request(method, url, follow_redirects=False)
        if url.startswith("/api/") or url.startswith("/schema"):
            assert anon.status_code == 401, f"anonymous {method} {url} → {anon.status_code}"
        else:
            assert anon.status_code == 303 and anon.headers["location"].startswith("/login"), (
                f"anonymous {method} {url}"
            )
        if handler.opt.get("permission") != "authenticated":
            r = nobody.request(method, url, follow_redirects=False)
            assert r.status_code == 403, f"role-less user {method} {url} → {r.status_code}"
        checked += 1
    assert checked > 15


def test_each_demo_role_sees_its_home_page(browser, new_browser, make_user):
    import json

    from metrolab.paths import data_folder

    roles = json.loads((data_folder("seed_data") / "roles.json").read_text())["roles"]
    for role in roles:
        b = new_browser().login(make_user(role["key"]))
        home = b.get("/home")
        assert home.status_code == 200 and "我的检定任务" in home.text, role["key"]


@pytest.mark.parametrize(
    "path", ["/", "/about/intro", "/login", "/healthz", "/static/css/metrolab.css"]
)
def test_public_pages_need_no_login(browser, path):
    assert browser.get(path).status_code == 200
