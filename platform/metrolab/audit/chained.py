"""What the audit chains cover: one chain per table whose rows a lab must be able to trust, and which
of each row's columns are sealed. Data, read by metrolab.audit.chain; a chain's name is the table's
name, so an audit event's ``target_type`` names the chain of the row it changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from piccolo.table import Table


@dataclass(frozen=True)
class Chained:
    table_path: str  # "module:Class"
    label: str  # 中文, for the report
    columns: tuple[str, ...]  # sealed as they are
    digests: tuple[str, ...] = ()  # large JSON columns, sealed by their SHA-256
    append_only: bool = False  # a row never changes: one link per row
    open_states: tuple[str, ...] = ()  # states being edited freely (drafts): only the state sealed
    frozen_once: str = ""  # once this column is set in a link…
    frozen: tuple[str, ...] = ()  # …these never change in a later link of the row
    name_column: str = ""  # how a person names the row (a number)
    targets: dict[str, str] = field(default_factory=dict)  # other target_types → column

    @property
    def table(self) -> type[Table]:
        module, name = self.table_path.split(":")
        return getattr(import_module(module), name)

    @property
    def key(self) -> str:
        return self.table._meta.tablename

    def is_open(self, row: dict[str, Any]) -> bool:
        return bool(self.open_states) and row.get("status") in self.open_states


CHAINED = (
    Chained(
        "metrolab.certificates.tables:Certificate",
        "证书",
        columns=(
            "number",
            "kind",
            "status",
            "revision",
            "supersedes",
            "superseded_by",
            "record",
            "customer",
            "instrument_type",
            "signers",
            "template_version",
            "verified_on",
            "valid_until",
            "conclusion",
            "verify_token",
            "pdf_sha256",
            "issued_at",
            "recalled_at",
            "created_by",
        ),
        digests=("context",),
        frozen_once="pdf_sha256",
        frozen=(
            "number",
            "kind",
            "revision",
            "record",
            "signers",
            "verified_on",
            "valid_until",
            "conclusion",
            "verify_token",
            "pdf_sha256",
            "issued_at",
            "context",
        ),
        name_column="number",
        targets={"certificate_number": "number"},
    ),
    Chained(
        "metrolab.workflows.tables:TransitionRecord",
        "工作流流转与签名",
        columns=(
            "workflow_key",
            "workflow_version",
            "object_type",
            "object_id",
            "action",
            "from_state",
            "to_state",
            "actor",
            "actor_name",
            "at",
            "reason",
            "signature",
        ),
        append_only=True,
    ),
    Chained(
        "metrolab.records.tables:OriginalRecord",
        "原始记录",
        columns=(
            "number",
            "instrument_type",
            "form_version",
            "customer",
            "instrument_name",
            "serial",
            "model",
            "manufacturer",
            "verified_on",
            "standards",
            "conclusion",
            "status",
            "verifier",
            "last_revision_hash",
        ),
        digests=("data", "environment"),
        open_states=("draft",),
        name_column="number",
    ),
    Chained(
        "metrolab.records.tables:RecordRevision",
        "原始记录修订",
        columns=(
            "record",
            "seq",
            "at",
            "by",
            "by_name",
            "reason",
            "changes",
            "content_sha256",
            "prev_hash",
            "hash",
        ),
        append_only=True,
    ),
    Chained(
        "metrolab.forms.tables:FormVersion",
        "表单版本（审批）",
        columns=(
            "form",
            "number",
            "status",
            "author",
            "submitted_by",
            "reviewed_by",
            "approval_signature",
            "published_at",
            "retired_at",
        ),
        digests=("definition", "schema"),
        open_states=("draft",),
        frozen_once="published_at",
        frozen=("form", "number", "definition", "schema", "approval_signature", "published_at"),
    ),
    Chained(
        "metrolab.certificates.tables:TemplateVersion",
        "证书模板版本（审批）",
        columns=(
            "template",
            "number",
            "status",
            "docx_sha256",
            "author",
            "reviewer",
            "approval_signature",
            "published_at",
        ),
        open_states=("draft",),
        frozen_once="published_at",
        frozen=("template", "number", "docx_sha256", "approval_signature", "published_at"),
    ),
    Chained(
        "metrolab.audit.tables:AuditEvent",
        "审计日志",
        columns=(
            "at",
            "actor_id",
            "actor_name",
            "action",
            "target_type",
            "target_id",
            "details",
            "ip",
        ),
        append_only=True,
    ),
)


def chained() -> dict[str, Chained]:
    """{chain name: what it seals}, in report order."""
    return {c.key: c for c in CHAINED}
