"""The issue gate, by every route (issue 12): no page and no API operation takes a certificate to
待打印 (numbered, with a PDF) without the 核验 and the 批准 signatures of two people other than its
verifier.

The routes are enumerated from the application — every non-GET route whose path names a certificate
or an approval — so a route added tomorrow is walked too (``test_a_new_route_that_skips_the_workflow_
is_caught`` shows the walk failing on one). Each is called, with every workflow action substituted,
with a form body and with a JSON body shaped like its declared request type, by two people who both
hold every role and both know their passwords: the certificate's verifier, and one colleague. Between
them they can sign 检定 and 核验, never a valid 批准 (checker ≠ approver ≠ verifier). The walk starts
from a freshly compiled certificate in 编制中, and again from 核验中 and 批准中; after every call the
certificate must still be unnumbered, without a PDF, and not 待打印 / 已打印 / 已发放."""

from __future__ import annotations

import re
import typing
from dataclasses import is_dataclass
from typing import Any

import msgspec
import pytest

from conftest import run
from factories import PASSWORD, as_user, compiled_certificates, qualify_async
from metrolab.certificates import workflow as cw
from metrolab.certificates.tables import Certificate
from metrolab.workflows import services as wf

EVERY_ROLE = (
    "admin",
    "tech_manager",
    "template_reviewer",
    "clerk",
    "verifier",
    "checker",
    "signatory",
)
ISSUED = {"issued", "printed", "released"}
START_STATES = ("compiling", "checking", "approving")


def gate_routes(app) -> list[tuple[str, str, Any]]:  # noqa: ANN001
    """(method, path, handler) of every route that may change a certificate's state."""
    found = []
    for route in app.routes:
        if "certificate" not in route.path and "approval" not in route.path:
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(set(handler.http_methods) - {"GET", "HEAD", "OPTIONS"}):
                found.append((method, route.path, handler))
    return found


def _body_fields(handler) -> list[str] | None:  # noqa: ANN001
    """The field names of the handler's declared request body (a Struct or dataclass), if any."""
    try:
        hints = typing.get_type_hints(handler.fn, include_extras=False)
    except Exception:  # noqa: BLE001 - an annotation we cannot resolve: send every field
        return None
    kind = hints.get("data")
    for arg in typing.get_args(kind) or (kind,):  # X | None
        if isinstance(arg, type) and issubclass(arg, msgspec.Struct):
            return list(arg.__struct_fields__)
        if isinstance(arg, type) and is_dataclass(arg):
            return list(arg.__dataclass_fields__)
    return None


def _urls(path: str, actions: list[str]) -> list[str]:
    """The path with every id as ``@ID@`` (the walk's current certificate), one per workflow action."""
    url = re.sub(r"\{[^}:]+:int\}", "@ID@", path)
    if "{action" in url:
        return [re.sub(r"\{action(:str)?\}", a, url) for a in actions]
    return [re.sub(r"\{[^}]+\}", "x", url)]


def _bodies(handler, cid: int, password: str) -> list[dict[str, Any]]:  # noqa: ANN001
    typical: dict[str, Any] = {
        "password": password,
        "reason": "测试",
        "ids": [cid],
        "id": cid,
        "one": cid,
        "number": "JD-GATE-1",
        "remarks": "闸门测试",
    }
    form = {k: str(v[0] if isinstance(v, list) else v) for k, v in typical.items()}
    fields = _body_fields(handler)
    json_body = typical if fields is None else {k: typical[k] for k in fields if k in typical}
    return [{"data": form}, {"json": json_body}]


class Walk:
    """Certificates in a start state, replaced by a fresh one whenever a call moved the current one."""

    def __init__(self, people: dict[str, Any], state: str) -> None:
        self.people, self.state = people, state
        self.spare: list[int] = []
        self.cid = self.fresh()

    def fresh(self) -> int:
        if not self.spare:
            serials = [f"SN-GATE-{self.state}-{i}-{id(self) % 997}" for i in range(6)]
            self.spare = run(compiled_certificates(self.people["clerk"], self.people["v"], serials))
        cid = self.spare.pop()
        if self.state in ("checking", "approving"):
            run(cw.act(cid, "submit", self.people["v"], password=PASSWORD))
        if self.state == "approving":
            run(cw.act(cid, "pass_check", self.people["x"], password=PASSWORD))
        assert run(cw.get_certificate(cid))["status"] == self.state
        return cid


def breaches(app, people, clients, *, only: str = "") -> tuple[list[str], int, list[str]]:  # noqa: ANN001
    """Walk the gate routes (``only``: paths containing it): (what reached 待打印 or answered 5xx,
    calls made, the moves the workflow allowed on the way)."""
    defn, _v = run(wf.definition(cw.CERT_WF))
    actions = [t.key for t in defn.transitions] + ["issue", "x"]
    found, calls, moved = [], 0, []
    routes = [r for r in gate_routes(app) if only in r[1]]
    for state in START_STATES:
        walk = Walk(people, state)
        for method, path, handler in routes:
            for shape in _urls(path, actions):
                for who, client in clients.items():
                    for variant in range(2):
                        url = shape.replace("@ID@", str(walk.cid))
                        body = _bodies(handler, walk.cid, people["raw"][who]["password"])[variant]
                        answer = client.request(method, url, **body)
                        calls += 1
                        if answer.status_code >= 500:
                            found.append(f"{method} {url} by {who}: {answer.status_code}")
                        cert = run(cw.get_certificate(walk.cid))
                        if (
                            cert["status"] in ISSUED
                            or cert["number"] is not None
                            or cert["pdf_sha256"]
                        ):
                            found.append(f"{method} {url} by {who} from {state}: {cert['status']}")
                        if cert["status"] != state:
                            moved.append(f"{url} {state}→{cert['status']}")
                            walk.cid = walk.fresh()
    return found, calls, moved


@pytest.fixture
def gate(seeded, make_user, new_browser):
    """The verifier and a colleague, both holding every role and qualified; a clerk compiles."""
    v_row = make_user(*EVERY_ROLE, full_name="全角色检定员")
    x_row = make_user(*EVERY_ROLE, full_name="全角色同事")
    clerk_row = make_user("clerk")
    for row in (v_row, x_row):
        run(qualify_async(row["id"]))
    people = {
        "v": as_user(v_row, *EVERY_ROLE),
        "x": as_user(x_row, *EVERY_ROLE),
        "clerk": as_user(clerk_row, "clerk"),
        "raw": {"v": v_row, "x": x_row},
    }
    clients = {"v": new_browser().login(v_row), "x": new_browser().login(x_row)}
    return people, clients


def test_no_route_takes_a_certificate_to_issued_without_check_and_approval_signatures(app, gate):
    people, clients = gate
    routes = {f"{m} {p}" for m, p, _h in gate_routes(app)}
    # the doors that matter are among the walked ones (the enumeration is not vacuous)
    for door in (
        "POST /business/certificates/{certificate_id:int}/act/{action:str}",
        "POST /certificates/{certificate_id:int}/issue",
        "POST /api/v1/certificates/{certificate_id:int}/issue",
        "POST /certificates/print",
        "POST /business/approvals",
    ):
        assert door in routes, door
    found, calls, moved = breaches(app, people, clients)
    assert not found, "reached 待打印 without the signatures, or a server error:\n" + "\n".join(
        found
    )
    assert calls > 500, calls
    # the two could do what they may: the verifier signed 检定, the colleague 核验 (page and API)
    for step in ("compiling→checking", "checking→approving"):
        assert any("/act/" in m and step in m for m in moved), moved
        assert any("/api/v1/" in m and step in m for m in moved), moved


def test_a_certificate_moves_on_along_the_walk_when_the_signers_are_allowed(app, gate):
    """The walk is not vacuous: the same two people move a certificate 编制 → 核验 → 批准中 by the
    routes (the verifier signs 检定, the colleague 核验); only 批准 is beyond them."""
    people, clients = gate
    (cid,) = run(compiled_certificates(people["clerk"], people["v"], ["SN-GATE-MOVE"]))
    v, x = clients["v"], clients["x"]
    pw = {k: people["raw"][k]["password"] for k in ("v", "x")}
    v.post(f"/business/certificates/{cid}/act/submit", data={"password": pw["v"]})
    assert run(cw.get_certificate(cid))["status"] == "checking"
    x.post(f"/business/certificates/{cid}/act/pass_check", data={"password": pw["x"]})
    assert run(cw.get_certificate(cid))["status"] == "approving"
    for client, who in ((v, "v"), (x, "x")):
        r = client.post(f"/business/certificates/{cid}/act/approve", data={"password": pw[who]})
        assert r.status_code == 403
    assert run(cw.get_certificate(cid))["number"] is None


def test_a_new_route_that_skips_the_workflow_is_caught(make_user, new_browser, seeded):
    """A route added behind the workflow's back (it sets 待打印 itself) is found by the walk."""
    from litestar import Request, post

    from metrolab.app import create_app
    from metrolab.web.permissions import perm

    @post("/api/v1/certificates/{certificate_id:int}/shortcut", opt=perm("certificates.view"))
    async def shortcut(request: Request, certificate_id: int) -> dict[str, Any]:
        await Certificate.update({Certificate.status: "issued"}).where(
            Certificate.id == certificate_id
        )
        return {}

    app = create_app()
    app.register(shortcut)
    v_row = make_user(*EVERY_ROLE)
    x_row = make_user(*EVERY_ROLE)
    run(qualify_async(v_row["id"]))
    people = {
        "v": as_user(v_row, *EVERY_ROLE),
        "x": as_user(x_row, *EVERY_ROLE),
        "clerk": as_user(make_user("clerk"), "clerk"),
        "raw": {"v": v_row, "x": x_row},
    }
    from litestar.testing import TestClient

    from conftest import Browser

    with TestClient(app, base_url="http://testserver.local") as client:
        browser = Browser(client).login(v_row)
        found, _calls, _moved = breaches(app, people, {"v": browser}, only="/shortcut")
    assert found and all("/shortcut" in f for f in found), found
