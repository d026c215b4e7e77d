"""Tables of the certificates feature (DB1304/T 505 §5.4.5, §5.4.6, §5.8.11, §5.8.15, §7).

`Certificate` is the document the lab sells; the business workflow (compile → check → approve →
release) drives its `status` and calls `metrolab.certificates.services` to number and issue it.
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
from metrolab.customers.tables import Customer
from metrolab.records.tables import OriginalRecord

KINDS = ("检定证书", "检定结果通知书")
TEMPLATE_STATUSES = ("draft", "in_review", "published", "retired")


class CertificateTemplate(Table, tablename="certificate_template"):
    """证书模板 (§5.8.15): a named layout with reviewed .docx versions."""

    key = Varchar(length=100, unique=True)
    name = Varchar(length=200)
    kind = Varchar(length=20)  # 检定证书 | 检定结果通知书
    created_at = Timestamptz(default=TimestamptzNow())


class TemplateVersion(Table, tablename="certificate_template_version"):
    """One uploaded .docx; a published version never changes (draft → in_review → published → retired)."""

    template = ForeignKey(CertificateTemplate, on_delete=OnDelete.cascade)
    number = Integer()
    status = Varchar(length=20, default="draft", index=True)
    lock_version = Integer(default=1)  # the review workflow's (certificate_template_version.json)
    docx_sha256 = Varchar(length=64)  # in metrolab.storage
    filename = Varchar(length=255, default="")
    author = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    reviewer = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    review_reason = Text(default="")  # why it was returned
    approval_signature = JSON(default={})  # {signer, meaning, at, sha256}
    created_at = Timestamptz(default=TimestamptzNow())
    submitted_at = Timestamptz(null=True, default=None)
    published_at = Timestamptz(null=True, default=None)


class Certificate(Table, tablename="certificate"):
    """检定证书 / 检定结果通知书. `number`, `pdf_sha256` and `issued_at` are set together, once."""

    number = Varchar(length=50, null=True, default=None, unique=True)
    kind = Varchar(length=20, default="检定证书")
    # compiling, checking, approving, issued, printed, released, recalled, superseded, voided…
    status = Varchar(length=30, default="compiling", index=True)
    lock_version = Integer(default=1)  # optimistic locking: UPDATE … WHERE lock_version = n
    revision = Integer(default=1)
    supersedes: ForeignKey = ForeignKey("self", null=True, on_delete=OnDelete.set_null)
    superseded_by: ForeignKey = ForeignKey("self", null=True, on_delete=OnDelete.set_null)
    record = ForeignKey(OriginalRecord, null=True, on_delete=OnDelete.restrict)  # 原始记录
    instrument_type = Varchar(length=100, default="", index=True)
    customer = ForeignKey(Customer, null=True, on_delete=OnDelete.restrict)
    context = JSON(default={})  # the plain contract dict; frozen at issue
    signers = JSON(
        default={}
    )  # {"verifier": user_id, "checker": …, "approver": …}: signature images
    # The database also holds ``verifier``, generated from signers->'verifier' (the certificate's
    # 检定员, grouped by 统计分析); not declared here, since Piccolo would write it.
    template_version = ForeignKey(TemplateVersion, null=True, on_delete=OnDelete.restrict)
    # What the compiler states on the certificate that the record does not hold (§7.1: 备注, cover
    # fields); applied by derive_content, so it is part of what is signed (compiler_edits.py).
    compiler_edits = JSON(default={})
    verified_on = Date(null=True, default=None, index=True)  # statistics and queries by period
    valid_until = Date(null=True, default=None)  # None on a 检定结果通知书
    conclusion = Varchar(length=100, default="")
    verify_token = Varchar(length=200, null=True, default=None, unique=True)
    pdf_sha256 = Varchar(length=64, default="")
    # The lab's signature on that PDF, set with it: {pades, reason, location, signer, tsa, sm2: {…}}
    # (certificates/signing.py); {} on a certificate issued before signing existed.
    signature = JSON(default={})
    issued_at = Timestamptz(null=True, default=None)
    issue_error = Text(default="")  # the last failed issue attempt, for a person to retry
    printed_at = Timestamptz(null=True, default=None)  # first print (the state is `status`)
    recalled_at = Timestamptz(null=True, default=None)
    recall_reason = Text(default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class NumberCounter(Table, tablename="certificate_number_counter"):
    """The last sequence number used per year (row-locked by the upsert that increments it)."""

    year = Integer(unique=True)
    last_seq = Integer(default=0)


class CertificateNumber(Table, tablename="certificate_number"):
    """Every allocated number, once: no duplicate (unique) and no gap (seq from the counter)."""

    number = Varchar(length=50, unique=True)
    year = Integer(index=True)
    seq = Integer()
    certificate = ForeignKey(Certificate, null=True, on_delete=OnDelete.set_null)
    allocated_at = Timestamptz(default=TimestamptzNow())


class VoidedNumber(Table, tablename="certificate_voided_number"):
    """作废号: a number that will never be used again, and why."""

    number = Varchar(length=50, unique=True)
    reason = Text()
    by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    at = Timestamptz(default=TimestamptzNow())


class VerificationScan(Table, tablename="certificate_verification_scan"):
    """Every visit of a public verification page (QR scan, PDF check, number lookup)."""

    token = Varchar(length=300, default="")
    certificate = ForeignKey(Certificate, null=True, on_delete=OnDelete.set_null)
    at = Timestamptz(default=TimestamptzNow())
    ip = Varchar(length=64, default="")
    user_agent = Varchar(length=300, default="")
    result = Varchar(length=50, default="")


class PrintLog(Table, tablename="certificate_print_log"):
    """证书打印 (§5.8.11): who printed which certificate when; reprints are marked."""

    certificate = ForeignKey(Certificate, on_delete=OnDelete.cascade)
    by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    at = Timestamptz(default=TimestamptzNow())
    reprint = Boolean(default=False)
    reason = Text(default="")  # why it was printed again
