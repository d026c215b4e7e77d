"""下厂单 and 入库 (issue 14 point 7, DB1304/T 505—2025 §5.7.5 / §5.7.6): 安排下厂 records who goes,
when, by which vehicle, where and whom they meet, with the instruments — checked field by field with what
was typed kept — and prints as a 下厂单 whose printing is the 打印下厂单 step; 完成入库 records where the
instruments are put, who took them in and how many, refuses while certificates are not approved, and
archives the tasks' original records with them (the record and the entrustment say 已归档 + where)."""

from __future__ import annotations

from datetime import date, timedelta

from api_client import integrator
from conftest import run
from metrolab.business import services
from metrolab.business.tables import (
    ArchivedRecord,
    Entrustment,
    OnsiteOrder,
    StorageIn,
    VerificationTask,
)
from metrolab.certificates import workflow as cw
from metrolab.workflows import services as wf
from test_business import (
    PASSWORD,
    _to_certificate,
    _user_row,
    entrust_form,
    needs_pdf,
    people,  # noqa: F401  (a fixture)
)

SOON = date.today() + timedelta(days=3)


def _onsite_entrustment(people) -> dict:  # noqa: ANN001, F811
    from metrolab.engine.forms import parse_submission

    async def make() -> dict:
        pin = await services.entrustment_form()
        posted = {
            **entrust_form(("SN-OS-1", "SN-OS-2")),
            "service_mode": "现场检定",
            "site_address": "大淑村矿井下北翼",
        }
        data = parse_submission(pin.defn, posted)
        problems, codes = await services.check_entrustment(pin, data)
        assert not problems, problems
        return await services.create_entrustment(people["clerk"], pin, data, codes)

    return run(make())


def _form(people, **changes) -> dict:  # noqa: ANN001, F811
    return {
        "staff": [str(people["verifier"].id)],
        "planned_date": SOON.isoformat(),
        "return_date": (SOON + timedelta(days=1)).isoformat(),
        "vehicle": "冀D12345",
        "address": "大淑村矿井下北翼",
        "site_contact": "张三",
        "site_phone": "0310-5551234",
        "remarks": "带甲烷标准气体",
        **changes,
    }


def test_schedule_onsite_checks_each_field_keeps_what_was_typed_and_prints_the_order(
    people,  # noqa: F811
    browser,
):
    e = _onsite_entrustment(people)
    browser.login(run(_user_row(people["clerk"].id)))
    page = browser.get(f"/entrustments/{e['id']}").text
    assert f'href="/entrustments/{e["id"]}/onsite"' in page  # 安排下厂 opens its form
    form = browser.get(f"/entrustments/{e['id']}/onsite").text
    assert "大淑村矿井下北翼" in form and 'value="张三"' in form  # prefilled from the entrustment
    assert "检定员张晓明" in form and "SN-OS-2" in form  # real verifiers; the instruments

    bad = _form(
        people, staff=[], planned_date="2020-01-05", vehicle="冀D 12 345 ???", site_contact=""
    )
    r = browser.post(f"/entrustments/{e['id']}/onsite", data=bad)
    assert r.status_code == 400
    for message in ("请选择下厂检定人员", "不能早于今天", "车牌号格式不正确", "请填写现场联系人"):
        assert message in r.text, message
    assert "带甲烷标准气体" in r.text and "冀D 12 345 ???" in r.text and "2020-01-05" in r.text
    r = browser.post(
        f"/entrustments/{e['id']}/onsite",
        data=_form(people, staff=[str(people["clerk"].id)], return_date="2020-01-01"),
    )
    assert r.status_code == 400 and "须是本所的检定员" in r.text and "返回日期不能早于" in r.text
    assert run(OnsiteOrder.count()) == 0
    assert run(services.get_entrustment(e["id"]))["status"] == "registered"
    # the generic 流转 button no longer schedules without the order
    assert browser.post(f"/entrustments/{e['id']}/act/schedule_onsite").status_code == 400

    r = browser.post(f"/entrustments/{e['id']}/onsite", data=_form(people), follow_redirects=False)
    assert r.status_code == 303
    order = run(OnsiteOrder.select().output(load_json=True).first())
    assert order["staff"] == [people["verifier"].id] and order["vehicle"] == "冀D12345"
    assert order["planned_date"] == SOON and order["site_contact"] == "张三"
    assert run(services.get_entrustment(e["id"]))["status"] == "onsite_scheduled"
    # the order cannot be printed before the department confirms
    assert browser.post(f"/entrustments/{e['id']}/onsite/print").status_code == 409

    run(services.entrustment_act(e["id"], "confirm_onsite", people["verifier"]))
    r = browser.post(f"/entrustments/{e['id']}/onsite/print", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("/onsite/slip?print=1")
    slip = browser.get(r.headers["location"]).text
    for text in (e["number"], "检定员张晓明", "冀D12345", "大淑村矿井下北翼", "SN-OS-1", "slip-qr"):
        assert text in slip, text
    history = run(wf.history(Entrustment, e["id"]))
    printed = [h for h in history if h["action"] == "print_task_order"]
    assert len(printed) == 1 and printed[0]["actor_name"] == "业务员小王"
    detail = browser.get(f"/entrustments/{e['id']}").text
    assert "<td>打印下厂单</td>" in detail  # the history shows the label, not the code


def test_the_api_twins_schedule_print_and_refuse_the_same(people, new_browser):  # noqa: F811
    e = _onsite_entrustment(people)
    api = integrator(new_browser, run(_user_row(people["clerk"].id)))
    url = f"/api/v1/entrustments/{e['id']}"
    r = api.post(f"{url}/onsite", json={**_form(people), "staff": []})
    assert r.status_code == 400 and "请选择下厂检定人员" in r.text
    assert (
        api.post(f"{url}/onsite", json={**_form(people), "vehicle": "x" * 5000}).status_code < 500
    )
    assert api.post(f"{url}/actions/schedule_onsite", json={}).status_code == 400
    body = {**_form(people), "staff": [people["verifier"].id]}
    r = api.post(f"{url}/onsite", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["onsite_order"]["staff_names"] == ["检定员张晓明"]
    run(services.entrustment_act(e["id"], "confirm_onsite", people["verifier"]))
    assert api.post(f"{url}/onsite/print").status_code == 200
    order = api.get(f"{url}/onsite").json()
    assert order["vehicle"] == "冀D12345" and len(order["tasks"]) == 2


def test_store_is_refused_while_certificates_are_not_approved_and_keeps_what_was_typed(
    people,  # noqa: F811
    browser,
):
    run(_to_certificate(people["clerk"], people["verifier"], serials=("SN-ST-1",)))
    e_id = run(VerificationTask.select().first())["entrustment"]
    browser.login(run(_user_row(people["verifier"].id)))
    form = {"location": "二楼仪表库 A-03", "receiver": str(people["verifier"].id), "count": "1"}
    r = browser.post(f"/entrustments/{e_id}/store", data={**form, "count": "5"})
    assert r.status_code == 400 and "超过接收的仪表 1 件" in r.text and "二楼仪表库 A-03" in r.text
    r = browser.post(f"/entrustments/{e_id}/store", data={**form, "location": "", "receiver": ""})
    assert r.status_code == 400 and "请填写存放位置" in r.text and "请选择接收人" in r.text
    r = browser.post(f"/entrustments/{e_id}/store", data=form)
    assert r.status_code == 409 and "还有证书未批准" in r.text and "二楼仪表库 A-03" in r.text
    assert run(StorageIn.count()) == 0
    assert browser.post(f"/entrustments/{e_id}/act/complete").status_code == 400


@needs_pdf
def test_store_archives_the_original_records_with_the_instruments(  # noqa: F811
    people,  # noqa: F811
    converter,
    browser,
    new_browser,
):
    (cid,) = run(_to_certificate(people["clerk"], people["verifier"], serials=("SN-ST-2",)))
    run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    run(cw.act(cid, "pass_check", people["checker"], password=PASSWORD))
    run(cw.act(cid, "approve", people["approver"], password=PASSWORD))
    task = run(VerificationTask.select().first())
    browser.login(run(_user_row(people["verifier"].id)))
    r = browser.post(
        f"/entrustments/{task['entrustment']}/store",
        data={
            "location": "二楼仪表库 A-03",
            "receiver": str(people["verifier"].id),
            "count": "1",
            "remarks": "原始记录装盒",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    e = run(services.get_entrustment(task["entrustment"]))
    assert e["status"] == "completed"
    stored = run(StorageIn.select().first())
    assert stored["location"] == "二楼仪表库 A-03" and stored["pieces"] == 1
    assert stored["receiver"] == people["verifier"].id
    archived = run(ArchivedRecord.select().first())
    assert archived["record"] == task["record"] and archived["storage"] == stored["id"]
    detail = browser.get(f"/entrustments/{e['id']}").text
    assert "已归档 · 二楼仪表库 A-03" in detail and "检定员张晓明" in detail
    record_page = browser.get(f"/records/{task['record']}").text
    assert "已归档 · 二楼仪表库 A-03" in record_page
    api = integrator(new_browser, run(_user_row(people["verifier"].id)))
    archived_api = api.get(f"/api/v1/records/{task['record']}").json()["archived"]
    assert archived_api["location"] == "二楼仪表库 A-03"
    assert api.get(f"/api/v1/entrustments/{e['id']}/onsite").status_code == 404  # not on-site


# ── one transaction: the row and its workflow step ────────────────────────────────────────────


def _fail_inserts(table: str):  # noqa: ANN202
    """A database that refuses every insert into ``table`` (as a full disk or a broken constraint
    would): a real failure of the real database, no stand-in for our code."""
    import contextlib

    from conftest import TEST_DB

    @contextlib.contextmanager
    def failing():  # noqa: ANN202
        if TEST_DB == "postgres":
            run(
                Entrustment.raw(
                    "CREATE FUNCTION ml_test_fail() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'forced failure'; END $$ LANGUAGE plpgsql"
                )
            )
            run(
                Entrustment.raw(
                    f"CREATE TRIGGER ml_test_fail BEFORE INSERT ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION ml_test_fail()"
                )
            )
        else:
            run(
                Entrustment.raw(
                    f"CREATE TRIGGER ml_test_fail BEFORE INSERT ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'forced failure'); END"
                )
            )
        try:
            yield
        finally:
            if TEST_DB == "postgres":
                run(Entrustment.raw(f"DROP TRIGGER IF EXISTS ml_test_fail ON {table}"))
                run(Entrustment.raw("DROP FUNCTION IF EXISTS ml_test_fail()"))
            else:
                run(Entrustment.raw("DROP TRIGGER IF EXISTS ml_test_fail"))

    return failing()


def _schedule(people, e_id: int):  # noqa: ANN001, ANN202, F811
    from metrolab.business import onsite

    return run(
        onsite.schedule(
            e_id,
            people["clerk"],
            staff=[people["verifier"].id],
            planned_date=SOON,
            address="大淑村矿井下北翼",
            site_contact="张三",
        )
    )


def test_an_onsite_order_and_its_step_commit_together(people):  # noqa: F811
    import pytest

    e = _onsite_entrustment(people)
    before = run(services.get_entrustment(e["id"]))["status"]
    with _fail_inserts("workflow_transition"), pytest.raises(Exception):  # noqa: B017, PT011
        _schedule(people, e["id"])  # the step fails: no order is left
    assert run(OnsiteOrder.count()) == 0
    assert run(services.get_entrustment(e["id"]))["status"] == before
    with _fail_inserts("business_onsite_order"), pytest.raises(Exception):  # noqa: B017, PT011
        _schedule(people, e["id"])  # the order fails: the step is not taken either
    assert run(services.get_entrustment(e["id"]))["status"] == before
    assert not [
        h for h in run(wf.history(Entrustment, e["id"])) if h["action"] == "schedule_onsite"
    ]
    _schedule(people, e["id"])  # nothing failing: both
    assert run(OnsiteOrder.count()) == 1
    assert run(services.get_entrustment(e["id"]))["status"] == "onsite_scheduled"


def test_a_storage_row_and_its_step_commit_together(people):  # noqa: F811
    import pytest

    from metrolab.business import storage_in
    from metrolab.certificates.tables import Certificate

    (cid,) = run(_to_certificate(people["clerk"], people["verifier"], serials=("SN-TX-1",)))
    from metrolab import storage

    run(  # as issuing leaves it (the render itself is tested elsewhere)
        Certificate.update(
            {Certificate.status: "issued", Certificate.pdf_sha256: storage.put(b"%PDF-1.4 x")}
        ).where(Certificate.id == cid)
    )
    e_id = run(VerificationTask.select().first())["entrustment"]
    before = run(services.get_entrustment(e_id))["status"]

    def store():  # noqa: ANN202
        return run(
            storage_in.store(
                e_id,
                people["verifier"],
                location="二楼 A-03",
                receiver=people["verifier"].id,
                count=1,
            )
        )

    with _fail_inserts("workflow_transition"), pytest.raises(Exception):  # noqa: B017, PT011
        store()  # the 完成入库 step fails: no 入库 row, nothing archived
    assert run(StorageIn.count()) == 0 and run(ArchivedRecord.count()) == 0
    assert run(services.get_entrustment(e_id))["status"] == before
    with _fail_inserts("business_archived_record"), pytest.raises(Exception):  # noqa: B017, PT011
        store()  # archiving fails: no row and no step
    assert run(StorageIn.count()) == 0
    assert run(services.get_entrustment(e_id))["status"] == before
    store()
    assert run(StorageIn.count()) == 1 and run(ArchivedRecord.count()) == 1
    assert run(services.get_entrustment(e_id))["status"] != before


def test_onsite_and_storage_refusals_are_in_english_when_english_is_chosen(people, browser):  # noqa: F811
    e = _onsite_entrustment(people)
    browser.login(run(_user_row(people["clerk"].id)))
    browser.post("/language", data={"language": "en", "next": "/home"})
    bad = _form(
        people, staff=[], planned_date="2020-01-05", vehicle="冀D 12 345 ???", site_contact=""
    )
    r = browser.post(f"/entrustments/{e['id']}/onsite", data=bad)
    assert r.status_code == 400
    for said in (
        "Choose the verifiers who go on site",
        "cannot be before today",
        "The plate number is not valid",
        "Enter the contact person on site",
    ):
        assert said in r.text, said
    assert "请选择下厂检定人员" not in r.text
    run(_to_certificate(people["clerk"], people["verifier"], serials=("SN-EN-1",)))
    e_id = run(VerificationTask.select().order_by(VerificationTask.id, ascending=False).first())[
        "entrustment"
    ]
    browser.login(run(_user_row(people["verifier"].id)))
    browser.post("/language", data={"language": "en", "next": "/home"})
    form = {"location": "二楼仪表库 A-03", "receiver": str(people["verifier"].id), "count": "5"}
    r = browser.post(f"/entrustments/{e_id}/store", data=form)
    assert r.status_code == 400 and "more than the 1 instruments received" in r.text
    r = browser.post(f"/entrustments/{e_id}/store", data={**form, "count": "1"})
    assert r.status_code == 409 and "Some certificates are not approved yet" in r.text
