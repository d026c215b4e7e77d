"""Tables of the office feature."""

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

from metrolab.accounts.tables import Department, User


class WeeklyPlan(Table, tablename="weekly_plan"):
    """周工作计划 (§5.6.2): one person's plan for one week (its Monday), reviewed by the department head.
    Returned and resubmitted plans keep their steps in the workflow's transition records."""

    author = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    department = ForeignKey(Department, null=True, on_delete=OnDelete.set_null)
    week_start = Date(index=True)  # the Monday of the week
    items = JSON(default=[])  # [{content, planned, done, remarks}]
    head_comment = Text(default="")
    status = Varchar(length=50, default="draft", index=True)
    lock_version = Integer(default=0)
    submitted_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class IncomingDocument(Table, tablename="incoming_document"):
    """收文 (§5.6.4): registered, proposed (拟办), reviewed by a leader, circulated, handled, closed."""

    doc_no = Varchar(length=100, index=True)  # 来文编号
    sender = Varchar(length=200, index=True)  # 来文单位
    title = Varchar(length=200)
    received_on = Date(index=True)
    due_date = Date(null=True, default=None)  # 办理期限: overdue when passed and not closed
    scan_sha256 = Varchar(length=64, default="")
    scan_name = Varchar(length=200, default="")
    scan_type = Varchar(length=100, default="")
    registered_by = ForeignKey(User, on_delete=OnDelete.restrict)
    proposer = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    proposal = Text(default="")  # 拟办意见
    review_comment = Text(default="")
    assignee = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    result = Text(default="")  # 办理结果
    status = Varchar(length=50, default="registered", index=True)
    lock_version = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class DocumentReader(Table, tablename="incoming_document_reader"):
    """One named reader of a circulated document and when they signed it off (传阅签阅)."""

    document = ForeignKey(IncomingDocument, on_delete=OnDelete.cascade, index=True)
    reader = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    read_at = Timestamptz(null=True, default=None)
    note = Text(default="")


class Notice(Table, tablename="notice"):
    """消息公告 (§5.6.3): a draft until published to all / departments / roles; withdrawn hides it."""

    title = Varchar(length=200)
    body = Text(default="")  # plain text: paragraphs and "- " list lines, rendered escaped
    needs_action = Varchar(length=20, default="")  # "" | "acknowledge" (确认已读) | "done" (已办理)
    target_all = Boolean(default=False)
    target_departments = JSON(default=[])  # department ids
    target_roles = JSON(default=[])  # role keys
    attachments = JSON(default=[])  # [{sha256, name, type, size}]
    author = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    status = Varchar(length=20, default="draft", index=True)  # draft | published | withdrawn
    published_at = Timestamptz(null=True, default=None)
    withdrawn_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class NoticeRecipient(Table, tablename="notice_recipient"):
    """One targeted person of a published notice (resolved when published) and their receipts."""

    notice = ForeignKey(Notice, on_delete=OnDelete.cascade, index=True)
    person = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    read_at = Timestamptz(null=True, default=None)
    acknowledged_at = Timestamptz(null=True, default=None)
    done_at = Timestamptz(null=True, default=None)
