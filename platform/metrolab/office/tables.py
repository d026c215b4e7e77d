"""Tables of the office feature."""

from piccolo.columns import (
    JSON,
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
