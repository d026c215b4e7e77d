"""Issue 13 point 8, T/ZBMS 005—2022 as users found it: self-checks only for months that have begun and in
which the dispenser was in use; a 不合格 self-check keeps §4.4 red until a later 合格 one; the application
package lists every §6 item a–i with its evidence or 缺 and is a 草稿 while the station fails; item h asks two
years of certificates; a verified instrument without a registered certificate counts as verified; the
accuracy / MPE of Table 1 is a column of the ledger and the 一览表; a failed instrument leaves 在用 and is due."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from conftest import run
from metrolab.ledger import compliance, package, services
from metrolab.ledger.tables import LedgerInstrument, SelfCheck
from test_ledger import compliant_station, customer, instrument

TODAY = date.today()


@pytest.fixture
def types(db):
    from metrolab.indicators.services import seed_instrument_types

    run(seed_instrument_types())


def _form(month: str, serial: str) -> dict[str, str]:
    return {
        "month": month,
        "check_date": TODAY.isoformat(),
        "dispenser": serial,
        "checker": "李计量员",
        "nozzles.0.nozzle_no": "1",
        "nozzles.0.V_J": "20.00",
        "nozzles.0.V_s": "19.980",
    }


def _next_month(d: date) -> str:
    return (d.replace(day=28) + timedelta(days=5)).strftime("%Y-%m")


def test_self_checks_only_for_begun_months_while_in_use(types, browser, make_user):
    browser.login(make_user("clerk"))
    cid = customer()
    new = instrument(
        cid, "fuel_dispenser", "NEW-1", TODAY, nozzles=1, in_use_since=datetime.now(UTC)
    )
    url = f"/ledger/instruments/{new}/self-check"
    future = browser.post(url, data=_form(_next_month(TODAY), "NEW-1"))
    assert future.status_code == 400 and "尚未到来，不能填写该月的自校记录" in future.text
    assert "李计量员" in future.text  # what was typed is kept
    before = compliance.previous_months(TODAY)[0]
    early = browser.post(url, data=_form(before, "NEW-1"))
    assert early.status_code == 400 and f"不能填写此前月份（{before}）的自校记录" in early.text
    assert run(SelfCheck.count()) == 0
    ok = browser.post(url, data=_form(TODAY.strftime("%Y-%m"), "NEW-1"), follow_redirects=False)
    assert ok.status_code == 303 and run(SelfCheck.count()) == 1
    data = {
        "check_date": TODAY.isoformat(),
        "dispenser": "NEW-1",
        "checker": "李计量员",
        "nozzles": [{"nozzle_no": "1", "V_J": "20.00", "V_s": "19.980"}],
    }
    api = browser.post(
        f"/api/v1/ledger/instruments/{new}/self-check", json={"month": "2099-01", "data": data}
    )
    assert api.status_code == 400 and "2099-01 尚未到来" in api.text
    # a dispenser new this month is not asked for the months before it existed
    result = {r.key: r for r in run(compliance.evaluate(cid))}
    assert not any("无自校记录" in e.note for e in result["self_checks"].evidence)


def _check(iid: int, month: str, conclusion: str) -> None:
    run(
        SelfCheck.insert(
            SelfCheck(
                instrument=iid, month=month, data={"conclusion": conclusion}, conclusion=conclusion
            )
        )
    )


def test_a_failed_or_future_self_check_does_not_count(types):
    cid, ids = compliant_station()
    assert all(r.ok for r in run(compliance.evaluate(cid)))
    last = compliance.previous_months(TODAY)[0]
    run(SelfCheck.delete().where((SelfCheck.instrument == ids["D1"]) & (SelfCheck.month == last)))
    _check(ids["D1"], "2099-01", "合格")  # a future month
    self_checks = {r.key: r for r in run(compliance.evaluate(cid))}["self_checks"]
    assert not self_checks.ok and "2099-01" not in str(self_checks.evidence)
    _check(ids["D1"], last, "不合格")
    self_checks = {r.key: r for r in run(compliance.evaluate(cid))}["self_checks"]
    assert not self_checks.ok
    assert [e.note for e in self_checks.evidence if not e.ok] == ["自校不合格"]
    # a 不合格 in this month stays red until a later 合格 one
    run(SelfCheck.delete().where((SelfCheck.instrument == ids["D1"]) & (SelfCheck.month == last)))
    _check(ids["D1"], last, "合格")
    _check(ids["D1"], TODAY.strftime("%Y-%m"), "不合格")
    self_checks = {r.key: r for r in run(compliance.evaluate(cid))}["self_checks"]
    assert not self_checks.ok and "此后尚无合格的自校" in [e.note for e in self_checks.evidence]
    _check(ids["D1"], TODAY.strftime("%Y-%m"), "合格")
    assert {r.key: r for r in run(compliance.evaluate(cid))}["self_checks"].ok


def test_verified_without_certificate_is_verified_and_named(types):
    cid, ids = compliant_station()
    run(
        LedgerInstrument.update({LedgerInstrument.last_certificate: ""}).where(
            LedgerInstrument.id == ids["D1"]
        )
    )
    req = {r.key: r for r in run(compliance.evaluate(cid))}["compulsory_verified"]
    assert req.ok and "受检率 2/2" in req.summary
    assert [e.note for e in req.evidence if "D1" in e.label] == ["证书未登记"]
    assert not any(e.note == "无检定证书" for e in req.evidence)


def _zip(browser, cid: int) -> tuple[zipfile.ZipFile, str]:  # noqa: ANN001
    r = browser.get(f"/ledger/customers/{cid}/application-package.zip?pdf=false")
    assert r.status_code == 200
    return zipfile.ZipFile(io.BytesIO(r.content)), r.headers["content-disposition"]


def test_package_lists_a_to_i_and_is_a_draft_while_failing(types, browser, make_user):
    browser.login(make_user("clerk"))
    cid, ids = compliant_station()
    z, disposition = _zip(browser, cid)
    names = z.namelist()
    assert "00_申报材料清单.txt" in names and "草稿" not in " ".join(names)
    text = z.read("00_申报材料清单.txt").decode()
    for item in "abcdefghi":
        assert f"\n{item}) " in "\n" + text
    for title in ("营业执照", "自我承诺书", "诚信计量承诺制度", "油品质量检测", "特殊行业", "公益"):
        line = next(x for x in text.splitlines() if title in x and ")" in x)
        assert line.endswith("：缺"), line
    # item h: one certificate each (30 days ago) does not cover two years
    assert "缺：燃油加油机 D1" in text and "的有效检定证书" in text
    # the station fails (D2 failed its verification) → every file says 草稿, no compliance claim
    run(
        services.record_certificate(
            {
                "number": "2026-BAD-1",
                "customer": cid,
                "instrument_type": "fuel_dispenser",
                "verified_on": TODAY,
                "conclusion": "不合格",
                "context": {"instrument": {"serial": "D2"}},
            }
        )
    )
    z, disposition = _zip(browser, cid)
    assert "00_草稿_申报材料清单.txt" in z.namelist()
    assert "01_草稿_诚信计量示范单位申请书.docx" in z.namelist()
    assert z.read("00_草稿_申报材料清单.txt").decode().startswith("草稿：本站尚未达到")
    assert "承诺" not in run(package.prefill(cid))["opinion"]


def test_item_h_needs_two_continuous_years(types):
    h = package.Held
    since = TODAY - timedelta(days=730)
    halves = [
        h(1, since - timedelta(days=10), since + timedelta(days=170), "a", b""),
        h(1, since + timedelta(days=171), since + timedelta(days=360), "b", b""),
        h(1, since + timedelta(days=361), since + timedelta(days=540), "c", b""),
    ]
    assert package.gap(halves, since, TODAY) == (since + timedelta(days=541), TODAY)
    full = [*halves, h(1, since + timedelta(days=541), TODAY + timedelta(days=100), "d", b"")]
    assert package.gap(full, since, TODAY) is None
    holed = [halves[0], full[-1]]
    assert package.gap(holed, since, TODAY) == (
        since + timedelta(days=171),
        since + timedelta(days=540),
    )


def test_ledger_and_equipment_list_show_accuracy_or_mpe(types, browser, make_user):
    browser.login(make_user("clerk"))
    cid, ids = compliant_station()
    page = browser.get(f"/ledger/customers/{cid}")
    assert "准确度等级/最大允许误差" in page.text and "±0.30 %" in page.text
    wb = load_workbook(
        io.BytesIO(browser.get(f"/ledger/customers/{cid}/station/equipment.xlsx").content)
    )
    rows = [[c.value for c in row] for row in wb.active.iter_rows()]
    header = next(r for r in rows if "准确度等级/最大允许误差" in r)
    col = header.index("准确度等级/最大允许误差")
    values = {r[header.index("出厂编号")]: r[col] for r in rows[rows.index(header) + 1 :]}
    assert "±0.30 %" in values["D1"] and "0.5 级" in values["S-level_gauge"]
    assert "U≤0.4 %" in values["S-metering_tank"]
    export = load_workbook(io.BytesIO(browser.get(f"/ledger/customers/{cid}/export.xlsx").content))
    assert "准确度等级/最大允许误差" in [
        c.value for row in export.worksheets[0].iter_rows() for c in row
    ]


def test_a_failed_instrument_leaves_in_use_and_is_due(types):
    cid, ids = compliant_station()
    run(
        services.record_certificate(
            {
                "number": "2026-BAD-2",
                "customer": cid,
                "instrument_type": "fuel_dispenser",
                "verified_on": TODAY,
                "conclusion": "不合格",
                "context": {"instrument": {"serial": "D2"}},
            }
        )
    )
    row = run(services.get_instrument(ids["D2"]))
    assert row["status"] == "awaiting" and row["last_conclusion"] == "不合格"
    assert ids["D2"] in [r["id"] for r in run(services.due(30, customer_id=cid))]
    assert run(services.count_due(30)) >= 1
    by_customer = {r["customer"]: r for r in run(services.due_by_customer(90))}
    assert by_customer[cid]["overdue"] == 1
    # verified again and 合格 → back in use, off the due list
    run(
        services.record_certificate(
            {
                "number": "2026-GOOD-2",
                "customer": cid,
                "instrument_type": "fuel_dispenser",
                "verified_on": TODAY,
                "conclusion": "合格",
                "context": {"instrument": {"serial": "D2"}},
            }
        )
    )
    assert run(services.get_instrument(ids["D2"]))["status"] == "in_use"
    assert ids["D2"] not in [r["id"] for r in run(services.due(30, customer_id=cid))]
