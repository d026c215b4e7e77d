"""Tables of the quotations feature: a 报价单 and its lines."""

from decimal import Decimal

from piccolo.columns import (
    Date,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from metrolab.accounts.tables import User
from metrolab.business.tables import Entrustment
from metrolab.certificates.tables import TemplateVersion
from metrolab.customers.tables import Customer
from metrolab.ledger.tables import Contract


class Quotation(Table, tablename="quotation"):
    """报价单: numbered per year when drafted (BJ2026-00001, no gap: a withdrawn one stays, 已作废),
    reviewed (审核) and approved (审批) with signatures; printed from the reviewed template version
    pinned at approval; converted into an entrustment; linked to the customer's contract (§5.9.8)."""

    number = Varchar(length=30, unique=True)
    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    contact = Varchar(length=100, default="")
    phone = Varchar(length=50, default="")
    quoted_on = Date()
    valid_until = Date()
    remarks = Text(default="")
    status = Varchar(length=50, default="draft", index=True)
    lock_version = Integer(default=0)
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    reviewed_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    approved_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    template_version = ForeignKey(TemplateVersion, null=True, on_delete=OnDelete.restrict)
    entrustment = ForeignKey(Entrustment, null=True, on_delete=OnDelete.set_null)
    contract = ForeignKey(Contract, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class QuotationLine(Table, tablename="quotation_line"):
    """One line: an instrument type, how many, the unit price (prefilled from 客户证价, editable) and
    the discount in percent; the line total is derived, never stored."""

    quotation = ForeignKey(Quotation, on_delete=OnDelete.cascade, index=True)
    line = Integer()
    instrument_type = Varchar(length=64)  # indicators InstrumentType.code
    name = Varchar(length=200)  # the type's 中文 name when quoted
    quantity = Integer()
    unit_price = Numeric(digits=(12, 2))
    discount = Numeric(digits=(5, 2), default=Decimal("0"))  # 优惠（%）: 0–100
    price_source = Varchar(length=20, default="manual")  # customer | manual
    remarks = Varchar(length=200, default="")
