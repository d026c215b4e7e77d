"""Release controls (issue 14 point 8, DB1304/T 505—2025 §5.7.7–§5.7.9): on-the-spot collection needs
a printed certificate and the collector's signature; 邮寄 needs a carrier and a tracking number and no
signature; 电子发放 hands over the issued PDF — certificates only, no print — and the certificate's
history says so; every release prints as a 交接单, and the API gives the same."""

from __future__ import annotations

from conftest import run
from metrolab.business import release, services
from metrolab.business.tables import VerificationTask
from metrolab.certificates import printing
from metrolab.certificates import workflow as cw
from metrolab.workflows import services as wf
from test_business import (
    PASSWORD,
    _png,
    _refused,
    _to_certificate,
    _user_row,
    needs_pdf,
    people,  # noqa: F401  (a fixture)
)

pytestmark = needs_pdf


def _issued(people, serials=("SN-RL-1",)) -> tuple[list[int], int, list[dict]]:  # noqa: ANN001, F811
    ids = run(_to_certificate(people["clerk"], people["verifier"], serials=serials))
    for cid in ids:
        run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
        run(cw.act(cid, "pass_check", people["checker"], password=PASSWORD))
        run(cw.act(cid, "approve", people["approver"], password=PASSWORD))
    e_id = run(VerificationTask.select().first())["entrustment"]
    return ids, e_id, run(services.tasks_of(e_id))


def test_post_needs_carrier_and_tracking_number_and_no_signature(people, converter, browser):  # noqa: F811
    (cid,), e_id, tasks = _issued(people)
    run(printing.print_pdf([cid], people["clerk"]))
    browser.login(run(_user_row(people["clerk"].id)))
    form = {
        "tasks": [str(tasks[0]["id"])],
        "mode": "certificate_only",
        "method": "邮寄",
        "collector": "王收件",
        "carrier": "",
        "tracking_no": "SF1234567890",
        "remarks": "寄到厂区门卫",
    }
    r = browser.post(f"/entrustments/{e_id}/release", data=form)
    assert r.status_code == 400 and "快递公司" in r.text
    assert "SF1234567890" in r.text and "寄到厂区门卫" in r.text  # nothing typed is lost
    r = browser.post(
        f"/entrustments/{e_id}/release", data={**form, "carrier": "顺丰", "tracking_no": "12"}
    )
    assert r.status_code == 400 and "快递单号" in r.text
    r = browser.post(
        f"/entrustments/{e_id}/release",
        data={**form, "carrier": "顺丰速运"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text  # no signature asked for
    slip = browser.get(r.headers["location"])
    assert slip.status_code == 200
    for shown in ("交接单", "顺丰速运", "SF1234567890", "王收件", tasks[0]["serial"], "邮寄发放"):
        assert shown in slip.text, shown
    assert run(cw.get_certificate(cid))["status"] == "released"
    (rel,) = run(release.releases_of(e_id))
    assert (rel["carrier"], rel["tracking_no"], rel["signature_sha256"]) == (
        "顺丰速运",
        "SF1234567890",
        "",
    )


def test_on_the_spot_collection_still_needs_print_and_signature(people, converter):  # noqa: F811
    (cid,), e_id, tasks = _issued(people)
    base = dict(mode="certificate_only", task_ids=[tasks[0]["id"]], collector="张三")
    assert "请客户在签名框内签名" in _refused(
        release.release(e_id, people["clerk"], method="代领", **base)
    )
    assert "尚未打印" in _refused(
        release.release(e_id, people["clerk"], method="自取", signature_data_url=_png(), **base)
    )
    assert run(cw.get_certificate(cid))["status"] == "issued"


def test_electronic_release_hands_over_the_pdf_without_print_and_says_so(
    people,  # noqa: F811
    converter,
    browser,
    make_user,
):
    (cid, other), e_id, tasks = _issued(people, serials=("SN-EL-1", "SN-EL-2"))
    clerk = people["clerk"]
    with_instruments = dict(
        mode="certificate_and_instrument", collector="设备科", method="电子发放"
    )
    msg = _refused(release.release(e_id, clerk, task_ids=[tasks[0]["id"]], **with_instruments))
    assert "电子发放只能发放证书" in msg

    rel_id = run(
        release.release(
            e_id,
            clerk,
            mode="certificate_only",
            task_ids=[tasks[0]["id"]],
            collector="设备科 李工",
            method="电子发放",
        )
    )
    cert = run(cw.get_certificate(cid))
    assert cert["status"] == "released" and cert["pdf_sha256"]
    from metrolab.certificates.tables import Certificate

    steps = [h["action"] for h in run(wf.history(Certificate, cid))]
    assert steps[-1] == "release_electronic"  # recorded as such, not as a printed hand-over
    assert run(cw.get_certificate(other))["status"] == "issued"  # the other one was not chosen
    assert run(services.get_task(tasks[0]["id"]))["status"] != "released"  # the instrument stays

    browser.login(make_user("clerk"))
    slip = browser.get(f"/business/releases/{rel_id}/slip")
    assert slip.status_code == 200 and "电子方式" in slip.text and cert["number"] in slip.text
    api = browser.get(f"/api/v1/business/releases/{rel_id}")
    assert api.status_code == 200
    body = api.json()
    assert body["method"] == "电子发放" and body["certificates"] == [cert["number"]]
    assert body["signed"] is False and "signature_sha256" not in body
    assert browser.get("/api/v1/business/releases/99999999").status_code == 404
    assert browser.get(f"/api/v1/business/releases/{2**70}").status_code in (400, 404)
