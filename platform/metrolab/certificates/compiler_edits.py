"""What the compiler states on a certificate that its original record does not hold (DB1304/T 505
§7.1, Appendix A): 备注, the 送检单位地址 as printed and the 检定地点 of on-site work.

Everything else on a certificate — instrument, standards, environment, measured values, conclusion,
dates — is derived from the record (``workflow.derive_content``) and is changed only there. The edits
live in ``Certificate.compiler_edits`` and are applied by ``derive_content``, so they are part of the
content every signature hashes. Only the certificate's compiler or verifier may change them, and only
while it is 编制中.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from metrolab.audit.log import record as audit
from metrolab.certificates.tables import Certificate
from metrolab.kernel.errors import Conflict, NotFound, Refused
from metrolab.kernel.text import actor_id

MAX_ID = 2**31 - 1  # ids are 32-bit: a larger one is "not found", not a database error
EDITABLE_STATE = "compiling"
# The transitions that hand a compiled certificate on: their roles are the compiler roles.
COMPILE_ACTIONS = ("submit", "submit_initial_review")


@dataclass(frozen=True)
class EditField:
    label: str
    max_chars: int
    max_lines: int
    tab: str  # the page tab that edits it: "cover" | "results"
    help: str


FIELDS: dict[str, EditField] = {
    "customer_address": EditField(
        "送检单位地址",
        200,
        1,
        "cover",
        "证书模板印有送检单位地址时印此处所填；不填则用客户档案中的地址",
    ),
    "place": EditField(
        "检定地点", 200, 1, "cover", "现场检定时填写实际检定地点（印在备注第一行）；送检的不填"
    ),
    "remarks": EditField(
        "备注", 1000, 10, "results", "每行一条，印在检定结果下方；原始记录中的备注照印在前"
    ),
}
# Keys a client might try that belong to the record: refused with the way to change them.
FROM_RECORD = {
    "conclusion": "检定结论",
    "verified_on": "检定日期",
    "valid_until": "有效期至",
    "results": "检定结果",
    "measured": "实测值",
    "environment": "环境条件",
    "instrument": "器具信息",
    "standard_devices": "计量标准装置",
    "standard_instruments": "主要计量标准器",
    "customer": "送检单位",
    "kind": "证书类别",
}


def _bad_characters(text: str, multiline: bool) -> bool:
    allowed = "\n\t" if multiline else "\t"
    return any(ord(ch) < 32 and ch not in allowed for ch in text) or "\x7f" in text


def validate(values: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(clean values, {key: 中文 problem naming the field}); unknown keys are problems too."""
    clean: dict[str, str] = {}
    problems: dict[str, str] = {}
    if len(values) > 2 * len(FIELDS):
        return {}, {"_": f"一次最多提交 {len(FIELDS)} 项证书编辑"}
    for key, raw in values.items():
        key = str(key)
        spec = FIELDS.get(key)
        if spec is None:
            if key in FROM_RECORD:
                problems[key] = (
                    f"“{FROM_RECORD[key]}”来自原始记录，不能在证书上修改；"
                    "请点击“修改原始记录”更正后重新提交"
                )
            else:
                problems[key[:50]] = f"证书上没有可编辑的项目“{key[:50]}”"
            continue
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            problems[key] = f"“{spec.label}”应为文字"
            continue
        text = raw.replace("\r\n", "\n").replace("\r", "\n")
        multiline = spec.max_lines > 1
        if multiline:
            lines = [line.rstrip() for line in text.strip("\n").split("\n")]
            text = "\n".join(lines).strip()
        else:
            text = text.strip()
        if _bad_characters(text, multiline):
            problems[key] = (
                f"“{spec.label}”只能是一行文字"
                if "\n" in text and not multiline
                else f"“{spec.label}”含有不能打印的控制字符"
            )
        elif len(text) > spec.max_chars:
            problems[key] = f"“{spec.label}”最多 {spec.max_chars} 个字（现有 {len(text)} 个）"
        elif multiline and len([ln for ln in text.split("\n") if ln.strip()]) > spec.max_lines:
            problems[key] = f"“{spec.label}”最多 {spec.max_lines} 行"
        else:
            clean[key] = text
    return clean, problems


def remark_lines(edits: dict[str, Any]) -> list[str]:
    """The lines the edits add to the certificate's 备注 (检定地点 first)."""
    lines = [f"检定地点：{edits['place']}"] if edits.get("place") else []
    text = edits.get("remarks") or ""
    return lines + [line.strip() for line in str(text).splitlines() if line.strip()]


def apply_compiler_edits(ctx: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """The derived content with the compiler's statements in their places (a new dict)."""
    if not edits:
        return ctx
    out = copy.deepcopy(ctx)
    if edits.get("customer_address"):
        out["customer"] = {**(out.get("customer") or {}), "address": str(edits["customer_address"])}
    extra = remark_lines(edits)
    if extra:
        out["remarks"] = list(out.get("remarks") or []) + extra
    return out


# ── who may edit, and saving ───────────────────────────────────────────────────────────────────


async def compiler_roles() -> set[str]:
    from metrolab.workflows import services as wf

    defn, _v = await wf.definition("certificate")
    return {
        role
        for t in defn.transitions
        if t.key in COMPILE_ACTIONS and EDITABLE_STATE in t.sources
        for role in t.roles
    }


async def refusal(cert: dict[str, Any], user: Any) -> str | None:
    """Why this person may not edit this certificate now (None: they may)."""
    from metrolab.certificates.workflow import newer_revision
    from metrolab.workflows import services as wf

    if cert["status"] != EDITABLE_STATE or await newer_revision(cert["id"]):
        label = (await wf.state_labels("certificate")).get(cert["status"], "")
        return f"证书{label}，只有编制中的证书可以编辑；需要更正请走退回、追回或修改流程"
    roles = set(getattr(user, "roles", ()) or ())
    if not roles & await compiler_roles():
        return "只有证书的编制人或检定员可以编辑证书"
    people = {cert.get("created_by"), (cert.get("signers") or {}).get("verifier")}
    if actor_id(user) not in people - {None}:
        return "只有本证书的编制人或检定员可以编辑证书"
    return None


async def certificate(certificate_id: int) -> dict[str, Any]:
    from metrolab.certificates.services import get_certificate

    if not 0 < certificate_id <= MAX_ID:
        raise NotFound("证书不存在")
    return await get_certificate(certificate_id)


async def save(
    certificate_id: int, user: Any, values: dict[str, Any], *, replace: bool
) -> dict[str, str]:
    """Store the compiler's edits: ``replace`` (API PUT) sets them all, else only the keys given
    (one tab's form). 409 when refused; 400 with a problem beside each field."""
    cert = await certificate(certificate_id)
    if why := await refusal(cert, user):
        raise Conflict(why)
    clean, problems = validate(values)
    if problems:
        raise Refused(
            "；".join(problems.values()),
            extra=[{"key": k, "message": v} for k, v in problems.items()],
        )
    old = {k: v for k, v in (cert.get("compiler_edits") or {}).items() if k in FIELDS}
    new = clean if replace else {**old, **clean}
    new = {k: v for k, v in new.items() if v}
    if new != old:
        await Certificate.update({Certificate.compiler_edits: new}).where(
            Certificate.id == certificate_id
        )
        await audit(
            "certificate.compiler_edits",
            actor=user,
            target_type="certificate",
            target_id=certificate_id,
            details={"old": old, "new": new},
        )
    return new


async def current_content(cert: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(content, problem): what the certificate says now — derived from the record while 编制中
    (the record may still change), else what was signed. ``problem``: why it could not be derived."""
    from metrolab.certificates.workflow import derive_content

    if cert["status"] == EDITABLE_STATE and cert.get("record"):
        try:
            return await derive_content(cert), ""
        except Refused as exc:
            return dict(cert.get("context") or {}), str(exc.detail)
    return dict(cert.get("context") or {}), ""
