"""API parity: every action a person can take in a page has a JSON twin under /api/v1.

A page action (any non-GET page route, and every page that downloads a file) declares its twin with
`opt=perm("…", api="POST /api/v1/…")`. This test proves each declared twin exists and asks for the same
permission, and that nothing is page-only except the deliberate exceptions listed here with their reason."""

from __future__ import annotations

import re

# Page actions that have no API twin on purpose, each with its reason.
PAGE_ONLY = {
    "POST /login": "API clients authenticate with a personal token, not a session",
    "POST /logout": "ends the browser session; a token is revoked instead",
    "POST /language": "sets the browser's language cookie",
    "POST /me/tokens": "tokens are made by a signed-in person in the page; a token cannot mint tokens",
}

DOWNLOAD = re.compile(r"(\.(pdf|docx|xlsx|csv)$|/(pdf|export|print)$)")


def _handlers(app):
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(getattr(handler, "http_methods", []) or []):
                if method not in {"HEAD", "OPTIONS"}:
                    yield method, _plain(route.path), handler


def _plain(path: str) -> str:
    """`/customers/{customer_id:int}` → `/customers/{customer_id}`, as twins are written."""
    return re.sub(r"\{([^}:]+):[^}]+\}", r"{\1}", path)


def _is_action(method: str, path: str) -> bool:
    return method != "GET" or bool(DOWNLOAD.search(path))


def test_every_page_action_has_an_api_twin_with_the_same_permission(app):
    api = {
        f"{m} {p}": h for m, p, h in _handlers(app) if p.startswith("/api/v1/") or p == "/api/v1"
    }
    missing, wrong = [], []
    for method, path, handler in _handlers(app):
        key = f"{method} {path}"
        if path.startswith(("/api/", "/schema", "/static")) or handler.opt.get("public"):
            continue
        if not _is_action(method, path) or key in PAGE_ONLY:
            continue
        twin = handler.opt.get("api", "")
        if twin not in api:
            missing.append(f"{key} → {twin or '(no api= declared)'}")
        elif api[twin].opt.get("permission") != handler.opt.get("permission"):
            wrong.append(
                f"{key} needs {handler.opt.get('permission')}, its twin {twin} needs "
                f"{api[twin].opt.get('permission')}"
            )
    assert not missing, f"{len(missing)} page actions without an API twin:\n" + "\n".join(missing)
    assert not wrong, "twins with another permission:\n" + "\n".join(wrong)


def test_the_exceptions_are_still_routes(app):
    keys = {f"{m} {p}" for m, p, _h in _handlers(app)}
    assert set(PAGE_ONLY) <= keys, set(PAGE_ONLY) - keys
