"""Tables of the workflows feature."""

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


class WorkflowVersion(Table, tablename="workflow_version"):
    """A stored workflow definition. A definition's content never changes once stored: a changed file
    becomes a new version, and objects record which version moved them."""

    key = Varchar(length=100, index=True)
    version = Integer()
    definition = JSON()
    sha256 = Varchar(length=64)
    active = Boolean(default=True)
    loaded_at = Timestamptz(default=TimestamptzNow())


class TransitionRecord(Table, tablename="workflow_transition"):
    """One step of one object through its workflow: who, when, from, to, why, and the signature."""

    workflow_key = Varchar(length=100)
    workflow_version = Integer()
    object_type = Varchar(length=100, index=True)
    object_id = Integer(index=True)
    action = Varchar(length=100)
    from_state = Varchar(length=100)
    to_state = Varchar(length=100)
    actor = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    actor_name = Varchar(length=150, default="")
    at = Timestamptz(default=TimestamptzNow())
    reason = Text(default="")
    signature = JSON(default={})


class DelayRequest(Table, tablename="delay_request"):
    """申请延时 (§5.8.10): a certificate or task that cannot be finished by its due date."""

    subject = Varchar(length=100, index=True)  # certificate number, record or task reference
    requester = ForeignKey(User, on_delete=OnDelete.restrict)
    due_date = Date()
    new_due_date = Date()
    reason = Text()
    status = Varchar(length=50, default="registered", index=True)
    lock_version = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
