"""The audit log table."""

from piccolo.columns import JSON, Integer, Text, Timestamptz, Varchar
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


class ChainEntry(Table, tablename="audit_chain_entry"):
    """One link of a tamper-evident chain (metrolab.audit.chain): the canonical form of one row
    (a certificate, a signature step, an audit event…) at one moment, keyed with the audit key kept
    outside the database and linked to the previous link of its chain. Never updated."""

    chain = Varchar(length=60)  # the chained table's name: certificate, workflow_transition…
    seq = Integer()  # 1, 2, 3… per chain, no gap (unique with chain: see the migration)
    object_id = Varchar(length=100)
    at = Varchar(length=40)  # UTC ISO time, as keyed
    payload = Text()  # canonical JSON of the row's sealed columns
    prev = Varchar(length=64, default="")  # mac of the link before ('' for the first)
    mac = Varchar(length=64)  # HMAC-SHA256(audit_key, chain, seq, object_id, at, payload, prev)
    key_id = Varchar(length=16, default="")  # which audit key sealed it (not the key)
