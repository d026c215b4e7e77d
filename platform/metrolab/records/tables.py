"""Tables of the records feature: electronic original records and their append-only revisions (§6.2)."""

from piccolo.columns import JSON, Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from metrolab.accounts.tables import User
from metrolab.customers.tables import Customer
from metrolab.forms.tables import FormVersion


class OriginalRecord(Table, tablename="original_record"):
    """原始记录: filled under one pinned form version and always shown with it."""

    number = Varchar(length=40, unique=True)  # YS2026-000123
    instrument_type = Varchar(length=100, index=True)
    form_version = ForeignKey(FormVersion, on_delete=OnDelete.restrict)
    customer = ForeignKey(Customer, null=True, on_delete=OnDelete.restrict)
    instrument_name = Varchar(length=200, default="")
    serial = Varchar(length=100, default="", index=True)
    model = Varchar(length=100, default="")
    manufacturer = Varchar(length=200, default="")
    verified_on = Date(null=True, default=None)
    standards = JSON(default=[])  # standard codes
    environment = JSON(default={})
    data = JSON(default={})  # as typed + computed
    conclusion = Varchar(length=20, default="")
    status = Varchar(length=20, default="draft", index=True)  # draft | saved
    verifier = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    last_revision_hash = Varchar(length=64, default="")
    # The last autosave kept, as (the page that sent it, its sequence on that page): one page's saves
    # can arrive out of order (a field left, then the page left at once), and the older must not win.
    draft_page = Varchar(length=32, default="")
    draft_seq = Integer(default=0)


class RecordRevision(Table, tablename="record_revision"):
    """One save of a record (the first save, then every 划改): hash-chained, never updated."""

    record = ForeignKey(OriginalRecord, on_delete=OnDelete.cascade)
    seq = Integer()
    at = Timestamptz()
    by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    by_name = Varchar(length=150, default="")
    reason = Text(default="")
    changes = JSON(default=[])  # [{path, label_zh, old, new}]
    content_sha256 = Varchar(length=64, default="")  # the record's content after this revision
    prev_hash = Varchar(length=64, default="")
    hash = Varchar(length=64, default="")
