"""Tables of the business feature: 委托单 (§5.7.1), 检定任务 (§5.8.2), 发放 (§5.7.7–§5.7.9).

`Entrustment.status` / `lock_version` are driven by the `entrustment` workflow; a task's
certificate runs the `certificate` workflow on the certificates feature's table.
"""

from piccolo.columns import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from metrolab.accounts.tables import User
from metrolab.certificates.tables import Certificate
from metrolab.customers.tables import Customer
from metrolab.forms.tables import FormVersion
from metrolab.records.tables import OriginalRecord


class Entrustment(Table, tablename="entrustment"):
    """委托单: typed on the published 委托受理单 form version it is pinned to."""

    number = Varchar(length=30, unique=True)  # WT2026-00001
    customer = ForeignKey(Customer, on_delete=OnDelete.restrict)
    contact = Varchar(length=100, default="")
    phone = Varchar(length=50, default="")
    requested_date = Date(null=True, default=None)
    onsite = Boolean(default=False)
    form_version = ForeignKey(FormVersion, on_delete=OnDelete.restrict)
    data = JSON(default={})
    status = Varchar(length=30, default="registered", index=True)
    lock_version = Integer(default=1)
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    received_at = Timestamptz(null=True, default=None)
    received_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    received_count = Integer(default=0)


class VerificationTask(Table, tablename="verification_task"):
    """One instrument line of an entrustment: assigned, recorded, certified, released."""

    entrustment = ForeignKey(Entrustment, on_delete=OnDelete.cascade)
    line = Integer(default=1)
    instrument_type = Varchar(length=100, default="", index=True)
    name = Varchar(length=200, default="")
    model = Varchar(length=100, default="")
    serial = Varchar(length=100, default="", index=True)
    manufacturer = Varchar(length=200, default="")
    quantity = Integer(default=1)
    fee = Varchar(length=30, default="")  # from the ledger's price list when there is one
    department = Varchar(length=100, default="")
    assigned_to = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    record = ForeignKey(OriginalRecord, null=True, on_delete=OnDelete.set_null)
    certificate = ForeignKey(Certificate, null=True, on_delete=OnDelete.set_null)
    # registered → assigned → recording → certifying → released
    status = Varchar(length=20, default="registered", index=True)
    released_at = Timestamptz(null=True, default=None)


class Release(Table, tablename="business_release"):
    """发放 (§5.7.7–§5.7.9): what was handed over, when, how, and the customer's on-screen signature."""

    entrustment = ForeignKey(Entrustment, on_delete=OnDelete.cascade)
    mode = Varchar(length=30)  # certificate_and_instrument | instrument_only | certificate_only
    tasks = JSON(default=[])  # task ids
    certificates = JSON(default=[])  # certificate numbers
    collector = Varchar(length=100, default="")
    method = Varchar(
        length=30, default=""
    )  # 自取 / 代领 / 邮寄 / 电子发放 (business.release.METHODS)
    carrier = Varchar(length=50, default="")  # 邮寄: the courier
    tracking_no = Varchar(length=40, default="")  # 邮寄: its tracking number
    signature_sha256 = Varchar(length=64, default="")  # PNG in metrolab.storage
    remarks = Text(default="")
    by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    at = Timestamptz(default=TimestamptzNow())


class OnsiteOrder(Table, tablename="business_onsite_order"):
    """现场任务单 / 下厂单 (§5.7.5): who goes, when, by which vehicle, where, whom to meet."""

    entrustment = ForeignKey(Entrustment, on_delete=OnDelete.cascade)
    staff = JSON(default=[])  # user ids of the verifiers who go
    planned_date = Date()
    return_date = Date(null=True, default=None)
    vehicle = Varchar(length=20, default="")  # plate
    address = Varchar(length=300, default="")
    site_contact = Varchar(length=100, default="")
    site_phone = Varchar(length=50, default="")
    remarks = Text(default="")
    by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    at = Timestamptz(default=TimestamptzNow())


class StorageIn(Table, tablename="business_storage_in"):
    """入库 (§5.7.6): the instruments and the original records put away — where, by whom, how many."""

    entrustment = ForeignKey(Entrustment, on_delete=OnDelete.cascade)
    location = Varchar(length=100)
    receiver = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    pieces = Integer(default=0)  # 件数
    remarks = Text(default="")
    by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    at = Timestamptz(default=TimestamptzNow())


class ArchivedRecord(Table, tablename="business_archived_record"):
    """An original record archived with its instruments' 入库 (one row per record, never twice)."""

    record = ForeignKey(OriginalRecord, unique=True, on_delete=OnDelete.cascade)
    storage = ForeignKey(StorageIn, on_delete=OnDelete.cascade)
