"""Tables of the ledger feature: customers' instrument ledgers (计量器具台账, DB1304/T 505 §5.9.6–§5.9.7,
T/ZBMS 005 §5.4), external certificates (外检证书登记 §5.8.12), the customer extensions of §5.9
(证价, 证照, 合同 + 收费, 拜访 §5.7.4) and a gas station's self-checks and staff (T/ZBMS 005 §4.4, §4.5)."""

from piccolo.columns import (
    JSON,
    Boolean,
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
from metrolab.customers.tables import Customer
from metrolab.web.i18n import N_

STATUSES = {"in_use": "在用", "awaiting": N_("待检"), "idle": "停用", "scrapped": "报废"}
# 待检: the last verification failed — out of use until repaired and verified again (on the due list).
SOURCES = {
    "manual": "手工录入",
    "import": "导入",
    "certificate": "本所证书",
    "external": "外检证书",
}


class LedgerInstrument(Table, tablename="ledger_instrument"):
    """One instrument a customer owns. Unique in practice by (customer, instrument_type, serial)."""

    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    instrument_type = Varchar(length=64, index=True)  # indicators InstrumentType.code
    name = Varchar(length=200, default="")
    model = Varchar(length=200, default="")
    serial = Varchar(length=100, default="", index=True)
    manufacturer = Varchar(length=200, default="")
    location = Varchar(length=200, default="")
    status = Varchar(length=20, default="in_use", index=True)  # in_use | awaiting | idle | scrapped
    compulsory = Boolean(default=False)  # 强制检定
    nozzles = Integer(null=True, default=None)  # 加油枪数 (dispensers)
    last_verified_on = Date(null=True, default=None)
    last_conclusion = Varchar(length=100, default="")
    next_due_on = Date(null=True, default=None, index=True)
    last_certificate = Varchar(length=100, default="")  # number (ours or external)
    last_certificate_kind = Varchar(length=20, default="")  # "" | own | external
    last_certificate_ref = Integer(
        null=True, default=None
    )  # Certificate.id or ExternalCertificate.id
    source = Varchar(length=20, default="manual")  # manual | import | certificate | external
    remarks = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class ExternalCertificate(Table, tablename="ledger_external_certificate"):
    """外检证书: a certificate from another body, registered with its scan (PDF or image)."""

    instrument = ForeignKey(LedgerInstrument, on_delete=OnDelete.cascade, index=True)
    number = Varchar(length=100)
    issued_by = Varchar(length=200)
    verified_on = Date()
    valid_until = Date(null=True, default=None)
    conclusion = Varchar(length=100, default="合格")
    scan_sha256 = Varchar(length=64)
    scan_type = Varchar(length=10)  # pdf | png | jpeg
    filename = Varchar(length=255, default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class PortalLink(Table, tablename="ledger_portal_link"):
    """The current nonce of a customer's portal link; regenerating it revokes the old link."""

    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, unique=True)
    nonce = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow())


class CustomerPrice(Table, tablename="ledger_customer_price"):
    """客户证价 (§5.9.3): the price agreed with a customer for one instrument type, from a date."""

    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True)
    instrument_type = Varchar(length=64)
    price = Numeric(digits=(12, 2))
    valid_from = Date()


class Licence(Table, tablename="ledger_licence"):
    """客户证照 (§5.9.4): 营业执照, 计量授权… with their expiry and a scan."""

    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=100)
    number = Varchar(length=100)
    issued_by = Varchar(length=200, default="")
    valid_until = Date(null=True, default=None)
    scan_sha256 = Varchar(length=64, default="")
    scan_type = Varchar(length=10, default="")


class Contract(Table, tablename="ledger_contract"):
    """企业合同 (§5.9.8); charges are linked against it."""

    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True)
    number = Varchar(length=100)
    signed_on = Date()
    valid_until = Date(null=True, default=None)
    amount = Numeric(digits=(14, 2))


class Charge(Table, tablename="ledger_charge"):
    """收费: one charge booked against a contract (optionally for one certificate)."""

    contract = ForeignKey(Contract, on_delete=OnDelete.cascade, index=True)
    description = Varchar(length=300)
    amount = Numeric(digits=(14, 2))
    charged_on = Date()
    certificate_number = Varchar(length=50, default="")


class Visit(Table, tablename="ledger_visit"):
    """客户拜访 (§5.7.4 / 5.3.4): who visited, whom, the inspection situation and the feedback."""

    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True)
    visited_on = Date()
    visitor = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    contact = Varchar(length=100, default="")
    inspection_notes = Text(default="")
    feedback = Text(default="")


class StationStaff(Table, tablename="ledger_station_staff"):
    """A gas station's 站长 / 计量员 with their metrology qualification (T/ZBMS 005 §4.5)."""

    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=100)
    role = Varchar(length=20)  # 站长 | 计量员
    qualification_no = Varchar(length=100, default="")
    valid_until = Date(null=True, default=None)


class SelfCheck(Table, tablename="ledger_self_check"):
    """A dispenser's monthly self-check (T/ZBMS 005 §4.4), filled with the gas_station_self_check form."""

    instrument = ForeignKey(LedgerInstrument, on_delete=OnDelete.cascade, index=True)
    month = Varchar(length=7, index=True)  # YYYY-MM
    form_key = Varchar(length=100, default="gas_station_self_check")
    data = JSON(default={})
    conclusion = Varchar(length=20, default="")
    filled_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class Application(Table, tablename="ledger_demo_application"):
    """诚信计量示范单位申请书 (T/ZBMS 005 Appendix A): the last saved form data per customer."""

    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, unique=True)
    data = JSON(default={})
    updated_at = Timestamptz(default=TimestamptzNow())
