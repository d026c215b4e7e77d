"""Certificate templates as reviewed data (§5.8.15, §6.1): upload → submit → approve | return.

An upload is untrusted: ``lint_template`` refuses non-docx files, oversize files, zip bombs, Jinja
syntax errors (quoting the paragraph), sandbox escapes and variables the certificate data does not
provide — and nothing is stored. The reviewer re-enters the password to approve; nobody approves a
template they uploaded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio

from metrolab import storage
from metrolab.audit import chain
from metrolab.audit.log import record
from metrolab.certificates.services import in_range
from metrolab.certificates.tables import KINDS, CertificateTemplate, TemplateVersion
from metrolab.kernel.errors import Conflict, NotFound, Refused
from metrolab.paths import data_folder
from metrolab.web.errors import UserError

SHIPPED = [
    ("verification_certificate", "检定证书（附录 A）", "检定证书"),
    ("result_notice", "检定结果通知书", "检定结果通知书"),
]
STATUS_LABELS = {"draft": "草稿", "in_review": "待审核", "published": "已发布", "retired": "已停用"}


class TemplateRefused(UserError):
    """The upload was refused; ``problems`` are the 中文 messages shown to the author."""

    status_code = 400

    def __init__(self, problems: list[str]) -> None:
        super().__init__(detail="；".join(problems))
        self.problems = problems


def problem_text(problem: Any) -> str:
    place = f"（{problem.place}）" if getattr(problem, "place", "") else ""
    return f"{problem.message_zh}{place}"


async def kinds() -> tuple[str, ...]:
    """The document kinds a template may be made for: the certificates' own (检定证书, 检定结果通知书)
    and those other features declare through the ``template.kinds`` hook (报价单)."""
    from metrolab import hooks

    extra = [k for found in await hooks.gather("template.kinds") for k in found]
    return (*KINDS, *[k for k in extra if k not in KINDS])


async def contract_for(kind: str) -> Any:
    """The data contract of a document kind: ``PROVIDED_VARIABLES``, ``OPTIONAL_VARIABLES``,
    ``sample_context()`` and ``sample_images(ctx)`` — the certificate's, or another feature's
    (``template.contract`` hook) for its own kind."""
    from metrolab import hooks
    from metrolab.certificates import contract

    if kind in KINDS:
        return contract
    found = await hooks.first("template.contract", kind)
    if found is None:
        raise Conflict(f"未知的文书类型“{kind}”")
    return found


def check_upload(data: bytes, provider: Any = None) -> list[str]:
    """中文 problems of an uploaded template (against ``provider``'s contract, the certificate's
    by default); empty when it may be stored."""
    from metrolab.certificates import contract
    from metrolab.engine.documents.lint import lint_template

    provider = provider or contract
    if not data:
        return ["请选择要上传的 .docx 文件"]
    return [
        problem_text(p)
        for p in lint_template(
            data, provider.PROVIDED_VARIABLES, optional=provider.OPTIONAL_VARIABLES
        )
    ]


async def templates() -> list[dict[str, Any]]:
    rows = await CertificateTemplate.select().order_by(CertificateTemplate.key)
    for row in rows:
        row["versions"] = await versions(row["id"])
        row["published"] = next((v for v in row["versions"] if v["status"] == "published"), None)
    return rows


async def get_template(template_id: int) -> dict[str, Any]:
    if not in_range(template_id):
        raise NotFound("证书模板不存在")
    row = await CertificateTemplate.select().where(CertificateTemplate.id == template_id).first()
    if row is None:
        raise UserError(status_code=404, detail="证书模板不存在")
    return row


async def versions(template_id: int) -> list[dict[str, Any]]:
    return (
        await TemplateVersion.select(
            *TemplateVersion.all_columns(),
            TemplateVersion.author.full_name.as_alias("author_name"),
            TemplateVersion.reviewer.full_name.as_alias("reviewer_name"),
        )
        .where(TemplateVersion.template == template_id)
        .order_by(TemplateVersion.number, ascending=False)
        .output(load_json=True)
    )


async def get_version(version_id: int) -> dict[str, Any]:
    if not in_range(version_id):
        raise NotFound("模板版本不存在")
    row = (
        await TemplateVersion.select(
            *TemplateVersion.all_columns(),
            TemplateVersion.template.key.as_alias("template_key"),
            TemplateVersion.template.name.as_alias("template_name"),
            TemplateVersion.template.kind.as_alias("template_kind"),
            TemplateVersion.author.full_name.as_alias("author_name"),
        )
        .where(TemplateVersion.id == version_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise UserError(status_code=404, detail="模板版本不存在")
    return row


async def upload(
    data: bytes,
    filename: str,
    user: Any,
    *,
    template_id: int | None = None,
    key: str = "",
    name: str = "",
    kind: str = "",
) -> dict[str, Any]:
    """A new draft version (of ``template_id``, or of a new template ``key``/``name``/``kind``)."""
    if template_id is None:
        key, name = key.strip(), name.strip()
        problems = []
        if not key or not key.replace("_", "").isalnum() or not key.isascii():
            problems.append("模板代码只能由字母、数字和下划线组成")
        if not name:
            problems.append("请填写模板名称")
        known = await kinds()
        if kind not in known:
            problems.append(f"请选择文书类型（{' / '.join(known)}）")
        if key and await CertificateTemplate.exists().where(CertificateTemplate.key == key):
            problems.append(f"模板代码 {key} 已存在")
        if problems:
            raise TemplateRefused(problems)
    if template_id is not None:
        kind = (await get_template(template_id))["kind"]
    provider = await contract_for(kind)
    problems = await anyio.to_thread.run_sync(check_upload, data, provider)
    if problems:
        raise TemplateRefused(problems)
    digest = await anyio.to_thread.run_sync(storage.put, data)
    if template_id is None:
        tpl = CertificateTemplate(key=key, name=name, kind=kind)
        await tpl.save()
        template_id = tpl.id
    else:
        await get_template(template_id)
    last = (
        await TemplateVersion.select(TemplateVersion.number)
        .where(TemplateVersion.template == template_id)
        .order_by(TemplateVersion.number, ascending=False)
        .first()
    )
    version = TemplateVersion(
        template=template_id,
        number=(last["number"] + 1) if last else 1,
        status="draft",
        docx_sha256=digest,
        filename=filename[:255],
        author=getattr(user, "id", None),
    )
    await version.save()
    await record(
        "certificate_template.uploaded",
        actor=user,
        target_type="certificate_template_version",
        target_id=version.id,
        details={"template": template_id, "number": version.number, "sha256": digest},
    )
    return await get_version(version.id)


# ── review (§5.8.15, §6.1) on the workflow engine: seed_data/workflows/certificate_template_version.json ─

TEMPLATE_WF = "certificate_template_version"


async def _act(
    version: dict[str, Any],
    action: str,
    user: Any,
    *,
    reason: str | None = None,
    password: str | None = None,
    changes: dict[Any, Any] | None = None,
) -> None:
    from metrolab.workflows.services import apply

    await apply(
        TemplateVersion,
        version["id"],
        TEMPLATE_WF,
        action,
        user,
        context={"author": version["author"], "submitter": version["author"], "actor": user.id},
        reason=reason,
        password=password,
        changes=changes,
        signature_into=TemplateVersion.approval_signature,
        signed_content={
            "template": version["template_key"],
            "number": version["number"],
            "docx_sha256": version["docx_sha256"],
        },
    )


async def submit(version_id: int, user: Any) -> None:
    version = await get_version(version_id)
    if version["status"] != "draft":
        raise Conflict("只有草稿可以提交审核")
    await _act(version, "submit", user, changes={TemplateVersion.submitted_at: datetime.now(UTC)})


async def approve(version_id: int, user: Any, password: str) -> None:
    """批准发布 with the reviewer's signature (the workflow re-asks the password; the rule
    reviewer_not_author refuses the author); the effect retires the previously published version."""
    version = await get_version(version_id)
    if version["status"] != "in_review":
        raise Conflict("只有待审核的模板可以批准")
    await _act(
        version,
        "approve",
        user,
        password=password,
        changes={
            TemplateVersion.reviewer: user.id,
            TemplateVersion.review_reason: "",
            TemplateVersion.published_at: datetime.now(UTC),
        },
    )


async def retire_previous(call: Any) -> None:
    """Effect ``retire_previous_template_version``: one published version per template."""
    row = (
        await TemplateVersion.select(TemplateVersion.template)
        .where(TemplateVersion.id == call.object_id)
        .first()
    )
    assert row is not None  # the version the workflow just moved
    retired = (
        await TemplateVersion.update(
            {
                TemplateVersion.status: "retired",
                TemplateVersion.lock_version: TemplateVersion.lock_version + 1,
            }
        )
        .where(
            (TemplateVersion.template == row["template"])
            & (TemplateVersion.status == "published")
            & (TemplateVersion.id != call.object_id)
        )
        .returning(TemplateVersion.id)
    )
    await chain.seal("certificate_template_version", *[r["id"] for r in retired])


async def return_version(version_id: int, user: Any, reason: str) -> None:
    """退回 to the author with a required reason; the version becomes a draft again."""
    reason = (reason or "").strip()
    if not reason:
        raise Refused("退回必须填写原因")
    version = await get_version(version_id)
    if version["status"] != "in_review":
        raise Conflict("只有待审核的模板可以退回")
    await _act(
        version,
        "return",
        user,
        reason=reason,
        changes={TemplateVersion.reviewer: user.id, TemplateVersion.review_reason: reason},
    )


async def published_templates() -> dict[str, dict[str, Any]]:
    """Every template by key: key, name, kind, id and ``number`` of its published version (None
    when it has none) — what an instrument type may name and what its pages show."""
    out = {
        r["key"]: {**r, "number": None}
        for r in await CertificateTemplate.select(
            CertificateTemplate.id,
            CertificateTemplate.key,
            CertificateTemplate.name,
            CertificateTemplate.kind,
        )
    }
    rows = await TemplateVersion.select(
        TemplateVersion.number, TemplateVersion.template.key.as_alias("key")
    ).where(TemplateVersion.status == "published")
    for row in rows:
        found = out[row["key"]]
        found["number"] = max(found["number"] or 0, row["number"])
    return out


async def types_using(key: str, kind: str) -> list[dict[str, Any]]:
    """Instrument types whose certificates of ``kind`` are printed with template ``key``: those naming
    it, and — for a shipped template — those naming none (they use the shipped one)."""
    from metrolab.indicators.services import types_naming_template

    if kind not in KINDS:
        return []  # another feature's document (报价单): no instrument type names it
    shipped = next((k for k, _name, kd in SHIPPED if kd == kind), "")
    return await types_naming_template(key, kind, default=key == shipped)


async def retire(version_id: int, user: Any) -> None:
    """停用 a published version. The last published version of a template an instrument type uses
    is refused, naming the types: issuing for them would stop (a type never falls back to another
    layout), so the type is re-pointed first."""
    version = await get_version(version_id)
    if version["status"] != "published":
        raise UserError(status_code=409, detail="只有已发布的版本可以停用")
    others = await TemplateVersion.exists().where(
        (TemplateVersion.template == version["template"])
        & (TemplateVersion.status == "published")
        & (TemplateVersion.id != version_id)
    )
    kind = version["template_kind"]
    if kind not in KINDS and not await TemplateVersion.exists().where(
        (TemplateVersion.template.kind == kind)
        & (TemplateVersion.status == "published")
        & (TemplateVersion.id != version_id)
    ):
        raise UserError(
            status_code=409,
            detail=f"不能停用：这是唯一已发布的{kind}模板版本，停用后{kind}无法打印。请先发布另一版本。",
        )
    users = [] if others else await types_using(version["template_key"], kind)
    if users:
        names = "、".join(f"{t['name_zh']}（{t['code']}）" for t in users)
        raise UserError(
            status_code=409,
            detail=f"不能停用：这是模板“{version['template_name']}”唯一已发布的版本，器具类型 {names} "
            f"出具{version['template_kind']}时使用它。请先在这些器具类型中改选其他已发布的模板，再停用。",
        )
    await _act(version, "retire", user)


async def preview_pdf(version_id: int) -> bytes:
    """The version rendered with the contract's sample data (and sample QR / signatures)."""
    from metrolab.certificates.services import to_pdf
    from metrolab.engine.documents.problems import TemplateProblem
    from metrolab.engine.documents.render import render_docx

    version = await get_version(version_id)
    kind = version["template_kind"]
    provider = await contract_for(kind)
    if kind in KINDS:
        ctx = provider.sample_context("notice" if kind == "检定结果通知书" else "certificate")
    else:
        ctx = provider.sample_context()
    template = storage.get(version["docx_sha256"])
    try:
        docx = await anyio.to_thread.run_sync(
            render_docx, template, ctx, provider.sample_images(ctx)
        )
    except TemplateProblem as exc:  # the sandbox or the time limit stopped it: the template's fault
        place = f"（{exc.place}）" if exc.place else ""
        raise Refused(
            f"模板无法用示例数据生成预览：{exc.message_zh}{place}。请修改模板后上传新版本",
            status_code=422,
        ) from exc
    return await anyio.to_thread.run_sync(to_pdf, docx)


async def docx_of(version_id: int) -> tuple[bytes, str]:
    """(the version's .docx, a file name naming template and version)."""
    version = await get_version(version_id)
    return (
        storage.get(version["docx_sha256"]),
        f"{version['template_key']}-v{version['number']}.docx",
    )


async def seed_templates() -> int:
    """The shipped .docx as published version 1 (signed by "system", 随产品发布)."""
    n = 0
    for key, name, kind in SHIPPED:
        n += await seed_shipped(key, name, kind)
    return n


async def seed_shipped(key: str, name: str, kind: str) -> int:
    """One shipped template ``certificate_templates/<key>.docx`` as published version 1, unless a
    template ``key`` exists (another feature seeds its own kind's template with this)."""
    if await CertificateTemplate.exists().where(CertificateTemplate.key == key):
        return 0
    data = (data_folder("certificate_templates") / f"{key}.docx").read_bytes()
    digest = storage.put(data)
    tpl = CertificateTemplate(key=key, name=name, kind=kind)
    await tpl.save()
    now = datetime.now(UTC)
    await TemplateVersion.insert(
        TemplateVersion(
            template=tpl.id,
            number=1,
            status="published",
            docx_sha256=digest,
            filename=f"{key}.docx",
            published_at=now,
            approval_signature={
                "signer": "system",
                "meaning": "随产品发布",
                "at": now.isoformat(),
                "sha256": digest,
            },
        )
    )
    return 1
