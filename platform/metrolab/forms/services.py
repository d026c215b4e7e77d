"""Versioned form definitions (§5.1, §6.1): draft → in review → published → retired.

A published version never changes (the services refuse; a database trigger refuses too). Only
published versions may be used for records and entrustments (:func:`published_version`).
Versions are returned as plain dicts (``form_key`` joined in, JSON loaded).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from piccolo.query.methods.count import Count
from piccolo.query.methods.select import Select

from metrolab.audit import chain
from metrolab.audit.log import record
from metrolab.engine.forms import (
    Change,
    DefinitionInvalid,
    derive_schema,
    diff_definitions,
    load_definition,
    validate_for_publish,
)
from metrolab.engine.forms.model import parse_json
from metrolab.forms import catalogue as indicators
from metrolab.forms.tables import FormDefinition, FormVersion
from metrolab.kernel.clock import local
from metrolab.kernel.errors import Conflict, NotFound, Refused
from metrolab.kernel.text import actor_id

log = logging.getLogger("metrolab.forms")
SYSTEM_SIGNATURE = {
    "signer_id": None,
    "signer": "system",
    "meaning": "随产品发布",
}  # the workflow signature shape
KINDS = ("record", "entrustment", "self_check", "other")


class EditConflict(Refused):
    """Someone saved the draft since it was opened (optimistic locking)."""

    status_code = 409


class DefinitionRefused(Refused):
    """A definition that does not load or cannot be published; ``extra`` lists every problem."""

    status_code = 400


def now() -> datetime:
    return datetime.now(UTC)


def canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256_of(value: Any) -> str:
    from metrolab.workflows.signatures import canonical_sha256

    return canonical_sha256(value)  # the same hash every signature uses


def _refuse(intro: str, exc: DefinitionInvalid) -> DefinitionRefused:
    problems = [{"place": p.place, "message": p.message_zh} for p in exc.problems]
    text = "；".join(
        f"{p['place']}：{p['message']}" if p["place"] else p["message"] for p in problems
    )
    return DefinitionRefused(detail=f"{intro}：{text}", extra=problems)


def parse_document(data: dict | str | bytes) -> dict[str, Any]:
    """The JSON document of a definition, shape-checked (load_definition); refused whole if bad."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DefinitionRefused(detail="文件不是 UTF-8 编码的 JSON") from exc
    try:
        defn = load_definition(data)
    except DefinitionInvalid as exc:
        raise _refuse("表单定义有误", exc) from exc
    raw = defn.raw
    if raw.get("kind", "record") not in KINDS:
        raise DefinitionRefused(detail=f"未知的表单类别 “{raw.get('kind')}”")
    return raw


def parse_draft(data: dict | str | bytes) -> dict[str, Any]:
    """A draft's JSON document, kept even when it does not load yet (a half-typed expression):
    only a JSON object with a key is required; its problems are listed by :func:`draft_problems`
    and submitting refuses it until they are fixed."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DefinitionRefused(detail="文件不是 UTF-8 编码的 JSON") from exc
    if isinstance(data, str):
        try:
            data = parse_json(data)
        except DefinitionInvalid as exc:
            raise _refuse("表单定义有误", exc) from exc
    if not isinstance(data, dict) or not isinstance(data.get("key"), str):
        raise DefinitionRefused(detail="表单定义应为含 key 的 JSON 对象")
    return data


async def draft_problems(raw: dict[str, Any]) -> list[dict[str, str]]:
    """What still stops a saved draft from being submitted, each with its place."""
    try:
        return await publish_problems(raw)
    except (TypeError, KeyError, AttributeError, ValueError) as exc:  # a shape not foreseen
        return [{"place": "（根）", "message": f"定义无法读取：{exc}"}]


_SELECT = (
    *FormVersion.all_columns(),
    FormVersion.form.key.as_alias("form_key"),
    FormVersion.form.catalogue.as_alias("catalogue"),
    FormVersion.author.full_name.as_alias("author_name"),
    FormVersion.updated_by.full_name.as_alias("updated_by_name"),
    FormVersion.submitted_by.full_name.as_alias("submitted_by_name"),
    FormVersion.reviewed_by.full_name.as_alias("reviewed_by_name"),
)


def _versions() -> Select:  # a Piccolo select with the joined names
    return FormVersion.select(*_SELECT).output(load_json=True)


async def get_version(version_id: int) -> dict[str, Any] | None:
    return await _versions().where(FormVersion.id == version_id).first()


async def _version_or_404(version_id: int) -> dict[str, Any]:
    version = await get_version(version_id)
    if version is None:
        raise NotFound("表单版本不存在")
    return version


async def versions_of(key: str) -> list[dict[str, Any]]:
    return (
        await _versions()
        .where(FormVersion.form.key == key)
        .order_by(FormVersion.number, ascending=False)
    )


async def published_version(key: str) -> dict[str, Any] | None:
    """The version business pages use: the one published version of ``key`` (or None)."""
    return (
        await _versions()
        .where((FormVersion.form.key == key) & (FormVersion.status == "published"))
        .first()
    )


async def get_definition(key: str) -> dict[str, Any] | None:
    return await FormDefinition.select().where(FormDefinition.key == key).first()


async def list_definitions() -> list[dict[str, Any]]:
    """Every form with its latest version and the statuses of its versions."""
    forms = await FormDefinition.select().order_by(FormDefinition.key)
    versions = await FormVersion.select(
        FormVersion.id, FormVersion.form, FormVersion.number, FormVersion.status, FormVersion.author
    ).order_by(FormVersion.number)
    by_form: dict[int, list[dict]] = {}
    for v in versions:
        by_form.setdefault(v["form"], []).append(v)
    for f in forms:
        vs = by_form.get(f["id"], [])
        f["versions"] = vs
        f["latest"] = vs[-1] if vs else None
        f["published"] = next((v["number"] for v in vs if v["status"] == "published"), None)
    return forms


def _definition_columns(raw: dict[str, Any]) -> dict[Any, Any]:
    found = raw.get("title")
    title: dict[str, Any] = found if isinstance(found, dict) else {}
    kind = raw.get("kind", "record")
    catalogue = raw.get("catalogue")

    def text(value: Any, size: int) -> str:  # a draft may still hold anything here
        return value[:size] if isinstance(value, str) else ""

    return {
        FormDefinition.kind: kind if kind in KINDS else "record",
        FormDefinition.title_zh: text(title.get("zh"), 200),
        FormDefinition.title_en: text(title.get("en"), 200) or text(title.get("zh"), 200),
        FormDefinition.catalogue: text(catalogue, 100),
    }


async def _next_number(form_id: int) -> int:
    last = (
        await FormVersion.select(FormVersion.number)
        .where(FormVersion.form == form_id)
        .order_by(FormVersion.number, ascending=False)
        .first()
    )
    return (last["number"] if last else 0) + 1


async def _insert_version(form_id: int, number: int, raw: dict, user: Any, **extra: Any) -> int:
    at = now()
    version = FormVersion(
        form=form_id,
        number=number,
        definition=raw,
        author=actor_id(user),
        updated_by=actor_id(user),
        created_at=at,
        updated_at=at,
        **extra,
    )
    await version.save()
    return version.id


async def create_definition(data: dict | str | bytes, user: Any) -> dict[str, Any]:
    """A new form from a definition document: version 1, a draft."""
    raw = parse_document(data)
    db = FormDefinition._meta.db
    async with db.transaction():
        if await FormDefinition.exists().where(FormDefinition.key == raw["key"]):
            raise Conflict(f"表单 “{raw['key']}” 已存在，请在该表单下新建草稿或导入新版本")
        form = FormDefinition(key=raw["key"], created_by=actor_id(user))
        await form.save()
        await FormDefinition.update(_definition_columns(raw)).where(FormDefinition.id == form.id)
        version_id = await _insert_version(form.id, 1, raw, user)
    return await _version_or_404(version_id)


async def import_definition(content: bytes | str, user: Any) -> dict[str, Any]:
    """Import a JSON file: a new form, or a new draft version of an existing one. A malformed
    file is refused whole and nothing is created."""
    raw = parse_document(content)
    form = await get_definition(raw["key"])
    if form is None:
        return await create_definition(raw, user)
    await _refuse_second_draft(form["id"])
    version_id = await _insert_version(form["id"], await _next_number(form["id"]), raw, user)
    return await _version_or_404(version_id)


async def _refuse_second_draft(form_id: int) -> None:
    open_ = (
        await FormVersion.select(FormVersion.number, FormVersion.status)
        .where((FormVersion.form == form_id) & FormVersion.status.is_in(["draft", "in_review"]))
        .first()
    )
    if open_:
        state = "草稿" if open_["status"] == "draft" else "审核中的版本"
        raise Conflict(f"该表单已有{state} v{open_['number']}，请先处理它")


async def new_draft(definition_key: str, user: Any) -> dict[str, Any]:
    """A new draft copied from the latest published version (else the latest version). If a draft
    is already open it is returned; a version in review must be approved or returned first."""
    form = await get_definition(definition_key)
    if form is None:
        raise NotFound(f"表单 “{definition_key}” 不存在")
    versions = await versions_of(definition_key)
    draft = next((v for v in versions if v["status"] == "draft"), None)
    if draft:
        return draft
    await _refuse_second_draft(form["id"])
    source = next(
        (v for v in versions if v["status"] == "published"), versions[0] if versions else None
    )
    raw = source["definition"] if source else {}
    version_id = await _insert_version(form["id"], await _next_number(form["id"]), raw, user)
    return await _version_or_404(version_id)


async def save_draft(
    version_id: int, definition: dict | str | bytes, expected_revision: int, user: Any
) -> int:
    """Save a draft, problems and all (see :func:`parse_draft`); returns the new revision. A stale
    ``expected_revision`` raises :class:`EditConflict` naming who saved it and when."""
    version = await _version_or_404(version_id)
    if version["status"] != "draft":
        raise Conflict(_not_editable(version))
    raw = parse_draft(definition)
    if raw["key"] != version["form_key"]:
        raise DefinitionRefused(detail=f"表单标识 key 不能修改（应为 “{version['form_key']}”）")
    rows = (
        await FormVersion.update(
            {
                FormVersion.definition: raw,
                FormVersion.revision: FormVersion.revision + 1,
                FormVersion.updated_by: actor_id(user),
                FormVersion.updated_at: now(),
            }
        )
        .where(
            (FormVersion.id == version_id)
            & (FormVersion.revision == expected_revision)
            & (FormVersion.status == "draft")
        )
        .returning(FormVersion.revision)
    )
    if not rows:
        current = await _version_or_404(version_id)
        if current["status"] != "draft":
            raise Conflict(_not_editable(current))
        at = local(current["updated_at"]).strftime("%Y-%m-%d %H:%M:%S")
        raise EditConflict(
            detail=f"该草稿已被 {current['updated_by_name'] or '其他人'} 于 {at} 修改，请刷新后再编辑",
            extra={"revision": current["revision"]},
        )
    await FormDefinition.update(_definition_columns(raw)).where(
        FormDefinition.id == version["form"]
    )
    return rows[0]["revision"]


def _not_editable(version: dict[str, Any]) -> str:
    if version["status"] in ("published", "retired"):
        return "已发布的表单版本不可修改，请新建草稿"
    return "审核中的表单版本不可修改，请等待审核或由审核员退回"


async def publish_problems(raw: dict[str, Any]) -> list[dict[str, str]]:
    """Everything that stops a definition from being published, each with its place."""
    cat = await indicators.get_catalogue(raw.get("catalogue") or "")
    if raw.get("catalogue") and cat is None:
        return [{"place": "catalogue", "message": f"器具类型 “{raw['catalogue']}” 不在指标库中"}]
    try:
        validate_for_publish(load_definition(raw, cat), cat)
    except DefinitionInvalid as exc:
        return [{"place": p.place, "message": p.message_zh} for p in exc.problems]
    return []


# ── review (§6.1) on the workflow engine: seed_data/workflows/form_version.json ─────────────────

FORM_WF = "form_version"


def _review_context(version: dict[str, Any], user: Any) -> dict[str, Any]:
    return {
        "author": version["author"],
        "submitter": version["submitted_by"],
        "actor": actor_id(user),
    }


async def _act(
    version: dict[str, Any],
    action: str,
    user: Any,
    *,
    reason: str | None = None,
    password: str | None = None,
    changes: dict[Any, Any] | None = None,
) -> Any:
    from metrolab.workflows.services import apply

    return await apply(
        FormVersion,
        version["id"],
        FORM_WF,
        action,
        user,
        context=_review_context(version, user),
        reason=reason,
        password=password,
        changes=changes,
        signature_into=FormVersion.approval_signature,
        signed_content=version["definition"],
    )  # the reviewer signs the document itself


MAX_NOTE = 2_000


async def submit_for_review(version_id: int, user: Any, note: str = "") -> dict[str, Any]:
    """提交审核 with a change note (what changed and why), shown to the reviewer beside the diff."""
    note = (note or "").strip()
    if not note:
        raise Refused("提交审核须填写变更说明")
    if len(note) > MAX_NOTE:
        raise Refused(f"变更说明不超过 {MAX_NOTE} 字")
    version = await _version_or_404(version_id)
    if version["status"] != "draft":
        raise Conflict("只有草稿可以提交审核")
    if problems := await draft_problems(version["definition"]):
        text = "；".join(f"{p['place']}：{p['message']}" for p in problems)
        raise DefinitionRefused(detail=f"表单定义不能发布，请先修改：{text}", extra=problems)
    await _act(
        version,
        "submit",
        user,
        changes={
            FormVersion.submitted_by: actor_id(user),
            FormVersion.submitted_at: now(),
            FormVersion.review_reason: "",
            FormVersion.change_note: note,
        },
    )
    return await _version_or_404(version_id)


async def approve(version_id: int, reviewer: Any, password: str) -> dict[str, Any]:
    """批准发布 with the reviewer's e-signature (the workflow re-asks the password); the previous
    published version is retired by the transition's effect."""
    version = await _version_or_404(version_id)
    if version["status"] != "in_review":
        raise Conflict("只有审核中的表单版本可以批准")
    raw = version["definition"]
    if problems := await draft_problems(raw):
        raise DefinitionRefused(
            detail="表单定义不能发布："
            + "；".join(f"{p['place']}：{p['message']}" for p in problems),
            extra=problems,
        )
    cat = await indicators.get_catalogue(raw.get("catalogue") or "")
    at = now()
    await _act(
        version,
        "approve",
        reviewer,
        password=password,
        changes={
            FormVersion.schema: derive_schema(load_definition(raw, cat), cat),
            FormVersion.reviewed_by: actor_id(reviewer),
            FormVersion.reviewed_at: at,
            FormVersion.published_at: at,
        },
    )
    return await _version_or_404(version_id)


async def retire_previous(call: Any) -> None:
    """Effect ``retire_previous_form_version``: one published version per form."""
    row = await FormVersion.select(FormVersion.form).where(FormVersion.id == call.object_id).first()
    assert row is not None  # the version being approved
    retired = (
        await FormVersion.update(
            {
                FormVersion.status: "retired",
                FormVersion.retired_at: now(),
                FormVersion.lock_version: FormVersion.lock_version + 1,
            }
        )
        .where(
            (FormVersion.form == row["form"])
            & (FormVersion.status == "published")
            & (FormVersion.id != call.object_id)
        )
        .returning(FormVersion.id)
    )
    await chain.seal("form_version", *[r["id"] for r in retired])


async def return_for_changes(version_id: int, reviewer: Any, reason: str) -> dict[str, Any]:
    reason = (reason or "").strip()
    if not reason:
        raise Refused("退回须填写原因")
    version = await _version_or_404(version_id)
    if version["status"] != "in_review":
        raise Conflict("只有审核中的表单版本可以退回")
    await _act(
        version,
        "return",
        reviewer,
        reason=reason,
        changes={
            FormVersion.review_reason: reason,
            FormVersion.reviewed_by: actor_id(reviewer),
            FormVersion.reviewed_at: now(),
        },
    )
    return await _version_or_404(version_id)


async def retire(version_id: int, user: Any) -> dict[str, Any]:
    version = await _version_or_404(version_id)
    if version["status"] != "published":
        raise Conflict("只有已发布的表单版本可以停用")
    await _act(version, "retire", user, changes={FormVersion.retired_at: now()})
    return await _version_or_404(version_id)


def diff(version_a: dict[str, Any], version_b: dict[str, Any]) -> list[Change]:
    """What changed from version_a to version_b (versions or bare definition documents)."""
    a = version_a.get("definition", version_a) if "format" not in version_a else version_a
    b = version_b.get("definition", version_b) if "format" not in version_b else version_b
    return diff_definitions(a, b)


async def previous_published(version: dict[str, Any]) -> dict[str, Any] | None:
    """The version to diff against: the published one (or the last retired one before it)."""
    rows = (
        await _versions()
        .where(
            (FormVersion.form == version["form"])
            & (FormVersion.id != version["id"])
            & FormVersion.status.is_in(["published", "retired"])
            & (FormVersion.number < version["number"])
        )
        .order_by(FormVersion.number, ascending=False)
    )
    published = [r for r in rows if r["status"] == "published"]
    found = published or rows
    return found[0] if found else None


def export_json(version: dict[str, Any]) -> bytes:
    return json.dumps(version["definition"], ensure_ascii=False, indent=2).encode("utf-8")


# ── counts for the home page ────────────────────────────────────────────────────────────────────


def count_in_review(exclude_author: int | None = None) -> Count:
    """A count query (await it, or let the home page batch it)."""
    query = FormVersion.count().where(FormVersion.status == "in_review")
    if exclude_author is not None:
        query = query.where(FormVersion.submitted_by != exclude_author)
    return query


def count_returned(author: int) -> Count:
    return FormVersion.count().where(
        (FormVersion.status == "draft")
        & (FormVersion.author == author)
        & (FormVersion.review_reason != "")
    )


# ── seeding ─────────────────────────────────────────────────────────────────────────────────────


async def seed_shipped_forms() -> int:
    """Every form_schemas/*.json as version 1, published (shipped forms are pre-approved product
    data). Idempotent: a key that exists is left alone."""
    from metrolab.paths import data_folder

    n = 0
    for path in sorted((data_folder("form_schemas")).glob("*.json")):
        try:
            raw = parse_document(path.read_bytes())
            if await FormDefinition.exists().where(FormDefinition.key == raw["key"]):
                continue
            cat = await indicators.get_catalogue(raw.get("catalogue") or "")
            schema = derive_schema(load_definition(raw, cat), cat)
        except (Refused, DefinitionInvalid) as exc:
            # tests/test_shipped_definitions.py fails on such a file; seeding goes on with the others
            log.warning("form_schemas/%s not seeded: %s", path.name, getattr(exc, "detail", exc))
            continue
        at = now()
        async with FormDefinition._meta.db.transaction():
            form = FormDefinition(key=raw["key"])
            await form.save()
            await FormDefinition.update(_definition_columns(raw)).where(
                FormDefinition.id == form.id
            )
            await _insert_version(
                form.id,
                1,
                raw,
                None,
                status="published",
                schema=schema,
                published_at=at,
                approval_signature=SYSTEM_SIGNATURE
                | {"at": at.isoformat(timespec="seconds"), "sha256": sha256_of(raw)},
            )
        n += 1
    return n


# ── the lifecycle actions as the pages and the API take them (with their audit rows) ──────────

MAX_IMPORT_BYTES = 2 * 1024 * 1024
_DONE = {
    "save": "saved",
    "submit": "submitted",
    "approve": "approved",
    "return": "returned",
    "retire": "retired",
}


async def import_recorded(content: bytes | str, user: Any) -> dict[str, Any]:
    """导入 a definition file (size-checked), audited."""
    if len(content) > MAX_IMPORT_BYTES:
        raise Refused("文件过大（表单定义不超过 2 MB）", status_code=413)
    version = await import_definition(content, user)
    await record(
        "form.imported",
        actor=user,
        target_type="form_version",
        target_id=version["id"],
        details={"key": version["form_key"], "number": version["number"]},
    )
    return version


async def open_draft(key: str, user: Any, event: str = "form.draft_created") -> dict[str, Any]:
    """新建草稿 (or the draft already open), audited; the designer names its own event."""
    version = await new_draft(key, user)
    await record(
        event,
        actor=user,
        target_type="form_version",
        target_id=version["id"],
        details={"key": key, "number": version["number"]},
    )
    return version


async def act(
    action: str,
    version_id: int,
    user: Any,
    *,
    definition: dict[str, Any] | str | bytes | None = None,
    revision: int = 0,
    password: str = "",
    reason: str = "",
    note: str = "",
) -> dict[str, Any]:
    """One lifecycle action on a version (save / submit / approve / return / retire), audited."""
    if action == "save":
        if definition is None:
            raise Refused("请提供表单定义 definition")
        await save_draft(version_id, definition, revision, user)
        version = await _version_or_404(version_id)
    elif action == "submit":
        version = await submit_for_review(version_id, user, note)
    elif action == "approve":
        version = await approve(version_id, user, password)
    elif action == "return":
        version = await return_for_changes(version_id, user, reason)
    elif action == "retire":
        version = await retire(version_id, user)
    else:  # pragma: no cover - callers only pass the names above
        raise NotFound("未知操作")
    await record(
        f"form.{_DONE[action]}",
        actor=user,
        target_type="form_version",
        target_id=version_id,
        details={
            "key": version["form_key"],
            "number": version["number"],
            **({"reason": version["review_reason"]} if action == "return" else {}),
            **({"note": version["change_note"]} if action == "submit" else {}),
        },
    )
    return version
