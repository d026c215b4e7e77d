"""报价单 (§5.3.2): draft a quotation for a customer from its prices (客户证价) and the instrument
types, number it per year without gaps, query and export it. The workflow steps, printing and the
conversion into an entrustment are in ``workflow.py``, ``printing.py`` and ``convert.py``.

Money is ``Decimal``: a line total is quantity × unit price × (100 − 优惠%) / 100 at full precision;
every amount shown or printed is rounded once to 0.01 (四舍五入, as money is) from that value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from metrolab.audit.log import record
from metrolab.kernel.errors import Conflict, NotFound, Refused
from metrolab.kernel.matching import contains
from metrolab.quotations.tables import Quotation, QuotationLine
from metrolab.web.auth import CurrentUser

WF = "quotation"
INT32_MAX = 2**31 - 1
MAX_LINES = 100
MAX_QUANTITY = 100_000
MAX_PRICE = Decimal("9999999999.99")  # Numeric(12, 2)
VALID_DAYS = 30  # a new quotation is valid for 30 days unless the clerk says otherwise
LIST_LIMIT = 500
CENT = Decimal("0.01")
TEXTS = {"contact": ("联系人", 100), "phone": ("联系电话", 50), "remarks": ("备注", 2000)}


def money(value: Any) -> Decimal:
    """An amount as shown and printed: rounded once to 0.01, half up."""
    return Decimal(str(value or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def percent(value: Decimal) -> str:
    """优惠（%） as typed: 10, 12.5 — never 1E+1."""
    return f"{value.normalize():f}" if value else "0"


def _decimal(value: Any) -> Decimal:
    """A NUMERIC column's value (SQLite hands it back without its scale, sometimes as float)."""
    return Decimal(str(value if value is not None else 0))


class QuotationProblems(Refused):
    """The typed quotation with problems: ``errors`` maps a form field (``valid_until``,
    ``lines.2.unit_price``) to its 中文 message; the API lists them in ``errors``."""

    def __init__(self, errors: dict[str, str]) -> None:
        listed = "；".join(list(errors.values())[:5])
        super().__init__(
            f"请按提示修改后再保存：{listed}",
            extra=[{"key": k, "message": v} for k, v in errors.items()],
        )
        self.errors = errors


@dataclass
class Line:
    instrument_type: str
    name: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    price_source: str
    remarks: str = ""

    @property
    def total(self) -> Decimal:  # full precision: rounded only where shown
        return self.quantity * self.unit_price * (100 - self.discount) / 100


def _bad_text(text: str) -> bool:
    return any(not (c.isprintable() or c in "\n\t") for c in text)


def _clean_text(raw: Any, label: str, limit: int, errors: dict[str, str], key: str) -> str:
    text = raw.strip() if isinstance(raw, str) else ""
    if _bad_text(text):
        errors[key] = f"{label}含有不可见的控制字符，请重新输入"
    elif len(text) > limit:
        errors[key] = f"{label}过长（至多 {limit} 字）"
    return text[:limit]


def _clean_date(raw: Any, label: str, errors: dict[str, str], key: str) -> date | None:
    if isinstance(raw, date):
        return raw
    text = str(raw or "").strip()
    if not text:
        errors[key] = f"请填写{label}"
        return None
    try:
        if len(text) > 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        errors[key] = f"{label}：日期格式应为 YYYY-MM-DD"
        return None


def _amount(
    raw: Any, label: str, limit: Decimal, errors: dict[str, str], key: str
) -> Decimal | None:
    text = str(raw if raw is not None else "").strip().replace(",", "")
    if not text:
        return None
    try:
        value = Decimal(text) if len(text) <= 20 else Decimal("NaN")
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        errors[key] = f"{label}应为数字"
        return None
    if value < 0 or value > limit:
        errors[key] = f"{label}应在 0 到 {limit} 之间"
        return None
    if value != value.quantize(CENT):
        errors[key] = f"{label}至多两位小数"
        return None
    return value


async def instrument_types() -> dict[str, str]:
    """{code: 中文名} of the active instrument types (what a line may quote)."""
    from metrolab.business.services import instrument_types as types

    return await types()


async def customer_price(customer_id: int | None, instrument_type: str, on: date) -> Decimal | None:
    """The customer's agreed price (ledger 客户证价) for the type, valid on that date, else None."""
    from metrolab.ledger.tables import CustomerPrice

    if not customer_id or not instrument_type:
        return None
    row = (
        await CustomerPrice.select(CustomerPrice.price)
        .where(
            (CustomerPrice.customer == customer_id)
            & (CustomerPrice.instrument_type == instrument_type)
            & (CustomerPrice.valid_from <= on)
        )
        .order_by(CustomerPrice.valid_from, ascending=False)
        .first()
    )
    return money(row["price"]) if row else None


async def customer_prices(customer_id: int | None, on: date) -> dict[str, Decimal]:
    """{type code: price} of the customer's prices valid on that date (for the form's hint column)."""
    from metrolab.ledger.tables import CustomerPrice

    if not customer_id:
        return {}
    rows = (
        await CustomerPrice.select(CustomerPrice.instrument_type, CustomerPrice.price)
        .where((CustomerPrice.customer == customer_id) & (CustomerPrice.valid_from <= on))
        .order_by(CustomerPrice.valid_from)
    )
    return {r["instrument_type"]: money(r["price"]) for r in rows}  # the latest wins


async def customers() -> list[dict[str, Any]]:
    from metrolab.customers.tables import Customer

    return await Customer.select(Customer.id, Customer.name).order_by(Customer.name)


async def customer_name(customer_id: int) -> str:
    from metrolab.customers.tables import Customer

    row = await Customer.select(Customer.name).where(Customer.id == customer_id).first()
    return row["name"] if row else ""


async def _customer(raw: Any, errors: dict[str, str]) -> dict[str, Any] | None:
    from metrolab.customers.tables import Customer

    text = str(raw if raw is not None else "").strip()
    if not text:
        errors["customer"] = "请选择客户"
        return None
    if not text.isdigit() or len(text) > 10 or not 0 < int(text) <= INT32_MAX:
        errors["customer"] = "客户不存在，请从客户档案中选择"
        return None
    row = await Customer.select().where(Customer.id == int(text)).first()
    if row is None:
        errors["customer"] = "客户不存在，请从客户档案中选择"
    return row


async def check(values: dict[str, Any], *, fill_prices: bool = True) -> dict[str, Any]:
    """The typed quotation, cleaned: ``{customer, contact, phone, quoted_on, valid_until, remarks,
    lines: [Line]}`` and ``errors`` (field → 中文). A line without a unit price takes the customer's
    price for its type; blank lines are dropped."""
    errors: dict[str, str] = {}
    customer = await _customer(values.get("customer"), errors)
    out: dict[str, Any] = {
        k: _clean_text(values.get(k, ""), label, n, errors, k) for k, (label, n) in TEXTS.items()
    }
    out["customer"] = customer
    out["quoted_on"] = _clean_date(
        values.get("quoted_on") or date.today(), "报价日期", errors, "quoted_on"
    )
    out["valid_until"] = _clean_date(values.get("valid_until"), "有效期至", errors, "valid_until")
    if out["quoted_on"] and out["valid_until"] and out["valid_until"] < out["quoted_on"]:
        errors["valid_until"] = "有效期至不能早于报价日期"
    raw_lines = values.get("lines") or []
    if not isinstance(raw_lines, list) or len(raw_lines) > MAX_LINES:
        errors["lines"] = f"报价明细至多 {MAX_LINES} 行"
        raw_lines = []
    types = await instrument_types()
    by_name = {v: k for k, v in types.items()}
    lines: list[Line] = []
    on = out["quoted_on"] or date.today()
    for i, raw in enumerate(raw_lines):
        raw = raw if isinstance(raw, dict) else {}
        key = f"lines.{i}"
        typed = str(raw.get("instrument_type") or "").strip()[:200]
        qty_text = str(raw.get("quantity") or "").strip()
        price_text = str(raw.get("unit_price") or "").strip()
        if not typed and not price_text and qty_text in ("", "1"):
            continue  # an empty row
        code = typed if typed in types else by_name.get(typed, "")
        if not code:
            errors[f"{key}.instrument_type"] = (
                f"第{i + 1}行：请选择器具类型"
                if not typed
                else f"第{i + 1}行：没有名为“{typed}”的器具类型"
            )
        quantity = 0
        if not qty_text.isdigit() or len(qty_text) > 7 or not 1 <= int(qty_text) <= MAX_QUANTITY:
            errors[f"{key}.quantity"] = f"第{i + 1}行：数量应为 1 到 {MAX_QUANTITY} 的整数"
        else:
            quantity = int(qty_text)
        price = _amount(price_text, f"第{i + 1}行：单价", MAX_PRICE, errors, f"{key}.unit_price")
        source = "manual"
        if price is None and f"{key}.unit_price" not in errors and fill_prices:
            price = await customer_price(customer["id"] if customer else None, code, on)
            source = "customer" if price is not None else "manual"
        elif (
            price is not None
            and customer
            and price == await customer_price(customer["id"], code, on)
        ):
            source = "customer"
        if price is None and f"{key}.unit_price" not in errors:
            errors[f"{key}.unit_price"] = (
                f"第{i + 1}行：请填写单价（该客户没有此器具类型的客户证价）"
            )
        discount = _amount(
            raw.get("discount"), f"第{i + 1}行：优惠（%）", Decimal(100), errors, f"{key}.discount"
        )
        remarks = _clean_text(
            raw.get("remarks", ""), f"第{i + 1}行：说明", 200, errors, f"{key}.remarks"
        )
        lines.append(
            Line(
                code,
                types.get(code, typed),
                quantity,
                price or Decimal(0),
                discount or Decimal(0),
                source,
                remarks,
            )
        )
    out["lines"] = lines
    out["errors"] = errors
    return out


def totals(lines: list[Line]) -> dict[str, Decimal]:
    """合计 (before discount), 优惠金额 and 报价总额, each rounded once from full precision."""
    gross = sum((ln.quantity * ln.unit_price for ln in lines), Decimal(0))
    net = sum((ln.total for ln in lines), Decimal(0))
    return {"gross": money(gross), "discount": money(gross - net), "total": money(net)}


async def _next_number(year: int) -> str:
    """BJ2026-00001…: the lab's series allocator (inside the caller's numbering transaction)."""
    from metrolab.lab.series import allocate

    return await allocate(
        "quotation",
        year,
        lambda seq: f"BJ{year}-{seq:05d}",
        lambda n: Quotation.exists().where(Quotation.number == n).run(),
    )


def _line_rows(quotation_id: int, lines: list[Line]) -> list[QuotationLine]:
    return [
        QuotationLine(
            quotation=quotation_id,
            line=i,
            instrument_type=ln.instrument_type,
            name=ln.name[:200],
            quantity=ln.quantity,
            unit_price=ln.unit_price,
            discount=ln.discount,
            price_source=ln.price_source,
            remarks=ln.remarks,
        )
        for i, ln in enumerate(lines, start=1)
    ]


async def create(values: dict[str, Any], user: CurrentUser) -> dict[str, Any]:
    """编制 a draft quotation, numbered now (the number is never reused, even when voided)."""
    from metrolab.lab.series import numbering_transaction

    clean = await check(await prefill(values))
    if clean["errors"]:
        raise QuotationProblems(clean["errors"])
    today = date.today()
    async with numbering_transaction():  # two clerks at once queue for the number
        number = await _next_number(clean["quoted_on"].year)
        q = Quotation(
            number=number,
            customer=clean["customer"]["id"],
            contact=clean["contact"],
            phone=clean["phone"],
            quoted_on=clean["quoted_on"] or today,
            valid_until=clean["valid_until"],
            remarks=clean["remarks"],
            created_by=user.id,
        )
        await q.save()
        if clean["lines"]:
            await QuotationLine.insert(*_line_rows(q.id, clean["lines"]))
    await record(
        "quotation.created",
        actor=user,
        target_type="quotation",
        target_id=q.id,
        details={"number": number, "total": str(totals(clean["lines"])["total"])},
    )
    return await get(q.id)


async def update(
    quotation_id: int, values: dict[str, Any], user: CurrentUser, expected_lock: int | None = None
) -> dict[str, Any]:
    """修改 a draft (or a returned one): header and lines replaced, the number kept."""
    from datetime import UTC, datetime

    row = await get(quotation_id)
    if row["status"] != "draft":
        raise Conflict("只有草稿状态的报价单可以修改")
    clean = await check(await prefill(values))
    if clean["errors"]:
        raise QuotationProblems(clean["errors"])
    engine = Quotation._meta.db
    async with engine.transaction():
        changed = (
            await Quotation.update(
                {
                    Quotation.customer: clean["customer"]["id"],
                    Quotation.contact: clean["contact"],
                    Quotation.phone: clean["phone"],
                    Quotation.quoted_on: clean["quoted_on"],
                    Quotation.valid_until: clean["valid_until"],
                    Quotation.remarks: clean["remarks"],
                    Quotation.lock_version: Quotation.lock_version + 1,
                    Quotation.updated_at: datetime.now(UTC),
                }
            )
            .where(
                (Quotation.id == quotation_id)
                & (Quotation.status == "draft")
                & (
                    Quotation.lock_version
                    == (row["lock_version"] if expected_lock is None else expected_lock)
                )
            )
            .returning(Quotation.id)
        )
        if not changed:
            raise Conflict("报价单已被他人修改或已提交，请刷新后再改")
        await QuotationLine.delete().where(QuotationLine.quotation == quotation_id)
        if clean["lines"]:
            await QuotationLine.insert(*_line_rows(quotation_id, clean["lines"]))
    await record(
        "quotation.modified",
        actor=user,
        target_type="quotation",
        target_id=quotation_id,
        details={"number": row["number"], "total": str(totals(clean["lines"])["total"])},
    )
    return await get(quotation_id)


def _line(row: dict[str, Any]) -> Line:
    return Line(
        row["instrument_type"],
        row["name"],
        int(row["quantity"]),
        _decimal(row["unit_price"]),
        _decimal(row["discount"]),
        row["price_source"],
        row["remarks"],
    )


async def lines_of(quotation_id: int) -> list[Line]:
    rows = (
        await QuotationLine.select()
        .where(QuotationLine.quotation == quotation_id)
        .order_by(QuotationLine.line)
    )
    return [_line(r) for r in rows]


async def get(quotation_id: int) -> dict[str, Any]:
    row = None
    if isinstance(quotation_id, int) and 0 < quotation_id <= INT32_MAX:
        row = (
            await Quotation.select(
                *Quotation.all_columns(),
                Quotation.customer.name.as_alias("customer_name"),
                Quotation.customer.address.as_alias("customer_address"),
                Quotation.created_by.full_name.as_alias("created_by_name"),
                Quotation.reviewed_by.full_name.as_alias("reviewed_by_name"),
                Quotation.approved_by.full_name.as_alias("approved_by_name"),
                Quotation.entrustment.number.as_alias("entrustment_number"),
                Quotation.contract.number.as_alias("contract_number"),
            )
            .where(Quotation.id == quotation_id)
            .first()
        )
    if row is None:
        raise NotFound("报价单不存在")
    row["lines"] = await lines_of(quotation_id)
    row.update(totals(row["lines"]))
    row["expired"] = row["valid_until"] < date.today()
    return row


def as_form(row: dict[str, Any] | None = None) -> dict[str, Any]:
    """A quotation (or a fresh one) as the values its form shows."""
    if row is None:
        today = date.today()
        return {
            "customer": "",
            "contact": "",
            "phone": "",
            "quoted_on": today.isoformat(),
            "valid_until": (today + timedelta(days=VALID_DAYS)).isoformat(),
            "remarks": "",
            "lines": [
                {
                    "instrument_type": "",
                    "quantity": "1",
                    "unit_price": "",
                    "discount": "0",
                    "remarks": "",
                }
            ],
        }
    return {
        "customer": str(row["customer"]),
        "contact": row["contact"],
        "phone": row["phone"],
        "quoted_on": row["quoted_on"].isoformat(),
        "valid_until": row["valid_until"].isoformat(),
        "remarks": row["remarks"],
        "lines": [
            {
                "instrument_type": ln.instrument_type,
                "quantity": str(ln.quantity),
                "unit_price": str(money(ln.unit_price)),
                "discount": percent(ln.discount),
                "remarks": ln.remarks,
            }
            for ln in row["lines"]
        ],
    }


def line_view(lines: list[Line]) -> list[dict[str, Any]]:
    """Lines as a page, the print and the API show them: amounts rounded once, as text."""
    return [
        {
            "seq": i,
            "instrument_type": ln.instrument_type,
            "name": ln.name,
            "quantity": ln.quantity,
            "unit_price": str(money(ln.unit_price)),
            "discount": percent(ln.discount),
            "total": str(money(ln.total)),
            "price_source": ln.price_source,
            "remarks": ln.remarks,
        }
        for i, ln in enumerate(lines, start=1)
    ]


async def query(q: str = "", status: str = "", customer: int | None = None) -> list[dict[str, Any]]:
    """查询 by number or customer name (and state), newest first, each with its 报价总额."""
    q = "".join(ch for ch in q if ch.isprintable())[:200].strip()
    query = Quotation.select(
        *Quotation.all_columns(),
        Quotation.customer.name.as_alias("customer_name"),
        Quotation.created_by.full_name.as_alias("created_by_name"),
        Quotation.entrustment.number.as_alias("entrustment_number"),
    )
    if q:
        query = query.where(contains(Quotation.number, q) | contains(Quotation.customer.name, q))
    if status:
        query = query.where(Quotation.status == status[:50])
    if customer:
        query = query.where(Quotation.customer == customer)
    rows = await query.order_by(Quotation.id, ascending=False).limit(LIST_LIMIT)
    by_id: dict[int, list[Line]] = {r["id"]: [] for r in rows}
    if by_id:
        for line in (
            await QuotationLine.select()
            .where(QuotationLine.quotation.is_in(list(by_id)))
            .order_by(QuotationLine.line)
        ):
            by_id[line["quotation"]].append(_line(line))
    today = date.today()
    for r in rows:
        r["total"] = totals(by_id[r["id"]])["total"]
        r["expired"] = r["valid_until"] < today
    return rows


async def export_xlsx(rows: list[dict[str, Any]]) -> bytes:
    """The list as a spreadsheet (every text through the safe cell helper: no formula runs)."""
    from metrolab.statistics.exports import xlsx_bytes
    from metrolab.web.i18n import _
    from metrolab.workflows.services import state_labels

    labels = await state_labels(WF)
    header = [
        _("报价单号"),
        _("客户"),
        _("报价日期"),
        _("有效期至"),
        _("报价总额（元）"),
        _("状态"),
        _("编制人"),
        _("委托单"),
    ]
    body = [
        [
            r["number"],
            r["customer_name"],
            r["quoted_on"].isoformat(),
            r["valid_until"].isoformat(),
            r["total"],
            labels.get(r["status"], ""),
            r["created_by_name"] or "",
            r["entrustment_number"] or "",
        ]
        for r in rows
    ]
    return xlsx_bytes(_("报价单"), header, body)


def parse_form(form: dict[str, Any]) -> dict[str, Any]:
    """A posted quotation form (``lines.3.unit_price`` …) as the values ``check`` takes; at most
    MAX_LINES + 1 lines are read (one more is refused by ``check``)."""
    values: dict[str, Any] = {
        k: str(form.get(k) or "")
        for k in ("customer", "contact", "phone", "quoted_on", "valid_until", "remarks")
    }
    rows: dict[int, dict[str, str]] = {}
    for name, value in form.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() and len(parts[1]) < 4:
            index = int(parts[1])
            if index <= MAX_LINES and parts[2] in LINE_FIELDS:
                rows.setdefault(index, {})[parts[2]] = str(value or "")
    values["lines"] = [rows[i] for i in sorted(rows)]
    return values


LINE_FIELDS = ("instrument_type", "quantity", "unit_price", "discount", "remarks", "auto_for")


async def prefill(values: dict[str, Any]) -> dict[str, Any]:
    """What the server fills in while the clerk types: the customer's contact and phone when blank,
    and a line's unit price from the customer's price for its type (客户证价) when the price is
    blank or was filled for another type. ``auto_for`` remembers the type a price was filled for."""
    from metrolab.customers.tables import Contact

    errors: dict[str, str] = {}
    customer = await _customer(values.get("customer"), errors) if values.get("customer") else None
    out = {**values, "lines": [dict(line) for line in values.get("lines") or []]}
    if customer:
        first = (
            await Contact.select(Contact.name, Contact.phone)
            .where(Contact.customer == customer["id"])
            .order_by(Contact.id)
            .first()
        )
        if not str(out.get("contact") or "").strip() and first:
            out["contact"] = first["name"]
        if not str(out.get("phone") or "").strip():
            out["phone"] = (first or {}).get("phone") or customer.get("phone") or ""
    types = await instrument_types()
    by_name = {v: k for k, v in types.items()}
    try:
        on = date.fromisoformat(str(values.get("quoted_on") or "")[:10])
    except ValueError:
        on = date.today()
    for line in out["lines"]:
        typed = str(line.get("instrument_type") or "").strip()
        code = typed if typed in types else by_name.get(typed, "")
        price = str(line.get("unit_price") or "").strip()
        auto = str(line.get("auto_for") or "")
        if code and (not price or (auto and auto != code)):
            found = await customer_price(customer["id"] if customer else None, code, on)
            line["unit_price"] = str(found) if found is not None else ("" if auto else price)
            line["auto_for"] = code if found is not None else ""
    return out


async def preview(values: dict[str, Any]) -> dict[str, Any]:
    """Line totals and totals of the typed form as it stands (nothing stored, problems ignored)."""
    clean = await check(values)
    row_totals = []
    for raw in values.get("lines") or []:
        try:
            quantity = int(str(raw.get("quantity") or "")[:7])
            price = Decimal(str(raw.get("unit_price") or "")[:20])
            discount = Decimal(str(raw.get("discount") or "0")[:20])
            ok = 0 < quantity <= MAX_QUANTITY and 0 <= price <= MAX_PRICE and 0 <= discount <= 100
            row_totals.append(str(money(quantity * price * (100 - discount) / 100)) if ok else "")
        except (ValueError, InvalidOperation):
            row_totals.append("")
    return {"row_totals": row_totals, **totals(clean["lines"])}
