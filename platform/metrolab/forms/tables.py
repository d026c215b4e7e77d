"""Tables of the forms feature: a form definition and its numbered versions (§6.1)."""

from piccolo.columns import JSON, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from metrolab.accounts.tables import User

STATUSES = ("draft", "in_review", "published", "retired")


class FormDefinition(Table, tablename="form_definition"):
    """One form (委托受理单, 原始记录…) by its key; its content lives in versions."""

    key = Varchar(length=100, unique=True)
    kind = Varchar(length=30, default="record")
    title_zh = Varchar(length=200, default="")
    title_en = Varchar(length=200, default="")
    catalogue = Varchar(length=100, default="", index=True)  # instrument type code or ""
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class FormVersion(Table, tablename="form_version"):
    """Version N of a form. Published (and retired) versions never change: the services refuse
    it and a database trigger (see the migration) refuses an UPDATE of their content."""

    form = ForeignKey(FormDefinition, on_delete=OnDelete.cascade)  # the brief's "definition FK"
    number = Integer(default=1)
    status = Varchar(length=20, default="draft", index=True)
    definition = JSON(default={})  # the whole metrolab.form/1 document
    schema = JSON(default={})  # derive_schema at publish
    revision = Integer(default=1)  # optimistic-locking counter, +1 on every save
    lock_version = Integer(
        default=1
    )  # the review workflow's (seed_data/workflows/form_version.json)
    author = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    updated_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    submitted_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    submitted_at = Timestamptz(null=True, default=None)
    reviewed_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    reviewed_at = Timestamptz(null=True, default=None)
    review_reason = Text(default="")
    change_note = Text(default="")  # the author's 变更说明, given when submitting for review
    approval_signature = JSON(default={})
    published_at = Timestamptz(null=True, default=None)
    retired_at = Timestamptz(null=True, default=None)
