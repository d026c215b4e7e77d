"""Electronic original records (§6.2): filled under a pinned, published form version, validated and
computed by the form engine on the server, saved, then changed only with a reason.

Every save after the first draft appends a :class:`RecordRevision` (who, when, reason, field-level
old → new) whose hash chains to the previous one, and which also fixes the SHA-256 of the record's
content after the change — so `metrolab audit verify` detects an edited revision, a removed one and
a record changed behind the application's back.
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from piccolo.custom_types import Combinable
from piccolo.query.methods.count import Count

from metrolab.audit import chain
from metrolab.engine.forms import (
    FieldProblem,
    FormDefinition,
    compute,
    load_definition,
    validate_submission,
)
from metrolab.engine.forms.compute import ENV_LABELS
from metrolab.engine.forms.model import text_of
from metrolab.engine.forms.problems import full_label, problem
from metrolab.engine.forms.scopes import build
from metrolab.engine.forms.walk import visit
from metrolab.forms import catalogue as indicators
from metrolab.forms.services import published_version
from metrolab.kernel import listing
from metrolab.kernel.errors import Conflict, NotFound, Refused
from metrolab.kernel.matching import contains, number_contains
from metrolab.kernel.paging import Total
from metrolab.kernel.text import actor_id
from metrolab.records.tables import OriginalRecord, RecordRevision

# Header columns that mirror a top-level key of the form's data when the form has that key;
# otherwise the record page asks for them itself.
MIRRORED = {
    "serial": "serial",
    "model": "model",
    "manufacturer": "manufacturer",
    "verified_on": "verification_date",
    "standards": "standards",
    "environment": "environment",
}
PAGE_ASKS = (
    "customer",
)  # form keys the record page asks in its header (送检单位: the customer row)
# form keys a new record fills from who opens it: the signed-in verifier's name
FROM_VERIFIER = ("verifier_signature",)
HEADER_LABELS = {
    "customer": "送检单位",
    "instrument_name": "器具名称",
    "serial": "出厂编号",
    "model": "型号规格",
    "manufacturer": "制造单位",
    "verified_on": "检定日期",
    "standards": "计量标准器",
    "environment": "环境条件",
    "conclusion": "检定结论",
}
NUMBER_PREFIX = "YS"


def canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: Any) -> Any:
    """JSON-native copy (what the database gives back), so hashes computed now match later."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


# ── the pinned definition ──────────────────────────────────────────────────────────────────────


@dataclass
class Pinned:
    """A record's form version, loaded: the definition and its instrument type."""

    version_id: int
    number: int
    key: str
    defn: FormDefinition
    catalogue: dict[str, Any] | None
    fields: set[str] = field(default_factory=set)  # top-level data keys of the form


@lru_cache(maxsize=64)
def _load(
    version_id: int, raw_text: str, cat_text: str
) -> tuple[FormDefinition, dict[str, Any] | None]:
    # Published versions never change, so a loaded definition and its catalogue are kept per version
    # (and per catalogue content): the engine builds their scope tree once (scopes.per_definition).
    catalogue = json.loads(cat_text) if cat_text != "null" else None
    return load_definition(raw_text, catalogue), catalogue


async def pinned(version_id: int) -> Pinned:
    from metrolab.forms.services import get_version

    version = await get_version(version_id)
    if version is None:
        raise NotFound("表单版本不存在")
    raw = version["definition"]
    cat = await indicators.get_catalogue(raw.get("catalogue") or "")
    defn, catalogue = _load(version_id, canonical(raw), canonical(cat))
    root, _ = build(defn, catalogue)
    return Pinned(
        version_id, version["number"], version["form_key"], defn, catalogue, set(root.entries)
    )


# ── evaluation ─────────────────────────────────────────────────────────────────────────────────


@dataclass
class Evaluation:
    data: dict[str, Any]  # typed + computed
    conclusion: str | None
    items: list[Any]
    errors: list[FieldProblem]
    warnings: list[FieldProblem]
    field_problems: list[
        FieldProblem
    ]  # validation only: render_form adds the computing ones itself
    context: dict[str, Any]

    @property
    def problems(self) -> list[FieldProblem]:
        return self.errors + self.warnings


def verification_date(pin: Pinned, data: dict[str, Any], header: dict[str, Any]) -> date:
    text = (
        data.get("verification_date")
        if "verification_date" in pin.fields
        else header.get("verified_on")
    )
    try:
        return date.fromisoformat(str(text)) if text else date.today()
    except ValueError:
        return date.today()


async def context_for(pin: Pinned, on: date, compute_url: str | None = None) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "standards": await indicators.standards_for_picker(
            on, pin.catalogue.get("code") if pin.catalogue else None
        ),
        "today": on.isoformat(),
    }
    if compute_url:
        ctx["compute_url"] = compute_url
    asked = [key for key in PAGE_ASKS if key in pin.fields]
    if asked:  # the page's header asks these; the form's own copy follows it (asked once)
        ctx["asked_by_page"] = asked
    return ctx


async def _follow_header(
    pin: Pinned, data: dict[str, Any], header: dict[str, Any]
) -> dict[str, Any]:
    """The form's own 送检单位 is the name of the customer chosen in the page's header."""
    from metrolab.customers.tables import Customer

    cid = _customer_id(header)
    if "customer" not in pin.fields or not cid:
        return data
    row = await Customer.select(Customer.name).where(Customer.id == cid).first()
    return {**data, "customer": row["name"]} if row else data


async def _expired_standards(pin: Pinned, data: dict[str, Any], on: date) -> list[FieldProblem]:
    """An expired standard cannot be used, named: "标准器 … 已于 2025-01-01 过期"."""
    root, _ = build(pin.defn, pin.catalogue)
    out = []
    for v in visit(root, data):
        if v.entry.kind != "field" or v.entry.node.get("control") != "standard_picker":
            continue
        codes = [c for c in (v.value if isinstance(v.value, list) else [v.value]) if c]
        for std in await indicators.get_standards([str(c) for c in codes]):
            until = std.get("valid_until")
            until_d = (
                until if isinstance(until, date) else (date.fromisoformat(until) if until else None)
            )
            if until_d and until_d < on:
                name = std.get("name")
                name = text_of(name, "zh") if isinstance(name, dict) else (name or "")
                out.append(
                    problem(
                        v.path,
                        v.labels,
                        v.entry.node.get("label"),
                        f"标准器 {name}（{std['code']}）已于 {until_d.isoformat()} 过期",
                        f"standard {std['code']} expired on {until_d.isoformat()}",
                        code="expired",
                    )
                )
    return out


async def record_context(record_id: int | None) -> dict[str, Any]:
    """What other features know about a record that its form's rules may name (hook
    ``record.context``): e.g. ``received_on``, the receipt date of the entrustment it verifies."""
    from metrolab import hooks

    out: dict[str, Any] = {}
    if record_id:
        for answer in await hooks.gather("record.context", record_id):
            out.update(answer or {})
    return out


async def evaluate(
    pin: Pinned,
    data: dict[str, Any],
    header: dict[str, Any] | None = None,
    required: bool = True,
    record_id: int | None = None,
) -> Evaluation:
    """Validate and compute on the server. ``required=False`` (live computing while typing) leaves
    out "必填" for fields not filled in yet. ``record_id``: the record's context from other features
    (its entrustment's receipt date) for the form's rules."""
    header = header or {}
    data = await _follow_header(pin, data, header)
    on = verification_date(pin, data, header)
    ctx = {**await record_context(record_id), **await context_for(pin, on)}
    result = compute(pin.defn, data, pin.catalogue, ctx)  # once: validation reads the same result
    checked = [
        p
        for p in validate_submission(pin.defn, data, pin.catalogue, ctx, computed=result)
        if p.code != "expired"
    ]
    checked += await _expired_standards(pin, data, on)
    seen = {(p.path, p.message_zh) for p in checked}
    problems = checked + [p for p in result.problems if (p.path, p.message_zh) not in seen]
    if not required:
        checked = [p for p in checked if p.code != "required"]
        problems = [p for p in problems if p.code != "required"]
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity != "error"]
    return Evaluation(
        _plain(result.data), result.conclusion, result.items, errors, warnings, checked, ctx
    )


# ── records ────────────────────────────────────────────────────────────────────────────────────


_SELECT = (
    *OriginalRecord.all_columns(),
    OriginalRecord.customer.name.as_alias("customer_name"),
    OriginalRecord.verifier.full_name.as_alias("verifier_name"),
    OriginalRecord.form_version.number.as_alias("form_number"),
    OriginalRecord.form_version.form.key.as_alias("form_key"),  # type: ignore[union-attr]  # Piccolo: a join through two ForeignKeys is typed Column | Any
)


async def get_record(record_id: int) -> dict[str, Any] | None:
    return (
        await OriginalRecord.select(*_SELECT)
        .where(OriginalRecord.id == record_id)
        .output(load_json=True)
        .first()
    )


async def record_or_404(record_id: int) -> dict[str, Any]:
    rec = await get_record(record_id)
    if rec is None:
        raise NotFound("原始记录不存在")
    return rec


PER_PAGE = 50


async def search(
    q: str = "",
    status: str = "",
    verifier: int | None = None,
    *,
    page_no: int = 1,
    per_page: int = PER_PAGE,
) -> tuple[list[dict[str, Any]], Total]:
    """A page of 原始记录 (newest first) and the list's count. What is typed finds a record by its
    number, 出厂编号, model, instrument name or type, or the customer; at a million records the
    page costs what the newest records or the indexes answer (``kernel.listing``)."""
    columns = [
        OriginalRecord.id,
        OriginalRecord.number,
        OriginalRecord.instrument_type,
        OriginalRecord.instrument_name,
        OriginalRecord.serial,
        OriginalRecord.verified_on,
        OriginalRecord.conclusion,
        OriginalRecord.status,
        OriginalRecord.updated_at,
        OriginalRecord.customer.name.as_alias("customer_name"),
        OriginalRecord.verifier.full_name.as_alias("verifier_name"),
    ]
    where: list[Combinable] = []
    if status:
        where.append(OriginalRecord.status == status)
    if verifier is not None:
        where.append(listing.equals(OriginalRecord.verifier, int(verifier)))
    return await listing.newest_first(
        OriginalRecord, columns, where, await _found(q), page_no=page_no, per_page=per_page
    )


async def _found(text: str) -> listing.Found | None:
    """What was typed, on the record's own columns: the matching customers are named by id
    first, so that PostgreSQL combines the record's indexes (trigrams of the number, serial, model
    and name; the customer column) instead of joining every record to its customer."""
    from metrolab.customers.tables import Customer

    q = listing.searchable(text)
    if not q:
        return None
    arms: list[Combinable] = []
    if customers := await listing.ids_matching(Customer, contains(Customer.name, q)):
        arms.append(OriginalRecord.customer.is_in(customers))
    if types := await indicators.types_named(q):
        arms.append(OriginalRecord.instrument_type.is_in(types))
    own = [
        contains(column, q)
        for column in (OriginalRecord.serial, OriginalRecord.model, OriginalRecord.instrument_name)
    ]
    # Under three characters no trigram index can look it up: a count the newest records cannot
    # finish says "more than n" rather than read every record.
    return listing.Found(
        functools.reduce(operator.or_, [*arms, contains(OriginalRecord.number, q), *own]),
        functools.reduce(operator.or_, [*arms, number_contains(OriginalRecord.number, q), *own]),
        countable=len(q) >= listing.TRIGRAM,
    )


async def _next_number(year: int) -> str:
    """YS2026-000001…: the lab's series allocator (inside the caller's numbering transaction)."""
    from metrolab.lab.series import allocate

    return await allocate(
        "record",
        year,
        lambda seq: f"{NUMBER_PREFIX}{year}-{seq:06d}",
        lambda n: OriginalRecord.exists().where(OriginalRecord.number == n).run(),
    )


async def record_form_for(instrument_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(instrument type, published record form version) or a refusal in words."""
    cat = await indicators.get_catalogue(instrument_type)
    if cat is None:
        raise Refused(f"器具类型 “{instrument_type}” 不存在")
    key = cat.get("record_form") or f"{instrument_type}_record"
    version = await published_version(key)
    if version is None:
        raise Conflict("该器具类型的原始记录表单尚未发布")
    return cat, version


async def create_record(
    user: Any,
    *,
    customer_id: int | None,
    instrument_type: str,
    instrument_name: str = "",
    verified_on: date | None = None,
    nameplate: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A new draft record pinned to the published record form of the instrument type. ``nameplate``
    (serial, model, manufacturer — from the entrustment) fills the header and the form's own fields,
    so the verifier does not type them again."""
    from metrolab.customers.tables import Customer

    cat, version = await record_form_for(instrument_type)
    customer = (
        await Customer.select(Customer.id, Customer.name).where(Customer.id == customer_id).first()
        if customer_id
        else None
    )
    if customer is None:
        raise Refused("请选择送检单位")
    pin = await pinned(version["id"])
    on = verified_on or date.today()
    data: dict[str, Any] = {}
    if "customer" in pin.fields:
        data["customer"] = customer["name"]
    if "verification_date" in pin.fields:
        data["verification_date"] = on.isoformat()
    plate = {
        k: v for k, v in (nameplate or {}).items() if k in ("serial", "model", "manufacturer") and v
    }
    data.update({k: v for k, v in plate.items() if k in pin.fields})
    name = str(getattr(user, "full_name", "") or "")
    data.update({k: name for k in FROM_VERIFIER if k in pin.fields and name})
    from metrolab.lab.series import numbering_transaction

    async with numbering_transaction():  # concurrent records queue for the number, none fails
        number = await _next_number(on.year)
        rec = OriginalRecord(
            number=number,
            instrument_type=instrument_type,
            form_version=version["id"],
            customer=customer["id"],
            instrument_name=instrument_name or indicators.type_name(cat),
            verified_on=on,
            data=data,
            status="draft",
            verifier=actor_id(user),
            serial=plate.get("serial", ""),
            model=plate.get("model", ""),
            manufacturer=plate.get("manufacturer", ""),
        )
        await rec.save()
    return await record_or_404(rec.id)


def header_columns(pin: Pinned, data: dict[str, Any], header: dict[str, Any]) -> dict[str, Any]:
    """The record's header columns: from the form's data when it has the key, else the page's."""
    out: dict[str, Any] = {"instrument_name": str(header.get("instrument_name") or "").strip()}
    for column, key in MIRRORED.items():
        value = data.get(key) if key in pin.fields else header.get(column)
        if column == "verified_on":
            try:
                value = date.fromisoformat(str(value)) if value else None
            except ValueError:
                value = None
        elif column == "standards":
            value = [
                str(v) for v in (value if isinstance(value, list) else [value] if value else [])
            ]
        elif column == "environment":
            value = value if isinstance(value, dict) else {}
        else:
            value = str(value or "").strip()
        out[column] = value
    return out


def content_of(rec: dict[str, Any]) -> dict[str, Any]:
    """What a revision fixes with its content hash: every column a person can change."""
    verified_on = rec.get("verified_on")
    return _plain(
        {
            "customer": rec.get("customer"),
            "instrument_name": rec.get("instrument_name", ""),
            "serial": rec.get("serial", ""),
            "model": rec.get("model", ""),
            "manufacturer": rec.get("manufacturer", ""),
            "verified_on": verified_on.isoformat()
            if isinstance(verified_on, date)
            else verified_on,
            "standards": rec.get("standards") or [],
            "environment": rec.get("environment") or {},
            "data": rec.get("data") or {},
            "conclusion": rec.get("conclusion") or "",
            "form_version": rec.get("form_version"),
        }
    )


# ── field-level changes ─────────────────────────────────────────────────────────────────────────


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "、".join(_text(v) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def _typed_fields(pin: Pinned, data: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    """path → (label_zh, value, label_en) for every field a person fills in (computed values
    follow them)."""
    root, _ = build(pin.defn, pin.catalogue)
    out = {}
    for v in visit(root, data):
        if v.entry.kind == "field":
            zh, en = full_label(v.labels, v.entry.node.get("label"))
            out[v.path] = (zh, _text(v.value), en)
        elif v.entry.kind == "environment":
            values = v.value if isinstance(v.value, dict) else {}
            for name, (label, _unit) in ENV_LABELS.items():
                if name in values or name in (v.entry.node.get("fields") or []):
                    zh, en = full_label(v.labels, label)
                    out[f"{v.path}.{name}"] = (zh, _text(values.get(name)), en)
    return out


async def changes_between(
    pin: Pinned, old: dict[str, Any], new: dict[str, Any], english: bool = False
) -> list[dict[str, str]]:
    """[{path, label_zh, old, new}] between two record contents (header + typed fields + conclusion).
    ``english`` adds the form's own English label (``label_en``) to a typed field's change, for a
    page in English; a revision keeps only what it always kept (its hash covers the changes)."""
    from metrolab.customers.tables import Customer

    changes = []
    for column in (
        "customer",
        "instrument_name",
        *[c for c, k in MIRRORED.items() if k not in pin.fields],
    ):
        a, b = old.get(column), new.get(column)
        if column == "customer" and a != b:
            names = {
                r["id"]: r["name"]
                for r in await Customer.select(Customer.id, Customer.name).where(
                    Customer.id.is_in([x for x in (a, b) if x is not None] or [-1])
                )
            }
            a, b = names.get(a, a), names.get(b, b)
        if _text(a) != _text(b):
            changes.append(
                {
                    "path": column,
                    "label_zh": HEADER_LABELS[column],
                    "old": _text(a),
                    "new": _text(b),
                }
            )
    before, after = (
        _typed_fields(pin, old.get("data") or {}),
        _typed_fields(pin, new.get("data") or {}),
    )
    for path in list(before) + [p for p in after if p not in before]:
        a, b = before.get(path, ("", ""))[1], after.get(path, ("", ""))[1]
        if a != b:
            labels = after[path] if path in after else before[path]
            change = {"path": path, "label_zh": labels[0], "old": a, "new": b}
            if english and labels[2]:
                change["label_en"] = labels[2]
            changes.append(change)
    if (old.get("conclusion") or "") != (new.get("conclusion") or ""):
        changes.append(
            {
                "path": "conclusion",
                "label_zh": "检定结论",
                "old": old.get("conclusion") or "",
                "new": new.get("conclusion") or "",
            }
        )
    return changes


# ── saving ─────────────────────────────────────────────────────────────────────────────────────


@dataclass
class SaveOutcome:
    saved: bool
    record: dict[str, Any]
    evaluation: Evaluation | None = None
    header_errors: dict[str, str] = field(default_factory=dict)
    revision: dict[str, Any] | None = None

    @property
    def problems(self) -> list[FieldProblem]:
        return self.evaluation.problems if self.evaluation else []


def _header_errors(header: dict[str, Any], cols: dict[str, Any], pin: Pinned) -> dict[str, str]:
    errors = {}
    if not header.get("customer"):
        errors["customer"] = "请选择送检单位"
    if (
        "verification_date" not in pin.fields
        and header.get("verified_on")
        and cols["verified_on"] is None
    ):
        errors["verified_on"] = "日期格式应为 YYYY-MM-DD"
    return errors


def _customer_id(header: dict[str, Any]) -> int | None:
    try:
        return int(header.get("customer") or 0) or None
    except (TypeError, ValueError):
        return None


async def autosave(
    record_id: int,
    header: dict[str, Any],
    data: dict[str, Any],
    user: Any,  # noqa: ARG001
    mark: tuple[str, int] | None = None,
) -> dict[str, Any]:
    """Keep a draft as typed (no validation: nothing typed is lost). Saved records need a reason.
    `mark` is (the page that sent it, its sequence there): a save older than the last one kept
    from the same page is dropped, since that page's newer save already holds all it had."""
    rec = await record_or_404(record_id)
    if rec["status"] != "draft":
        raise Conflict("记录已保存，修改须填写修改原因后点击“保存”")
    pin = await pinned(rec["form_version"])
    evaluation = await evaluate(pin, data, header, required=False, record_id=record_id)
    cols = header_columns(pin, evaluation.data, header)
    values = {
        OriginalRecord.data: evaluation.data,
        OriginalRecord.conclusion: evaluation.conclusion or "",
        OriginalRecord.updated_at: datetime.now(UTC),
        **{getattr(OriginalRecord, k): v for k, v in cols.items()},
    }
    if cid := _customer_id(header):
        values[OriginalRecord.customer] = cid
    where = (OriginalRecord.id == record_id) & (OriginalRecord.status == "draft")
    page, seq = mark or ("", 0)
    values[OriginalRecord.draft_page], values[OriginalRecord.draft_seq] = page, seq
    if page:
        where &= (OriginalRecord.draft_page != page) | (OriginalRecord.draft_seq < seq)
    await OriginalRecord.update(values).where(where)
    return await record_or_404(record_id)


async def saved_meanwhile(
    rec: dict[str, Any], pin: Pinned, header: dict[str, Any], data: dict[str, Any]
) -> list[dict[str, str]]:
    """Two versions side by side when someone saved the record after this form was opened:
    [{path, label_zh, old: theirs (saved), new: yours (typed)}] — what the typed form would change."""
    evaluation = await evaluate(pin, data, header, required=False, record_id=rec["id"])
    new = {
        **rec,
        **header_columns(pin, evaluation.data, header),
        "customer": _customer_id(header),
        "data": evaluation.data,
        "conclusion": evaluation.conclusion or "",
    }
    return await changes_between(pin, content_of(rec), content_of(new), english=True)


async def locked_by(record_id: int) -> dict[str, str] | None:
    """Why the record is read-only now (a certificate made from it is in check, approval or issued),
    with a link to the procedure that reopens it; None while it may be edited."""
    from metrolab import hooks

    return await hooks.first("record.locked_by", record_id)


def revision_hash(
    record_id: int,
    seq: int,
    at: datetime | str,
    by: int | None,
    reason: str,
    changes: list[dict[str, Any]],
    content_sha256: str,
    prev_hash: str,
) -> str:
    at_text = at if isinstance(at, str) else at.astimezone(UTC).isoformat(timespec="microseconds")
    return sha256_text(
        canonical(
            {
                "record": record_id,
                "seq": seq,
                "at": at_text,
                "by": by,
                "reason": reason,
                "changes": changes,
                "content_sha256": content_sha256,
                "prev_hash": prev_hash,
            }
        )
    )


async def save(
    record_id: int,
    header: dict[str, Any],
    data: dict[str, Any],
    user: Any,
    reason: str = "",
    evaluation: Evaluation | None = None,
) -> SaveOutcome:
    """ "保存": validate and compute (or take ``evaluation`` from :func:`evaluate` on the same
    data); the first save makes the record `saved`, every later change needs a reason and appends
    a hash-chained revision. Refusals keep what was typed."""
    from metrolab.accounts.tables import User

    rec = await record_or_404(record_id)
    if lock := await locked_by(record_id):
        raise Conflict(lock["message"])
    pin = await pinned(rec["form_version"])
    evaluation = evaluation or await evaluate(pin, data, header, record_id=record_id)
    cols = header_columns(pin, evaluation.data, header)
    header_errors = _header_errors(header, cols, pin)
    if evaluation.errors or header_errors:
        if rec["status"] == "draft":  # keep the draft as typed
            await autosave(record_id, header, data, user)
        return SaveOutcome(False, rec, evaluation, header_errors)
    new = {
        **rec,
        **cols,
        "customer": _customer_id(header),
        "data": evaluation.data,
        "conclusion": evaluation.conclusion or "",
    }
    new_content, old_content = content_of(new), content_of(rec)
    reason = (reason or "").strip()
    first = rec["status"] == "draft"
    if first:
        changes: list[dict[str, str]] = []
        reason = reason or "首次保存"
    else:
        changes = await changes_between(pin, old_content, new_content)
        if not changes and new_content == old_content:
            return SaveOutcome(True, rec, evaluation)
        if not reason:
            return SaveOutcome(
                False, rec, evaluation, {"reason": "修改已保存的原始记录须填写修改原因"}
            )
    last = (
        await RecordRevision.select(RecordRevision.seq)
        .where(RecordRevision.record == record_id)
        .order_by(RecordRevision.seq, ascending=False)
        .first()
    )
    seq = (last["seq"] if last else 0) + 1
    at = datetime.now(UTC)
    by = actor_id(user)
    name = getattr(user, "full_name", None)  # a signed-in user carries it; a bare id does not
    who = (
        {"full_name": name}
        if name is not None
        else (await User.select(User.full_name).where(User.id == by).first() if by else None)
    )
    content_sha = sha256_text(canonical(new_content))
    prev = rec["last_revision_hash"]
    digest = revision_hash(record_id, seq, at, by, reason, changes, content_sha, prev)
    async with OriginalRecord._meta.db.transaction():
        done = (
            await OriginalRecord.update(
                {
                    OriginalRecord.data: evaluation.data,
                    OriginalRecord.conclusion: evaluation.conclusion or "",
                    OriginalRecord.customer: new["customer"],
                    OriginalRecord.status: "saved",
                    OriginalRecord.updated_at: at,
                    OriginalRecord.last_revision_hash: digest,
                    **{getattr(OriginalRecord, k): v for k, v in cols.items()},
                }
            )
            .where((OriginalRecord.id == record_id) & (OriginalRecord.last_revision_hash == prev))
            .returning(OriginalRecord.id)
        )
        if not done:
            raise Conflict("该记录刚被他人保存，请刷新后再修改")
        rev_row = await RecordRevision.insert(
            RecordRevision(
                record=record_id,
                seq=seq,
                at=at,
                by=by,
                by_name=who["full_name"] if who else "",
                reason=reason,
                changes=changes,
                content_sha256=content_sha,
                prev_hash=prev,
                hash=digest,
            )
        ).returning(RecordRevision.id)
        await chain.seal("original_record", record_id)  # keyed: a recomputed chain is caught
        await chain.seal("record_revision", rev_row[0]["id"])
    revision = {"seq": seq, "reason": reason, "changes": changes, "hash": digest}
    return SaveOutcome(True, await record_or_404(record_id), evaluation, revision=revision)


async def revisions(record_id: int) -> list[dict[str, Any]]:
    return (
        await RecordRevision.select()
        .where(RecordRevision.record == record_id)
        .order_by(RecordRevision.seq)
        .output(load_json=True)
    )


# ── the audit chain ─────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class BrokenLink:
    number: str
    seq: int
    problem: str


async def verify_chain() -> tuple[int, int, list[BrokenLink]]:
    """Recompute every record's revision chain: (records, revisions, broken links)."""
    records = await OriginalRecord.select().order_by(OriginalRecord.number).output(load_json=True)
    rows = (
        await RecordRevision.select()
        .order_by(RecordRevision.record)
        .order_by(RecordRevision.seq)
        .output(load_json=True)
    )
    by_record: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        by_record.setdefault(r["record"], []).append(r)
    broken: list[BrokenLink] = []
    for rec in records:
        chain = by_record.get(rec["id"], [])
        prev = ""
        for i, rev in enumerate(chain, start=1):
            if rev["seq"] != i:
                broken.append(BrokenLink(rec["number"], rev["seq"], f"序号不连续（应为 {i}）"))
            if rev["prev_hash"] != prev:
                broken.append(BrokenLink(rec["number"], rev["seq"], "与上一修订的链接不符"))
            expected = revision_hash(
                rec["id"],
                rev["seq"],
                rev["at"],
                rev["by"],
                rev["reason"],
                rev["changes"],
                rev["content_sha256"],
                rev["prev_hash"],
            )
            if expected != rev["hash"]:
                broken.append(
                    BrokenLink(rec["number"], rev["seq"], "修订内容与其哈希不符（被改动）")
                )
            prev = rev["hash"]
        last_seq = chain[-1]["seq"] if chain else 0
        if rec["last_revision_hash"] != prev:
            broken.append(
                BrokenLink(
                    rec["number"], last_seq, "记录的最后修订哈希与修订链不符（修订被删除或改动）"
                )
            )
        if chain and sha256_text(canonical(content_of(rec))) != chain[-1]["content_sha256"]:
            broken.append(
                BrokenLink(rec["number"], last_seq, "记录内容与最后一次修订不符（记录被直接改动）")
            )
        if rec["status"] == "saved" and not chain:
            broken.append(BrokenLink(rec["number"], 0, "已保存的记录没有修订"))
    return len(records), len(rows), broken


def count_my_drafts(user_id: int) -> Count:
    """A count query (await it, or let the home page batch it)."""
    return OriginalRecord.count().where(
        (OriginalRecord.verifier == user_id) & (OriginalRecord.status == "draft")
    )


async def customer_references(customer_id: int) -> int:
    return await OriginalRecord.count().where(OriginalRecord.customer == customer_id)


def header_of(rec: dict[str, Any]) -> dict[str, Any]:
    """The header a page or a client sees and sends back, from the record's columns."""
    on = rec.get("verified_on")
    return {
        "customer": str(rec.get("customer") or ""),
        "instrument_name": rec.get("instrument_name", ""),
        "serial": rec.get("serial", ""),
        "model": rec.get("model", ""),
        "manufacturer": rec.get("manufacturer", ""),
        "verified_on": on.isoformat() if isinstance(on, date) else (on or ""),
        "standards": rec.get("standards") or [],
    }


# ── what the page and its API twin both do around create and save ────────────────────────────


def ensure_verifier(rec: dict[str, Any], user: Any) -> None:
    """Only the record's own verifier changes it (page and API alike)."""
    from metrolab.kernel.errors import Forbidden

    if rec["verifier"] != actor_id(user):
        raise Forbidden("只有该记录的检定员可以修改")


async def create_draft(
    user: Any,
    *,
    customer_id: int | None,
    instrument_type: str,
    instrument_name: str = "",
    verified_on: date | None = None,
) -> dict[str, Any]:
    """:func:`create_record`, audited as ``record.created``."""
    from metrolab.audit.log import record as audit

    rec = await create_record(
        user,
        customer_id=customer_id,
        instrument_type=instrument_type,
        instrument_name=instrument_name,
        verified_on=verified_on,
    )
    await audit(
        "record.created",
        actor=user,
        target_type="original_record",
        target_id=rec["id"],
        details={"number": rec["number"], "form": rec["form_key"], "version": rec["form_number"]},
    )
    return rec


async def save_audited(
    record_id: int, header: dict[str, Any], data: dict[str, Any], user: Any, reason: str = ""
) -> SaveOutcome:
    """:func:`save` by the record's verifier, audited as ``record.saved`` / ``record.revised``."""
    from metrolab.audit.log import record as audit

    rec = await record_or_404(record_id)
    ensure_verifier(rec, user)
    outcome = await save(record_id, header, data, user, reason)
    if outcome.revision:
        await audit(
            "record.saved" if outcome.revision["seq"] == 1 else "record.revised",
            actor=user,
            target_type="original_record",
            target_id=record_id,
            details={
                "number": rec["number"],
                "seq": outcome.revision["seq"],
                "reason": outcome.revision["reason"],
                "fields": [c["path"] for c in outcome.revision["changes"]],
            },
        )
    return outcome
