"""The audit log table."""

from piccolo.columns import JSON, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class AuditEvent(Table, tablename="audit_event"):
    """One thing a person (or the system) did: `customer.deleted`, `user.login_failed`…"""

    at = Timestamptz(default=TimestamptzNow(), index=True)
    actor_id = Integer(null=True, index=True)
    actor_name = Varchar(length=150, default="")
    action = Varchar(length=100, index=True)
    target_type = Varchar(length=100, default="")
    target_id = Varchar(length=100, default="", index=True)
    details = JSON(default={})
    ip = Varchar(length=64, default="")
