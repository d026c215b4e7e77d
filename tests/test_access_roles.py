"""What each role may and may not do, across features, through the API and the pages — beyond the
anonymous / role-less proof of test_permissions.py.

One table: an action, how it is asked for, and the shipped roles (seed_data/roles.json) that may do it.
Every role is tried on every row: the roles listed are not refused (they may still meet a 400 or 409
about the data), every other role is refused with 403 and a 中文 reason. Workflow steps are proved
on a certificate waiting for that step: the roles listed are offered the step, the others are refused
it and the certificate does not move. Then the rules no role grants by itself: records belong to
their verifier, tokens to their owner, a review to somebody other than the author, a portal link to
its customer.

Departments (accounts.Department, a user's `department`) do not scope records: a verifier writes only
the records they are the verifier of — in any department — and every records.view holder reads every
record. The test below states that truth; scoping reading by department is not built.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import run

ROOT = Path(__file__).resolve().parents[1]
ROLES = [r["key"] for r in json.loads((ROOT / "seed_data/roles.json").read_text("utf-8"))["roles"]]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EVERYONE_BUT_REVIEWER = set(ROLES) - {"template_reviewer"}
RECORD_READERS = {"admin", "tech_manager", "verifier", "checker", "signatory"}

# (what, method, url — {names} filled from the lab —, JSON body, the roles that may)
TABLE = [
    ("查看客户", "GET", "/api/v1/customers", None, EVERYONE_BUT_REVIEWER),
    ("新建客户", "POST", "/api/v1/customers", {"name": "角色测试客户"}, {"clerk"}),
    ("新建工作人员", "POST", "/api/v1/users", {}, {"admin"}),
    ("修改机构信息", "PUT", "/api/v1/lab/settings", {}, {"admin"}),
    ("查看原始记录", "GET", "/api/v1/records/{record}", None, RECORD_READERS),
    ("新建原始记录", "POST", "/api/v1/records", {}, {"verifier"}),
    ("新建委托单", "POST", "/api/v1/entrustments", {}, {"clerk"}),
    (
        "受理委托单",
        "POST",
        "/api/v1/entrustments/{entrustment}/receive",
        {},
        {"tech_manager", "verifier"},
    ),
    ("待批准证书", "GET", "/api/v1/approvals", None, {"signatory"}),
    ("批准一份证书", "POST", "/api/v1/approvals/one", {}, {"signatory"}),
    ("批量批准", "POST", "/api/v1/approvals", {}, {"signatory"}),
    ("待打印证书", "GET", "/api/v1/certificates/to-print", None, {"clerk"}),
    ("作废证书编号", "POST", "/api/v1/certificates/numbers/void", {}, {"admin", "signatory"}),
    ("上传证书模板", "POST", "/api/v1/certificate-templates", {}, {"tech_manager"}),
    (
        "审核证书模板",
        "POST",
        "/api/v1/certificate-templates/versions/{template_version}/approve",
        {},
        {"template_reviewer"},
    ),
    ("导入表单", "POST", "/api/v1/forms", {}, {"tech_manager"}),
    (
        "审核表单",
        "POST",
        "/api/v1/forms/versions/{form_version}/approve",
        {},
        {"template_reviewer"},
    ),
    ("新建器具类型", "POST", "/api/v1/instrument-types", {}, {"tech_manager"}),
    ("登记器具台账", "POST", "/api/v1/ledger/customers/{customer}/instruments", {}, {"clerk"}),
    ("重新生成客户查询链接", "POST", "/api/v1/ledger/customers/{customer}/portal", None, {"clerk"}),
    ("统计", "GET", "/api/v1/statistics", None, EVERYONE_BUT_REVIEWER),
    ("人员列表", "GET", "/api/v1/users", None, {"admin", "tech_manager"}),
]

# (workflow step, the state the certificate waits in, the roles offered it)
STEPS = [
    ("pass_check", "checking", {"checker"}),
    ("return_check", "checking", {"checker"}),
    ("approve", "approving", {"signatory"}),
    ("return_approval", "approving", {"signatory"}),
    ("void", "approving", {"tech_manager", "signatory"}),
]


@pytest.fixture
def lab(sample_lab, api_user, client):
    """The sample lab, one API user per shipped role, a certificate waiting in 核验中 and one in
    批准中, a form version and a certificate template version each in review."""
    from factories import as_user, compiled_certificates
    from metrolab.certificates import workflow as cw

    people = {role: api_user(role) for role in ROLES}
    clerk = as_user(sample_lab["rows"]["clerk"], "clerk")
    verifier = as_user(sample_lab["rows"]["verifier"], "verifier")
    checker = api_user("checker")
    checking, approving = run(compiled_certificates(clerk, verifier, ("SN-AR-01", "SN-AR-02")))
    for cid in (checking, approving):
        run(cw.act(cid, "submit", verifier, password=sample_lab["rows"]["verifier"]["password"]))
    run(cw.act(approving, "pass_check", as_user(checker, "checker"), password=checker["password"]))
    ids = sample_lab["ids"]
    form_version, template_version = _in_review(client, api_user("tech_manager"))
    return {
        "people": people,
        "rows": sample_lab["rows"],
        "states": {"checking": checking, "approving": approving},
        "urls": {
            "record": ids["record_id"][0],
            "entrustment": ids["entrustment_id"][0],
            "customer": ids["customer_id"][0],
            "form_version": form_version,
            "template_version": template_version,
        },
    }


def _in_review(client, author: dict) -> tuple[int, int]:  # noqa: ANN001
    """A form version and a certificate template version the author imported and submitted."""
    h = author["headers"]
    definition = json.loads((ROOT / "form_schemas/fuel_dispenser_record.json").read_text("utf-8"))
    definition["key"] = "role_table_form"
    form = client.post("/api/v1/forms", content=json.dumps(definition), headers=h).json()["id"]
    template = client.post(
        "/api/v1/certificate-templates",
        data={"key": "role_table_tpl", "name": "角色表模板", "kind": "检定证书"},
        files={
            "file": (
                "t.docx",
                (ROOT / "certificate_templates/verification_certificate.docx").read_bytes(),
                DOCX,
            )
        },
        headers=h,
    ).json()["id"]
    for url in (
        f"/api/v1/forms/versions/{form}/submit",
        f"/api/v1/certificate-templates/versions/{template}/submit",
    ):
        assert client.post(url, headers=h, json={"note": "初版"}).json()["status"] == "in_review", (
            url
        )
    return form, template


@pytest.fixture
def client(app):
    from litestar.testing import TestClient

    with TestClient(app, base_url="http://testserver.local") as c:
        yield c


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_each_role_may_do_what_its_role_grants_and_is_refused_the_rest(lab, client):
    wrong = []
    for what, method, url, body, allowed in TABLE:
        url = url.format(**lab["urls"])
        for role in ROLES:
            kwargs = {"json": body} if body is not None else {}
            r = client.request(method, url, headers=lab["people"][role]["headers"], **kwargs)
            if r.status_code >= 500:
                wrong.append(f"{role} {what} ({method} {url}): {r.status_code}")
            elif role in allowed and r.status_code == 403:
                wrong.append(f"{role} may {what} but was refused: {r.text[:200]}")
            elif role not in allowed and (r.status_code != 403 or not _chinese(r.json()["detail"])):
                wrong.append(f"{role} may not {what} but got {r.status_code}: {r.text[:200]}")
    assert not wrong, "\n".join(wrong)


def test_workflow_steps_are_offered_to_their_roles_only(lab, client):
    from metrolab.certificates import workflow as cw

    wrong = []
    for action, state, allowed in STEPS:
        cid = lab["states"][state]
        for role in ROLES:
            person = lab["people"][role]
            flow = client.get(f"/api/v1/certificates/{cid}/workflow", headers=person["headers"])
            if flow.status_code == 403:
                offered = False
            else:
                offered = any(
                    a["action"] == action and a["allowed"] for a in flow.json()["actions"]
                )
            if offered != (role in allowed):
                wrong.append(f"{role} {'is' if offered else 'is not'} offered {action} in {state}")
            if role in allowed:
                continue
            r = client.post(
                f"/api/v1/certificates/{cid}/actions/{action}",
                json={"password": person["password"], "reason": "角色测试"},
                headers=person["headers"],
            )
            if r.status_code != 403 or not _chinese(r.json()["detail"]):
                wrong.append(f"{role} {action} in {state} → {r.status_code} {r.text[:200]}")
            if run(cw.get_certificate(cid))["status"] != state:
                wrong.append(f"{role} {action} moved the certificate out of {state}")
    assert not wrong, "\n".join(wrong)


def test_a_verifier_writes_only_their_own_records_in_any_department(lab, client, api_user, browser):
    """Departments do not scope records: another department's verifier and a colleague of the same
    department are both refused writing (API and page); reading is open to records.view."""
    from metrolab.accounts.tables import Department, User

    departments = [d["id"] for d in run(Department.select(Department.id).order_by(Department.id))]
    assert len(departments) >= 2
    owner = lab["rows"]["verifier"]
    run(User.update({User.department: departments[0]}).where(User.id == owner["id"]))
    same = api_user("verifier", department=str(departments[0]))
    other = api_user("verifier", department=str(departments[1]))
    record = lab["urls"]["record"]
    bodies = {"PUT": {"header": {}, "data": {}, "reason": "改他人的记录"}, "POST": {"data": {}}}
    for colleague in (same, other):
        h = colleague["headers"]
        for method, url in (
            ("PUT", f"/api/v1/records/{record}"),
            ("POST", f"/api/v1/records/{record}/autosave"),
        ):
            r = client.request(method, url, json=bodies[method], headers=h)
            assert r.status_code == 403 and "检定员" in r.json()["detail"], (method, r.text)
        assert client.get(f"/api/v1/records/{record}", headers=h).status_code == 200  # reading
    browser.login(other)
    assert browser.get(f"/records/{record}/edit", follow_redirects=False).status_code == 403
    assert browser.post(f"/records/{record}/autosave", data={}).status_code == 403
    mine = client.post(
        f"/api/v1/records/{record}/autosave",
        json={"data": {}},
        headers=api_user_headers(owner),
    )
    assert mine.status_code not in (403, 500), mine.text  # the owner meets the record's own rules


def api_user_headers(row: dict) -> dict:
    from conftest import mint_api_token

    return {"Authorization": f"Bearer {mint_api_token(row['id'])}"}


def test_nobody_mints_a_token_for_somebody_else(lab, client, new_browser, app):
    """Tokens are made only for oneself, only from a password session (a token cannot make one), and
    revoked only by their owner; no route takes somebody else's id to make or revoke a token."""
    victim = lab["people"]["verifier"]
    victim_tokens = client.get("/api/v1/me/tokens", headers=victim["headers"]).json()
    victim_token_id = victim_tokens[0]["id"] if isinstance(victim_tokens, list) else None
    for role in ROLES:
        person = lab["people"][role]
        # with a token: refused, whatever the body says
        r = client.post(
            "/me/tokens", data={"name": "x", "user": victim["id"]}, headers=person["headers"]
        )
        assert r.status_code == 403, (role, r.status_code)
        # with a password session, naming somebody else: the token is the person's own
        b = new_browser().login(person)
        page = b.post(
            "/me/tokens", data={"name": "冒名", "user": victim["id"], "user_id": victim["id"]}
        )
        token = re.search(r'id="new-token">([^<]+)<', page.text).group(1)
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["id"] == person["id"], role
        if victim_token_id is not None and person["id"] != victim["id"]:
            r = client.post(
                f"/api/v1/me/tokens/{victim_token_id}/revoke", headers=person["headers"]
            )
            assert r.status_code in (403, 404), (role, r.status_code)
    assert client.get("/api/v1/me", headers=victim["headers"]).status_code == 200
    token_routes = [r.path for r in app.routes if "tokens" in r.path]  # API tokens, not QR/portal
    assert token_routes and all(p.startswith(("/me/", "/api/v1/me/")) for p in token_routes)


def test_a_template_author_cannot_approve_their_own_form_or_certificate_template(
    seeded, client, api_user
):
    both = api_user("tech_manager", "template_reviewer")
    reviewer = api_user("template_reviewer")
    definition = json.loads((ROOT / "form_schemas/fuel_dispenser_record.json").read_text("utf-8"))
    definition["key"] = "role_test_form"
    form = client.post("/api/v1/forms", content=json.dumps(definition), headers=both["headers"])
    assert form.status_code == 201, form.text
    docx = (ROOT / "certificate_templates/verification_certificate.docx").read_bytes()
    template = client.post(
        "/api/v1/certificate-templates",
        data={"key": "role_test_tpl", "name": "角色测试模板", "kind": "检定证书"},
        files={"file": ("t.docx", docx, DOCX)},
        headers=both["headers"],
    )
    assert template.status_code == 201, template.text
    for base, version in (
        ("/api/v1/forms/versions", form.json()["id"]),
        ("/api/v1/certificate-templates/versions", template.json()["id"]),
    ):
        assert (
            client.post(
                f"{base}/{version}/submit", headers=both["headers"], json={"note": "初版"}
            ).status_code
            == 200
        )
        own = client.post(
            f"{base}/{version}/approve",
            json={"password": both["password"]},
            headers=both["headers"],
        )
        assert own.status_code == 403 and _chinese(own.json()["detail"]), own.text
        assert client.get(f"{base}/{version}", headers=both["headers"]).json()["status"] == (
            "in_review"
        )
        other = client.post(
            f"{base}/{version}/approve",
            json={"password": reviewer["password"]},
            headers=reviewer["headers"],
        )
        assert other.status_code == 200 and other.json()["status"] == "published", other.text


def test_a_portal_link_sees_only_its_customer(lab, client):
    from metrolab.customers.tables import Customer
    from metrolab.ledger import services
    from metrolab.ledger.tables import LedgerInstrument

    owners = run(LedgerInstrument.select(LedgerInstrument.customer).distinct())
    mine, theirs = sorted({row["customer"] for row in owners})[:2]
    names = {
        c["id"]: c["name"]
        for c in run(
            Customer.select(Customer.id, Customer.name).where(Customer.id.is_in([mine, theirs]))
        )
    }
    serials = {
        cid: [
            r["serial"]
            for r in run(
                LedgerInstrument.select(LedgerInstrument.serial).where(
                    LedgerInstrument.customer == cid
                )
            )
            if r["serial"]
        ]
        for cid in (mine, theirs)
    }
    token = run(services.portal_token(mine))
    page = client.get(f"/portal/{token}")
    assert page.status_code == 200 and names[mine] in page.text
    assert names[theirs] not in page.text
    assert not any(serial in page.text for serial in serials[theirs] if serial not in serials[mine])
    others = run(
        LedgerInstrument.select(LedgerInstrument.id).where(LedgerInstrument.customer == theirs)
    )
    for row in others:
        r = client.get(f"/portal/{token}/self-check/{row['id']}")
        assert r.status_code == 404, row
    # a forged link: the other customer's id with this link's signature, or a changed signature
    forged = f"{theirs}" + token[len(str(mine)) :]
    assert client.get(f"/portal/{forged}").status_code == 404
    assert client.get(f"/portal/{token[:-2]}xx").status_code == 404
    # a new link ends the old one
    client.post(
        f"/api/v1/ledger/customers/{mine}/portal", headers=lab["people"]["clerk"]["headers"]
    )
    assert client.get(f"/portal/{token}").status_code == 404
