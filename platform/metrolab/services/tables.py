"""Tables of the services portal: 检定申请 a customer sends without signing in (§5.3)."""

from piccolo.columns import JSON, Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from metrolab.accounts.tables import User
from metrolab.business.tables import Entrustment


class ServiceApplication(Table, tablename="service_application"):
    """检定申请: submitted → accepted (an entrustment made from it) or declined (with a reason)."""

    number = Varchar(length=30, unique=True)  # SQ2026-00001
    unit = Varchar(length=200)
    contact = Varchar(length=100)
    phone = Varchar(length=50, index=True)
    instruments = JSON(default=[])  # [{"instrument_type": code, "quantity": n}]
    wished_date = Date(null=True, default=None)
    remarks = Text(default="")
    status = Varchar(length=20, default="submitted", index=True)
    decline_reason = Text(default="")
    entrustment = ForeignKey(Entrustment, null=True, on_delete=OnDelete.set_null)
    ip = Varchar(length=64, default="", index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    handled_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    handled_at = Timestamptz(null=True, default=None)


class PublishedDocument(Table, tablename="service_document"):
    """资料下载: a file the admin publishes on the portal (the bytes in metrolab.storage)."""

    title = Varchar(length=200)
    category = Varchar(length=50, default="")
    filename = Varchar(length=200)
    media_type = Varchar(length=100)
    size = Integer(default=0)
    sha256 = Varchar(length=64)
    published_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    published_at = Timestamptz(default=TimestamptzNow())
    withdrawn_at = Timestamptz(null=True, default=None)
