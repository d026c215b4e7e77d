"""An integrator's client for API tests: a personal token made in the profile page, then plain JSON
requests with `Authorization: Bearer …` (no cookies, no CSRF), as a script on another machine would."""

from __future__ import annotations

import re

from conftest import run


class Integrator:
    def __init__(self, client, token: str) -> None:  # noqa: ANN001
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, url: str, **kw):  # noqa: ANN003, ANN201
        headers = {**self.headers, **(kw.pop("headers", None) or {})}
        return self.client.request(method, url, headers=headers, **kw)

    def get(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.request("PUT", url, **kw)

    def delete(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.request("DELETE", url, **kw)


def integrator(new_browser, user: dict) -> Integrator:
    """A token for ``user`` (made in /me with a password session), used from a fresh client."""
    page = new_browser().login(user).post("/me/tokens", data={"name": "集成测试"})
    token = re.search(r'id="new-token">([^<]+)<', page.text).group(1)
    return Integrator(new_browser().client, token)


def audit_rows(action: str, target_id: object) -> list[dict]:
    from metrolab.audit.tables import AuditEvent

    return run(
        AuditEvent.select()
        .where((AuditEvent.action == action) & (AuditEvent.target_id == str(target_id)))
        .output(load_json=True)
    )


def chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
