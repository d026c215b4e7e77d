"""报价单 (§5.3.2): prices from 客户证价, Decimal totals rounded once, numbers per year without gaps,
审核 → 审批 with signatures on the workflow engine, printing from the reviewed 报价单 template,
conversion into an entrustment, contracts and charges (§5.9.8); pages, the JSON twins and bounded
inputs."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

from api_client import integrator
from conftest import run
from factories import as_user

TODAY = date.today()
VALID = (TODAY + timedelta(days=30)).isoformat()


@pytest.fixture
def lab(db):
    """A customer with agreed prices, the shipped 报价单 template, and the three people."""
    from metrolab.certificates.template_versions import seed_shipped
    from metrolab.customers.tables import Contact, Customer
    from metrolab.ledger.tables import CustomerPrice

    run(seed_shipped("quotation", "报价单", "报价单"))
    customer = Customer(name="峰峰集团大淑村矿", address="邯郸市峰峰矿区", phone="0310-5550000")
    run(customer.save())
    run(Contact(customer=customer.id, name="王建国", phone="0310-5551234").save())
    run(
        CustomerPrice.insert(
            CustomerPrice(
                customer=customer.id,
                instrument_type="co_detector",
                price=Decimal("120.00"),
                valid_from=TODAY - timedelta(days=400),
            ),
            CustomerPrice(
                customer=customer.id,
                instrument_type="co_detector",
                price=Decimal("133.33"),
                valid_from=TODAY - timedelta(days=10),
            ),
            CustomerPrice(  # not yet in force
                customer=customer.id,
                instrument_type="co_detector",
                price=Decimal("999.00"),
                valid_from=TODAY + timedelta(days=10),
            ),
        )
    )
    return {"customer": customer.id}


def _people(make_user):
    return (
        make_user("clerk", full_name="张业务"),
        make_user("tech_manager", full_name="李技术"),
        make_user("signatory", full_name="王批准"),
    )


def _form(customer, lines, **extra):
    data = {"customer": str(customer), "valid_until": VALID, "quoted_on": TODAY.isoformat()}
    for i, line in enumerate(lines):
        for k, v in line.items():
            data[f"lines.{i}.{k}"] = v
    return {**data, **extra}


def _create(browser, customer, lines=None):
    lines = lines or [
        {"instrument_type": "co_detector", "quantity": "3", "unit_price": "", "discount": "10"},
        {
            "instrument_type": "fuel_dispenser",
            "quantity": "1",
            "unit_price": "250.5",
            "discount": "0",
        },
    ]
    r = browser.post("/quotations", data=_form(customer, lines), follow_redirects=False)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def _approve(browser, new_browser, qid, manager, signatory):
    steps = [
        (browser, "submit", {}),
        (new_browser().login(manager), "pass_review", {"password": "secret-pass-1"}),
        (new_browser().login(signatory), "approve", {"password": "secret-pass-1"}),
    ]
    for who, action, data in steps:
        r = who.post(f"/quotations/{qid}/{action}", data=data, follow_redirects=False)
        assert r.status_code == 303, (action, r.text[-2000:])


# ── services ──────────────────────────────────────────────────────────────────────────────────


def test_prices_come_from_the_customer_and_money_is_rounded_once(lab, make_user):
    from metrolab.quotations import services

    clerk = as_user(make_user("clerk"), "clerk")
    row = run(
        services.create(
            {
                "customer": str(lab["customer"]),
                "valid_until": VALID,
                "lines": [
                    {"instrument_type": "co_detector", "quantity": "3", "discount": "10"},
                    {"instrument_type": "燃油加油机", "quantity": "1", "unit_price": "250.5"},
                ],
            },
            clerk,
        )
    )
    first, second = row["lines"]
    assert first.unit_price == Decimal("133.33") and first.price_source == "customer"
    assert second.instrument_type == "fuel_dispenser" and second.price_source == "manual"
    # 3 × 133.33 × 0.9 = 359.991 → 359.99; the total is rounded once from full precision
    assert services.line_view(row["lines"])[0]["total"] == "359.99"
    assert row["gross"] == Decimal("650.49")  # 399.99 + 250.50
    assert row["total"] == Decimal("610.49")  # 359.991 + 250.5 = 610.491
    assert row["discount"] == Decimal("40.00")  # 39.999 → 40.00
    assert row["number"] == f"BJ{TODAY.year}-00001" and row["status"] == "draft"


def test_a_type_without_a_customer_price_needs_a_typed_price(lab, make_user):
    from metrolab.quotations import services

    clerk = as_user(make_user("clerk"), "clerk")
    with pytest.raises(services.QuotationProblems) as refused:
        run(
            services.create(
                {
                    "customer": str(lab["customer"]),
                    "valid_until": (TODAY - timedelta(days=1)).isoformat(),
                    "lines": [{"instrument_type": "dipstick", "quantity": "0"}],
                },
                clerk,
            )
        )
    errors = refused.value.errors
    assert "客户证价" in errors["lines.0.unit_price"]
    assert "1 到" in errors["lines.0.quantity"]
    assert "早于" in errors["valid_until"]


def test_numbers_run_per_year_without_gaps_even_when_voided(lab, make_user):
    from metrolab.quotations import services, workflow

    clerk = as_user(make_user("clerk"), "clerk")
    values = {
        "customer": str(lab["customer"]),
        "valid_until": VALID,
        "lines": [{"instrument_type": "co_detector", "quantity": "1"}],
    }
    first = run(services.create(values, clerk))
    run(workflow.act(first["id"], "cancel", clerk, reason="客户取消"))
    with pytest.raises(services.QuotationProblems):  # refused: no number is taken
        run(services.create({**values, "valid_until": "bad"}, clerk))
    second = run(services.create(values, clerk))
    last_year = run(services.create({**values, "quoted_on": f"{TODAY.year - 1}-12-30"}, clerk))
    assert [first["number"], second["number"]] == [f"BJ{TODAY.year}-00001", f"BJ{TODAY.year}-00002"]
    assert last_year["number"] == f"BJ{TODAY.year - 1}-00001"
    assert run(services.get(first["id"]))["status"] == "cancelled"


def test_rmb_upper():
    from metrolab.quotations.contract import rmb_upper

    assert rmb_upper(Decimal("2910.00")) == "贰仟玖佰壹拾元整"
    assert rmb_upper(Decimal("100001.00")) == "壹拾万零壹元整"
    assert rmb_upper(Decimal("1.05")) == "壹元零伍分"
    assert rmb_upper(Decimal("0.50")) == "伍角"


# ── the workflow through the pages ────────────────────────────────────────────────────────────


def test_review_and_approval_with_signatures_and_return_paths(lab, browser, new_browser, make_user):
    clerk, manager, signatory = _people(make_user)
    browser.login(clerk)
    qid = _create(browser, lab["customer"])
    reviewer = new_browser().login(manager)
    approver = new_browser().login(signatory)
    assert (
        browser.post(f"/quotations/{qid}/submit", data={}, follow_redirects=False).status_code
        == 303
    )
    assert 'data-task="quotations_to_review"><b>1</b>' in reviewer.get("/home").text
    # a return needs its reason: the page again, 400, the message beside the field
    r = reviewer.post(
        f"/quotations/{qid}/return_review", data={"reason": ""}, follow_redirects=False
    )
    assert r.status_code == 400 and "原因" in r.text
    assert (
        reviewer.post(
            f"/quotations/{qid}/return_review",
            data={"reason": "单价需复核"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    assert 'data-task="quotations_returned"><b>1</b>' in browser.get("/home").text
    assert (
        browser.post(f"/quotations/{qid}/submit", data={}, follow_redirects=False).status_code
        == 303
    )
    # signing re-asks the password
    r = reviewer.post(
        f"/quotations/{qid}/pass_review",
        data={"password": "wrong-password"},
        follow_redirects=False,
    )
    assert r.status_code in (400, 403) and "密码" in r.text
    r = reviewer.post(
        f"/quotations/{qid}/pass_review", data={"password": "secret-pass-1"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert 'data-task="quotations_to_approve"><b>1</b>' in approver.get("/home").text
    assert (
        browser.post(
            f"/quotations/{qid}/approve", data={"password": "secret-pass-1"}, follow_redirects=False
        ).status_code
        == 403
    )
    r = approver.post(
        f"/quotations/{qid}/approve", data={"password": "secret-pass-1"}, follow_redirects=False
    )
    assert r.status_code == 303
    page = browser.get(f"/quotations/{qid}").text
    assert "已批准" in page and "审核通过" in page and "审批通过" in page and "审核退回" in page
    assert "单价需复核" in page and "批准 ·" in page and "审核 ·" in page
    for code in ("pass_review", "return_review", "approving", "reviewing"):
        assert f">{code}<" not in page  # labels, never raw codes


def test_reviewer_may_not_review_their_own_quotation(lab, new_browser, make_user):
    both = make_user("clerk", "tech_manager", "signatory", full_name="全能")
    b = new_browser().login(both)
    qid = _create(b, lab["customer"])
    assert b.post(f"/quotations/{qid}/submit", data={}, follow_redirects=False).status_code == 303
    r = b.post(
        f"/quotations/{qid}/pass_review", data={"password": "secret-pass-1"}, follow_redirects=False
    )
    assert r.status_code in (403, 409) and "编制人不能审核" in r.text


def test_bad_input_keeps_what_was_typed_with_a_message_beside_the_field(lab, browser, make_user):
    browser.login(make_user("clerk"))
    data = _form(
        lab["customer"],
        [
            {
                "instrument_type": "co_detector",
                "quantity": "abc",
                "unit_price": "12.345",
                "remarks": "备注\x00",
            }
        ],
        valid_until="2026-13-40",
        contact="王" * 101,
    )
    r = browser.post("/quotations", data=data)
    assert r.status_code == 400
    assert 'value="abc"' in r.text and 'value="12.345"' in r.text
    assert "至多两位小数" in r.text and "有效期至：日期格式" in r.text and "过长" in r.text
    assert 'id="err-lines-0-quantity"' in r.text
    assert r.text.count('aria-invalid="true"') >= 4


def test_compute_fills_the_customer_price_and_totals(lab, browser, make_user):
    browser.login(make_user("clerk"))
    data = _form(
        lab["customer"],
        [{"instrument_type": "co_detector", "quantity": "2", "unit_price": "", "discount": "0"}],
    )
    r = browser.post("/quotations/compute", data=data)
    assert r.status_code == 200
    assert 'value="133.33"' in r.text and 'id="total-net"><b>266.66<' in r.text
    assert 'value="王建国"' in r.text  # the customer's first contact
    # the type changed: the price filled for the old type follows the new one (blank: none agreed)
    data = _form(
        lab["customer"],
        [
            {
                "instrument_type": "dipstick",
                "quantity": "2",
                "unit_price": "133.33",
                "auto_for": "co_detector",
            }
        ],
    )
    assert (
        'name="lines.0.unit_price" id="f-0-price" inputmode="decimal" size="9" value=""'
        in browser.post("/quotations/compute", data=data).text
    )


def test_list_search_and_xlsx_export_are_injection_safe(lab, browser, make_user):
    from openpyxl import load_workbook

    from metrolab.customers.tables import Customer

    browser.login(make_user("clerk"))
    _create(browser, lab["customer"])
    evil = Customer(name='=HYPERLINK("http://x")')
    run(evil.save())
    _create(
        browser, evil.id, [{"instrument_type": "co_detector", "quantity": "1", "unit_price": "10"}]
    )
    page = browser.get("/quotations", params={"q": "大淑村"}).text
    assert f"BJ{TODAY.year}-00001" in page and f"BJ{TODAY.year}-00002" not in page
    assert f"BJ{TODAY.year}-00002" in browser.get("/quotations", params={"q": "00002"}).text
    r = browser.get("/quotations.xlsx")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.values)
    assert rows[0][0] == "报价单号" and len(rows) == 3
    assert any(str(row[1]).startswith("'=") for row in rows[1:])


def test_print_pdf_and_docx_from_the_pinned_template(
    lab, browser, new_browser, make_user, converter
):
    from pypdf import PdfReader

    from metrolab.quotations.tables import Quotation

    clerk, manager, signatory = _people(make_user)
    browser.login(clerk)
    qid = _create(browser, lab["customer"])
    assert browser.get(f"/quotations/{qid}/print.pdf").status_code == 409  # not approved yet
    _approve(browser, new_browser, qid, manager, signatory)
    assert run(Quotation.select(Quotation.template_version).where(Quotation.id == qid).first())[
        "template_version"
    ]
    r = browser.get(f"/quotations/{qid}/print.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    for words in (
        "报 价 单",
        "峰峰集团大淑村矿",
        "610.49",
        "陆佰壹拾元零肆角玖分",
        "李技术",
        "王批准",
    ):
        assert words.replace(" ", "") in text.replace(" ", ""), words
    d = browser.get(f"/quotations/{qid}/print.docx")
    assert d.status_code == 200 and d.content.startswith(b"PK")


def test_approved_quotation_converts_into_an_entrustment(lab, browser, new_browser, make_user):
    from metrolab.business.tables import VerificationTask

    clerk, manager, signatory = _people(make_user)
    browser.login(clerk)
    qid = _create(browser, lab["customer"])
    assert browser.get(f"/quotations/{qid}/entrustment").status_code == 409
    _approve(browser, new_browser, qid, manager, signatory)
    form = browser.get(f"/quotations/{qid}/entrustment")
    assert (
        form.status_code == 200
        and "峰峰集团大淑村矿" in form.text
        and "一氧化碳检测报警器" in form.text
    )
    assert f'action="/quotations/{qid}/entrustment"' in form.text
    data = {
        "customer": "峰峰集团大淑村矿",
        "contact": "王建国",
        "phone": "0310-5551234",
        "service_mode": "送检",
        "instruments.0.instrument_type": "一氧化碳检测报警器",
        "instruments.0.quantity": "3",
        "instruments.0.serial": "",
        "instruments.1.instrument_type": "燃油加油机",
        "instruments.1.quantity": "1",
        "instruments.1.serial": "JY-0001",
    }
    r = browser.post(f"/quotations/{qid}/entrustment", data=data)
    assert r.status_code == 400 and "出厂编号" in r.text  # the serial is typed at receipt
    data["instruments.0.serial"] = "CO-1001"
    r = browser.post(f"/quotations/{qid}/entrustment", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    entrustment_id = int(r.headers["location"].rsplit("/", 1)[1])
    tasks = run(VerificationTask.select().where(VerificationTask.entrustment == entrustment_id))
    assert {t["instrument_type"] for t in tasks} == {"co_detector", "fuel_dispenser"}
    page = browser.get(f"/quotations/{qid}").text
    assert "已转委托" in page and 'id="quotation-entrustment"' in page
    assert browser.get(f"/quotations/{qid}/entrustment").status_code == 409  # once


def test_a_quotation_changed_during_conversion_leaves_no_entrustment(
    lab, browser, new_browser, make_user, monkeypatch
):
    """A colleague acts on the quotation between the entrustment's 受理 and the quotation's step:
    the conversion is refused as a whole — no orphan entrustment, the quotation still convertible."""
    from metrolab.business.tables import Entrustment
    from metrolab.quotations import workflow
    from metrolab.quotations.tables import Quotation

    clerk, manager, signatory = _people(make_user)
    browser.login(clerk)
    qid = _create(browser, lab["customer"])
    _approve(browser, new_browser, qid, manager, signatory)
    real_act = workflow.act

    async def act_after_a_colleague(quotation_id, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        await Quotation.update({Quotation.lock_version: Quotation.lock_version + 1}).where(
            Quotation.id == quotation_id
        )
        return await real_act(quotation_id, *args, **kwargs)

    monkeypatch.setattr(workflow, "act", act_after_a_colleague)
    before = run(Entrustment.count())
    data = {
        "customer": "峰峰集团大淑村矿",
        "contact": "王建国",
        "phone": "0310-5551234",
        "service_mode": "送检",
        "instruments.0.instrument_type": "一氧化碳检测报警器",
        "instruments.0.quantity": "1",
        "instruments.0.serial": "CO-2001",
    }
    r = browser.post(f"/quotations/{qid}/entrustment", data=data, follow_redirects=False)
    assert r.status_code == 409, r.text
    assert run(Entrustment.count()) == before
    monkeypatch.setattr(workflow, "act", real_act)
    r = browser.post(f"/quotations/{qid}/entrustment", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert run(Entrustment.count()) == before + 1


def test_the_customer_page_leads_to_its_quotations(lab, browser, new_browser, make_user):
    from metrolab.customers.tables import Customer

    clerk, _manager, _signatory = _people(make_user)
    other = Customer(name="邯郸市第二加油站")
    run(other.save())
    browser.login(clerk)
    mine = _create(browser, lab["customer"])
    priced = [
        {"instrument_type": "co_detector", "quantity": "1", "unit_price": "80", "discount": "0"}
    ]
    theirs = _create(browser, other.id, priced)
    page = browser.get(f"/customers/{lab['customer']}").text
    assert f'href="/quotations?customer={lab["customer"]}">报价单（1）</a>' in page
    assert f'href="/quotations/new?customer={lab["customer"]}">新建报价单</a>' in page
    listed = browser.get(f"/quotations?customer={lab['customer']}").text
    assert f'href="/quotations/{mine}"' in listed and f'href="/quotations/{theirs}"' not in listed
    assert "峰峰集团大淑村矿" in listed.split("</h1>")[0]
    api = browser.get(f"/api/v1/quotations?customer={other.id}").json()
    assert [r["id"] for r in api] == [theirs]
    for bad in ("0", "99999999999999999999", "abc"):
        assert browser.get(f"/api/v1/quotations?customer={bad}").status_code == 400
    verifier = new_browser().login(make_user("verifier"))  # no quotations.view: no link
    assert "/quotations?customer=" not in verifier.get(f"/customers/{lab['customer']}").text


def test_contract_from_the_quotation_and_its_charges(lab, browser, new_browser, make_user):
    from metrolab.ledger.tables import Charge, Contract

    clerk, manager, signatory = _people(make_user)
    browser.login(clerk)
    qid = _create(browser, lab["customer"])
    _approve(browser, new_browser, qid, manager, signatory)
    r = browser.post(
        f"/quotations/{qid}/contract/new", data={"contract_number": "", "signed_on": ""}
    )
    assert r.status_code == 400 and "请填写合同编号" in r.text
    r = browser.post(
        f"/quotations/{qid}/contract/new",
        data={"contract_number": "HT-2026-07", "signed_on": TODAY.isoformat()},
        follow_redirects=False,
    )
    assert r.status_code == 303
    contract = run(Contract.select().where(Contract.number == "HT-2026-07").first())
    assert Decimal(str(contract["amount"])) == Decimal("610.49")
    run(
        Charge(
            contract=contract["id"],
            description="检定费（首期）",
            amount=Decimal("300"),
            charged_on=TODAY,
        ).save()
    )
    page = browser.get(f"/quotations/{qid}").text
    assert "HT-2026-07" in page and "检定费（首期）" in page
    assert 'id="contract-outstanding">310.49<' in page
    other = new_browser().login(clerk)
    assert (
        other.post(f"/quotations/{qid}/contract", data={"contract": "2147483648"}).status_code
        == 404
    )


# ── the JSON API ──────────────────────────────────────────────────────────────────────────────


def test_api_create_walk_and_convert(lab, new_browser, make_user):
    clerk, manager, signatory = _people(make_user)
    c, m, s = (integrator(new_browser, u) for u in (clerk, manager, signatory))
    body = {
        "customer_id": lab["customer"],
        "valid_until": VALID,
        "lines": [{"instrument_type": "co_detector", "quantity": 2}],
    }
    r = c.post("/api/v1/quotations/compute", json=body)
    assert r.status_code == 200 and r.json()["total"] == "266.66"
    r = c.post("/api/v1/quotations", json=body)
    assert r.status_code == 201, r.text
    q = r.json()
    assert q["lines"][0]["unit_price"] == "133.33" and q["actions"] == ["submit", "cancel"]
    qid = q["id"]
    r = c.put(
        f"/api/v1/quotations/{qid}",
        json={
            **body,
            "lines": [
                {
                    "instrument_type": "co_detector",
                    "quantity": 4,
                    "unit_price": "100",
                    "discount": "5",
                }
            ],
        },
    )
    assert r.status_code == 200 and r.json()["total"] == "380.00"
    assert c.post(f"/api/v1/quotations/{qid}/submit", json={}).json()["to"] == "reviewing"
    r = m.post(f"/api/v1/quotations/{qid}/pass_review", json={})
    assert r.status_code == 400 and "密码" in r.json()["detail"]
    assert (
        m.post(
            f"/api/v1/quotations/{qid}/pass_review", json={"password": "secret-pass-1"}
        ).status_code
        == 200
    )
    r = s.post(f"/api/v1/quotations/{qid}/approve", json={"password": "secret-pass-1"})
    assert r.status_code == 200 and r.json()["status_label"] == "已批准"
    assert [h["action_label"] for h in r.json()["history"]] == ["提交审核", "审核通过", "审批通过"]
    assert c.get(f"/api/v1/quotations/{qid}/print.docx").status_code == 200
    assert c.get("/api/v1/quotations", params={"q": "峰峰"}).json()[0]["id"] == qid
    assert c.get("/api/v1/quotations.xlsx").status_code == 200
    values = {
        "customer": "峰峰集团大淑村矿",
        "contact": "王建国",
        "phone": "0310-5551234",
        "service_mode": "送检",
        "instruments": [{"instrument_type": "co_detector", "quantity": "4", "serial": "CO-1"}],
    }
    r = c.post(f"/api/v1/quotations/{qid}/entrustment", json={"values": values})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "converted" and r.json()["entrustment_number"].startswith("WT")


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/api/v1/quotations/2147483648", None),
        ("GET", "/api/v1/quotations/99999999999999999999", None),
        ("GET", "/api/v1/quotations?q=a%00b", None),
        ("GET", "/api/v1/quotations?q=" + "长" * 201, None),
        ("POST", "/api/v1/quotations", {"customer_id": 2**40, "valid_until": VALID}),
        (
            "POST",
            "/api/v1/quotations",
            {"customer_id": 1, "valid_until": VALID, "remarks": "a\x00b"},
        ),
        (
            "POST",
            "/api/v1/quotations",
            {"customer_id": 1, "valid_until": VALID, "contact": "长" * 101},
        ),
        (
            "POST",
            "/api/v1/quotations",
            {
                "customer_id": 1,
                "valid_until": VALID,
                "lines": [{"instrument_type": "co_detector", "quantity": 10**12}],
            },
        ),
        (
            "POST",
            "/api/v1/quotations",
            {
                "customer_id": 1,
                "valid_until": VALID,
                "lines": [{"instrument_type": "co_detector", "quantity": 1, "unit_price": "1e9"}],
            },
        ),
        ("POST", "/api/v1/quotations/2147483648/submit", {}),
        ("POST", "/api/v1/quotations/1/" + "x" * 101, {}),
        ("POST", "/api/v1/quotations/1/contract", {"contract_id": 2**31}),
    ],
)
def test_api_bounded_inputs_answer_4xx(lab, new_browser, make_user, method, url, body):
    c = integrator(new_browser, make_user("clerk"))
    r = c.request(method, url, json=body) if body is not None else c.request(method, url)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)


def test_pages_refuse_bad_ids_with_4xx(lab, browser, make_user):
    browser.login(make_user("clerk"))
    for url in ("/quotations/2147483648", "/quotations/0", "/quotations?q=a%00b"):
        assert 400 <= browser.get(url).status_code < 500, url
    r = browser.post("/quotations", data={"customer": "9" * 30, "valid_until": VALID})
    assert r.status_code == 400 and "客户不存在" in r.text


def _rewrite(docx: bytes, old: str, new: str) -> bytes:
    import zipfile

    src, out = zipfile.ZipFile(io.BytesIO(docx)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "word/document.xml":
                assert old.encode() in content
                content = content.replace(old.encode(), new.encode())
            dst.writestr(info, content)
    return out.getvalue()


def test_the_quotation_template_goes_through_template_review(lab, browser, make_user):
    """A 报价单 template is uploaded, linted against the quotation contract, and reviewed like a
    certificate template; the newest published one is what the next approval pins."""
    from pathlib import Path

    from metrolab.certificates import template_versions as tv

    author = make_user("tech_manager")
    data = (
        Path(__file__).resolve().parents[1] / "certificate_templates" / "quotation.docx"
    ).read_bytes()
    version = run(
        tv.upload(
            data,
            "q2.docx",
            as_user(author, "tech_manager"),
            key="quotation_v2",
            name="报价单（新版）",
            kind="报价单",
        )
    )
    assert version["status"] == "draft"
    bad = _rewrite(data, "{{ totals.total }}", "{{ totals.nonsense }}")
    with pytest.raises(tv.TemplateRefused):
        run(
            tv.upload(
                bad,
                "bad.docx",
                as_user(author, "tech_manager"),
                key="quotation_bad",
                name="坏",
                kind="报价单",
            )
        )
    # a certificate variable is not a quotation one
    browser.login(author)
    assert "报价单" in browser.get("/certificate-templates/new").text
