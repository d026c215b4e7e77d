"""A verification date (检定日期) before the entrustment's receipt date is refused beside the field,
naming both, in 中文 and in English when English is chosen. The rule is the record form's own
(``not_before`` on its date field, naming the context value ``received_on`` the business feature
gives for a record opened from a task), not a check on the instrument type."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from conftest import run
from factories import as_user, entrustment_async, qualify_async


def _record_from_task(make_user, received: date) -> tuple[dict, int, str]:  # noqa: ANN001
    from metrolab.business import services
    from metrolab.business.tables import Entrustment
    from metrolab.customers.tables import Customer

    clerk = make_user("clerk")
    verifier = make_user("verifier", full_name="检定员张晓明")
    run(qualify_async(verifier["id"]))
    v = as_user(verifier, "verifier", name="检定员张晓明")
    e = run(entrustment_async(as_user(clerk, "clerk"), ("SN-DATE-1",)))
    run(services.receive(e["id"], v, 1))
    at = datetime(received.year, received.month, received.day, 9, 0, tzinfo=UTC)
    run(Entrustment.update({Entrustment.received_at: at}).where(Entrustment.id == e["id"]))
    (task,) = run(services.tasks_of(e["id"]))
    run(services.assign(task["id"], verifier["id"], v))
    record_id = run(services.open_record(task["id"], v))
    customer = run(Customer.select(Customer.id).first())["id"]
    return verifier, record_id, str(customer)


def _body(customer: str, on: str) -> dict[str, str]:
    return {
        "_h.customer": customer,
        "_h.instrument_name": "甲烷检测报警仪",
        "serial": "SN-DATE-1",
        "customer": "峰峰集团大淑村矿",
        "verification_date": on,
    }


def _field_of(html: str, name: str) -> str:
    """The field's own block (label, input and its messages)."""
    found = re.search(rf'<div class="ml-field[^"]*">\s*<label for="f-{name}">.*?</div>', html, re.S)
    assert found, name
    return found.group(0)


def test_verification_date_before_receipt_is_refused_beside_the_field(browser, make_user):
    from metrolab.records import services as records

    verifier, record_id, customer = _record_from_task(make_user, date(2026, 3, 10))
    browser.login(verifier)
    r = browser.post(f"/records/{record_id}/save", data=_body(customer, "2026-03-01"))
    assert r.status_code == 400
    field = _field_of(r.text, "verification_date")
    assert "不得早于委托单接收日期（2026-03-10）" in field and 'value="2026-03-01"' in field
    assert run(records.get_record(record_id))["status"] == "draft"  # not saved
    r = browser.post(  # live computing says it too, while typing
        f"/records/{record_id}/compute",
        data=_body(customer, "2026-03-01"),
        headers={"hx-request": "true"},
    )
    assert "不得早于委托单接收日期（2026-03-10）" in _field_of(r.text, "verification_date")

    browser.post("/language", data={"language": "en", "next": "/home"})
    r = browser.post(f"/records/{record_id}/save", data=_body(customer, "2026-03-01"))
    assert r.status_code == 400
    assert "must not be before the entrustment's receipt date (2026-03-10)" in (
        _field_of(r.text, "verification_date").replace("&#39;", "'")
    )
    browser.post("/language", data={"language": "zh", "next": "/home"})

    # on or after the receipt date: no such problem
    r = browser.post(f"/records/{record_id}/save", data=_body(customer, "2026-03-10"))
    assert "不得早于" not in r.text


def test_the_rule_is_the_forms_not_the_types(db):
    """The engine refuses by the field's ``not_before`` whatever the form; without it, no refusal."""
    from metrolab.engine.forms import load_definition, validate_submission

    field = {
        "type": "field",
        "key": "on",
        "control": "date",
        "label": {"zh": "日期", "en": "Date"},
        "not_before": {"context": "received_on", "label": {"zh": "接收日期", "en": "receipt"}},
    }
    defn = load_definition(
        {
            "format": "metrolab.form/1",
            "key": "x",
            "kind": "record",
            "title": {"zh": "x"},
            "layout": [field],
        }
    )
    found = validate_submission(defn, {"on": "2026-01-01"}, None, {"received_on": "2026-02-01"})
    assert [p.message_zh for p in found] == ["不得早于接收日期（2026-02-01）"]
    assert (
        validate_submission(defn, {"on": "2026-02-01"}, None, {"received_on": "2026-02-01"}) == []
    )
    assert validate_submission(defn, {"on": "2026-01-01"}, None, {}) == []
    plain = {k: v for k, v in field.items() if k != "not_before"}
    defn = load_definition(
        {
            "format": "metrolab.form/1",
            "key": "x",
            "kind": "record",
            "title": {"zh": "x"},
            "layout": [plain],
        }
    )
    assert (
        validate_submission(defn, {"on": "2026-01-01"}, None, {"received_on": "2026-02-01"}) == []
    )
