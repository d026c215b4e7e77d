"""The indicator database (指标库): instrument types with their verification items, and standards.

Public API other features code against:

    await get_catalogue(code) -> dict | None           # the seed_data/instrument_types shape (engine `catalogue`)
    await list_types(active_only=True) -> list[dict]   # catalogues, ordered by category and name
    await save_type(data, actor, mode="upsert") -> dict   # raises Invalid (400, 中文) listing every problem
    await import_types(payload, actor=None, dry_run=False) -> ImportResult   # all or nothing
    await export_types(codes=None) -> bytes
    await get_standards(codes) -> list[dict]
    await standards_for_picker(on, instrument_type=None) -> list[dict]   # engine context["standards"]
    await expiring_standards(within_days=60, today=None) -> list[dict]   # expired ones too
    await save_standard(data, actor, mode="upsert") -> dict
    await import_standards(payload, actor=None, dry_run=False) -> ImportResult
    await export_standards(codes=None) -> bytes
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from piccolo.query.methods.count import Count

from metrolab.audit.log import record
from metrolab.engine.forms.model import DefinitionInvalid, parse_json
from metrolab.indicators import type_templates
from metrolab.indicators.catalogue import (
    KINDS,
    Problems,
    check_standard,
    check_type,
    row_to_type,
    standard_to_export,
    type_to_row,
)
from metrolab.indicators.tables import InstrumentType, Standard
from metrolab.kernel.matching import contains
from metrolab.paths import data_folder
from metrolab.web.errors import UserError

MAX_IMPORT_BYTES = 5 * 1024 * 1024
EXPIRY_WARNING_DAYS = 60
PICKER_EXPIRING_DAYS = 30  # the record form marks a standard 即将到期 this close to its end


class Invalid(UserError):
    """Refused input: `errors` maps each place (an editor input name) to a 中文 message."""

    status_code = 400

    def __init__(self, errors: Problems, prefix: str = "") -> None:
        self.errors = errors
        super().__init__(
            status_code=400,
            detail=prefix + "；".join(errors.values()),
            extra=[{"key": k, "message": v} for k, v in errors.items()],
        )


# ── instrument types ──────────────────────────────────────────────────────────────────────────


async def _type_row(code: str) -> dict[str, Any] | None:
    return (
        await InstrumentType.select()
        .where(InstrumentType.code == code)
        .output(load_json=True)
        .first()
    )


async def get_catalogue(code: str) -> dict[str, Any] | None:
    """The instrument type in the seed_data/instrument_types shape (inactive ones too), or None."""
    row = await _type_row(code)
    return row_to_type(row) if row else None


async def get_type(code: str) -> dict[str, Any] | None:
    """The catalogue plus what the pages show: active, revision, updated_at."""
    row = await _type_row(code)
    if row is None:
        return None
    return {
        **row_to_type(row),
        "active": row["active"],
        "revision": row["revision"],
        "updated_at": row["updated_at"],
    }


async def list_types(active_only: bool = True) -> list[dict[str, Any]]:
    query = (
        InstrumentType.select()
        .output(load_json=True)
        .order_by(InstrumentType.category)
        .order_by(InstrumentType.name_zh)
    )
    if active_only:
        query = query.where(InstrumentType.active == True)  # noqa: E712 - a Piccolo expression
    return [row_to_type(row) | {"active": row["active"]} for row in await query]


async def search_types(
    q: str = "", category: str = "", include_inactive: bool = False
) -> list[dict[str, Any]]:
    """Rows for the list page: a few columns, filtered by text and category."""
    query = (
        InstrumentType.select(
            InstrumentType.code,
            InstrumentType.name_zh,
            InstrumentType.name_en,
            InstrumentType.category,
            InstrumentType.regulation_code,
            InstrumentType.regulation_edition,
            InstrumentType.cycle_months,
            InstrumentType.compulsory,
            InstrumentType.mpe,
            InstrumentType.to_be_confirmed,
            InstrumentType.active,
            InstrumentType.items,
            InstrumentType.certificate_template,
            InstrumentType.notice_template,
        )
        .output(load_json=True)
        .order_by(InstrumentType.category)
        .order_by(InstrumentType.name_zh)
    )
    if q:
        query = query.where(
            contains(InstrumentType.code, q)
            | contains(InstrumentType.name_zh, q)
            | contains(InstrumentType.name_en, q)
            | contains(InstrumentType.regulation_code, q)
        )
    if category:
        query = query.where(InstrumentType.category == category)
    if not include_inactive:
        query = query.where(InstrumentType.active == True)  # noqa: E712
    rows = await query
    for row in rows:
        items = row.pop("items") or []
        row["item_count"] = len(items)
        row["unconfirmed"] = row["to_be_confirmed"] or any(i.get("to_be_confirmed") for i in items)
    return rows


async def categories() -> list[str]:
    rows = (
        await InstrumentType.select(InstrumentType.category)
        .distinct()
        .order_by(InstrumentType.category)
    )
    return [r["category"] for r in rows if r["category"]]


async def _write_type(catalogue: dict[str, Any], exists: bool) -> None:
    values = type_to_row(catalogue)
    values["updated_at"] = datetime.now(UTC)
    if exists:
        await InstrumentType.update(
            {
                **{getattr(InstrumentType, k): v for k, v in values.items()},
                InstrumentType.revision: InstrumentType.revision + 1,
            }
        ).where(InstrumentType.code == catalogue["code"])
    else:
        await InstrumentType.insert(InstrumentType(**values))


async def check_new_type(
    data: Any, mode: str = "upsert", original_code: str | None = None
) -> tuple[dict[str, Any], Problems, bool]:
    """check_type plus the database rules: duplicate code on create, unknown type on update, and
    named certificate / notice templates that exist, are of that kind and have a published version."""
    catalogue, problems = check_type(data)
    for place, problem in (await type_templates.problems(catalogue)).items():
        problems.setdefault(place, problem)
    code = catalogue.get("code")
    exists = bool(code) and await InstrumentType.exists().where(InstrumentType.code == code)
    if mode == "create" and exists:
        problems["code"] = f"器具类型代码“{code}”已存在"
    if mode == "update":
        if original_code and code != original_code:
            problems["code"] = (
                f"器具类型代码不能修改（原为“{original_code}”），记录和表单按代码引用它"
            )
        elif not exists and "code" not in problems:
            problems["code"] = f"器具类型“{code}”不存在"
    return catalogue, problems, exists


async def save_type(
    data: dict[str, Any], actor: Any, mode: str = "upsert", original_code: str | None = None
) -> dict[str, Any]:
    """Check and store one instrument type; mode "create" refuses an existing code, "update" a new one.
    Returns the stored catalogue. Raises `Invalid` listing every problem (nothing is written)."""
    catalogue, problems, exists = await check_new_type(data, mode, original_code)
    if problems:
        raise Invalid(problems)
    await _write_type(catalogue, exists)
    await record(
        "instrument_type.updated" if exists else "instrument_type.created",
        actor=actor,
        target_type="instrument_type",
        target_id=catalogue["code"],
        details={"name": catalogue["name"]["zh"], "items": [i["code"] for i in catalogue["items"]]},
    )
    stored = await get_catalogue(catalogue["code"])
    assert stored is not None
    return stored


async def set_type_active(code: str, active: bool, actor: Any) -> None:
    await InstrumentType.update(
        {InstrumentType.active: active, InstrumentType.updated_at: datetime.now(UTC)}
    ).where(InstrumentType.code == code)
    await record(
        "instrument_type.activated" if active else "instrument_type.deactivated",
        actor=actor,
        target_type="instrument_type",
        target_id=code,
    )


# ── import / export ───────────────────────────────────────────────────────────────────────────


@dataclass
class ImportResult:
    """What an import did (or, with dry_run, would do). Nothing is written when `errors` is not empty."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "applied": self.applied,
        }


def _parse_payload(payload: bytes) -> tuple[Any, list[str]]:
    if len(payload) > MAX_IMPORT_BYTES:
        return None, [f"文件过大（不得超过 {MAX_IMPORT_BYTES // 1024 // 1024} MB）"]
    try:
        return parse_json(payload), []
    except DefinitionInvalid as exc:
        return None, [f"文件{p.message_zh}" for p in exc.problems]


async def import_types(payload: bytes, actor: Any = None, dry_run: bool = False) -> ImportResult:
    """A JSON file holding one instrument type or a list of them. Every type is checked before
    anything is written; any problem refuses the whole file. Existing codes are updated."""
    result = ImportResult()
    data, result.errors = _parse_payload(payload)
    if result.errors:
        return result
    types = data if isinstance(data, list) else [data]
    if not types:
        result.errors.append("文件中没有器具类型")
    checked: list[tuple[dict[str, Any], bool]] = []
    seen: set[str] = set()
    for n, entry in enumerate(types, start=1):
        catalogue, problems, exists = await check_new_type(entry)
        code = catalogue.get("code") or "?"
        where = f"第 {n} 个器具类型（{code}）" if len(types) > 1 else f"器具类型（{code}）"
        if code in seen:
            problems["code"] = f"代码“{code}”在文件中出现不止一次"
        seen.add(code)
        result.errors += [f"{where}：{message}" for message in problems.values()]
        checked.append((catalogue, exists))
    if result.errors:
        return result
    for catalogue, exists in checked:
        before = await get_catalogue(catalogue["code"]) if exists else None
        target = (
            result.unchanged
            if before == {k: v for k, v in catalogue.items() if k != "active"}
            else (result.updated if exists else result.created)
        )
        target.append(catalogue["code"])
    if dry_run:
        return result
    async with InstrumentType._meta.db.transaction():
        for catalogue, exists in checked:
            if catalogue["code"] not in result.unchanged:
                await _write_type(catalogue, exists)
    result.applied = True
    await record(
        "instrument_type.imported",
        actor=actor,
        target_type="instrument_type",
        details={"created": result.created, "updated": result.updated},
    )
    return result


def _dump(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


_CODE = re.compile(r"^[\w.\-]{1,100}$")
MAX_EXPORT_CODES = 500


def checked_codes(codes: list[str] | None) -> list[str] | None:
    """An export's `code` filter (None: everything); a NUL or a 10 KB code is a 400, not a DB error."""
    if not codes:
        return None
    if len(codes) > MAX_EXPORT_CODES or not all(_CODE.match(c) for c in codes):
        raise UserError(
            status_code=400, detail="参数 code 应为代码（字母、数字、._-，至多 500 个）"
        )
    return codes


async def export_types(codes: list[str] | None = None) -> bytes:
    """A JSON list of catalogues (all types when codes is None); import_types reads it back."""
    query = InstrumentType.select().output(load_json=True).order_by(InstrumentType.code)
    if codes is not None:
        if not codes:
            return _dump([])
        query = query.where(InstrumentType.code.is_in(list(codes)))
    out = []
    for row in await query:
        catalogue = row_to_type(row)
        if not row["active"]:
            catalogue["active"] = False
        out.append(catalogue)
    return _dump(out)


# ── standards ─────────────────────────────────────────────────────────────────────────────────


def _standard(row: dict[str, Any], today: date | None = None) -> dict[str, Any]:
    today = today or date.today()
    until = row["valid_until"]
    days = (until - today).days if until else None
    return {
        **row,
        "kind_label": KINDS.get(row["kind"], row["kind"]),
        "expired": days is not None and days < 0,
        "days_left": days,
    }


def _standard_columns() -> list[Any]:
    return [c for c in Standard._meta.columns if c._meta.name not in ("id", "updated_at")]


async def get_standards(codes: list[str]) -> list[dict[str, Any]]:
    """Standards by code (in the order asked; unknown codes left out): code, name, kind,
    measuring_range, uncertainty, certificate_no, valid_until (a date), expired, and the rest."""
    if not codes:
        return []
    rows = (
        await Standard.select(*_standard_columns())
        .where(Standard.code.is_in(list(codes)))
        .output(load_json=True)
    )
    by_code = {r["code"]: _standard(r) for r in rows}
    return [by_code[c] for c in codes if c in by_code]


async def get_standard(code: str) -> dict[str, Any] | None:
    found = await get_standards([code])
    return found[0] if found else None


async def list_standards(
    q: str = "", kind: str = "", include_inactive: bool = False
) -> list[dict[str, Any]]:
    query = (
        Standard.select(*_standard_columns())
        .output(load_json=True)
        .order_by(Standard.kind)
        .order_by(Standard.code)
    )
    if q:
        query = query.where(
            contains(Standard.code, q)
            | contains(Standard.name, q)
            | contains(Standard.certificate_no, q)
        )
    if kind:
        query = query.where(Standard.kind == kind)
    if not include_inactive:
        query = query.where(Standard.active == True)  # noqa: E712
    return [_standard(r) for r in await query]


async def standards_for_picker(
    on: date, instrument_type: str | None = None
) -> list[dict[str, Any]]:
    """The form engine's `context["standards"]`: active standards as {code, label, valid_until (ISO),
    expired, expiring (≤ PICKER_EXPIRING_DAYS)} — expired ones are listed (the picker disables them) so an old record still shows its
    choice. With instrument_type, only standards declared for it (or for no type in particular)."""
    out = []
    for s in await list_standards():
        if instrument_type and s["for_types"] and instrument_type not in s["for_types"]:
            continue
        until = s["valid_until"]
        label = f"{s['name']}（{s['code']}"
        label += f"，证书 {s['certificate_no']}" if s["certificate_no"] else ""
        label += f"，有效期至 {until.isoformat()}）" if until else "）"
        out.append(
            {
                "code": s["code"],
                "label": label,
                "kind": s["kind"],
                "valid_until": until.isoformat() if until else "",
                "expired": bool(until and until < on),
                "expiring": bool(
                    until and on <= until <= on + timedelta(days=PICKER_EXPIRING_DAYS)
                ),
            }
        )
    return out


async def expiring_standards(
    within_days: int = EXPIRY_WARNING_DAYS, today: date | None = None
) -> list[dict[str, Any]]:
    """Active standards already expired or expiring within `within_days`, soonest first; each has
    `status` "expired" (red) or "expiring" (amber) and `days_left`."""
    today = today or date.today()
    rows = (
        await Standard.select(*_standard_columns())
        .where(
            (Standard.active == True)  # noqa: E712 - a SQL comparison
            & (Standard.valid_until <= today + timedelta(days=within_days))  # noqa: E712
        )
        .output(load_json=True)
        .order_by(Standard.valid_until)
    )
    out = []
    for row in rows:
        s = _standard(row, today)
        s["status"] = "expired" if s["expired"] else "expiring"
        out.append(s)
    return out


def count_expiring_standards(within_days: int = EXPIRY_WARNING_DAYS) -> Count:
    """A count query (await it, or let the home page batch it)."""
    soon = date.today() + timedelta(days=within_days)
    return Standard.count().where((Standard.active == True) & (Standard.valid_until <= soon))  # noqa: E712


async def check_new_standard(
    data: Any, mode: str = "upsert", original_code: str | None = None, kind: str | None = None
) -> tuple[dict[str, Any], Problems, bool]:
    values, problems = check_standard(data, kind)
    code = values.get("code")
    exists = bool(code) and await Standard.exists().where(Standard.code == code)
    if mode == "create" and exists:
        problems["code"] = f"编号“{code}”已存在"
    if mode == "update":
        if original_code and code != original_code:
            problems["code"] = f"编号不能修改（原为“{original_code}”）"
        elif not exists and "code" not in problems:
            problems["code"] = f"标准器“{code}”不存在"
    return values, problems, exists


async def _write_standard(values: dict[str, Any], exists: bool) -> None:
    values = {**values, "updated_at": datetime.now(UTC)}
    if exists:
        await Standard.update({getattr(Standard, k): v for k, v in values.items()}).where(
            Standard.code == values["code"]
        )
    else:
        await Standard.insert(Standard(**values))


async def save_standard(
    data: dict[str, Any], actor: Any, mode: str = "upsert", original_code: str | None = None
) -> dict[str, Any]:
    values, problems, exists = await check_new_standard(data, mode, original_code)
    if problems:
        raise Invalid(problems)
    await _write_standard(values, exists)
    await record(
        "standard.updated" if exists else "standard.created",
        actor=actor,
        target_type="standard",
        target_id=values["code"],
        details={"name": values["name"], "valid_until": values["valid_until"].isoformat()},
    )
    stored = await get_standard(values["code"])
    assert stored is not None
    return stored


async def import_standards(
    payload: bytes, actor: Any = None, dry_run: bool = False
) -> ImportResult:
    """The seed_data/standards.json shape: {"facilities": [...], "instruments": [...]} (a facility
    lists its instruments' codes). Checked whole before anything is written."""
    result = ImportResult()
    data, result.errors = _parse_payload(payload)
    if result.errors:
        return result
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("facilities", []), list)
        or not isinstance(data.get("instruments", []), list)
    ):
        result.errors.append(
            '文件格式应为 {"facilities": [计量标准装置…], "instruments": [标准器…]}'
        )
        return result
    entries = [("device", e) for e in data.get("facilities", [])] + [
        ("instrument", e) for e in data.get("instruments", [])
    ]
    if not entries:
        result.errors.append("文件中没有计量标准装置或标准器")
    checked: list[tuple[dict[str, Any], bool]] = []
    facility_of: dict[str, str] = {}
    for kind, entry in entries:
        values, problems, exists = await check_new_standard(entry, kind=kind)
        code = values.get("code") or "?"
        where = f"{KINDS[kind]}（{code}）"
        if any(v["code"] == code for v, _ in checked):
            problems["code"] = f"编号“{code}”在文件中出现不止一次"
        members = (
            entry.get("instruments", []) if isinstance(entry, dict) and kind == "device" else []
        )
        if not isinstance(members, list):
            problems["instruments"] = "所含标准器应为编号列表"
            members = []
        for member in members:
            facility_of[str(member)] = code
        result.errors += [f"{where}：{m}" for m in problems.values()]
        checked.append((values, exists))
    in_file = {v["code"] for v, _ in checked if v.get("kind") == "instrument"}
    for member, facility in facility_of.items():
        if member not in in_file and not await Standard.exists().where(Standard.code == member):
            result.errors.append(
                f"计量标准装置（{facility}）：所含标准器“{member}”既不在文件中也不在系统中"
            )
    if result.errors:
        return result
    for values, exists in checked:
        if values["kind"] == "instrument" and values["code"] in facility_of:
            values["facility"] = facility_of[values["code"]]
        before = await get_standard(values["code"]) if exists else None
        same = before is not None and all(before[k] == v for k, v in values.items())
        (result.unchanged if same else result.updated if exists else result.created).append(
            values["code"]
        )
    if dry_run:
        return result
    async with Standard._meta.db.transaction():
        for values, exists in checked:
            if values["code"] not in result.unchanged:
                await _write_standard(values, exists)
    result.applied = True
    await record(
        "standard.imported",
        actor=actor,
        target_type="standard",
        details={"created": result.created, "updated": result.updated},
    )
    return result


async def export_standards(codes: list[str] | None = None) -> bytes:
    rows = (
        await Standard.select(*_standard_columns()).output(load_json=True).order_by(Standard.code)
    )
    if codes is not None:
        rows = [r for r in rows if r["code"] in set(codes)]
    facilities, instruments = [], []
    for row in rows:
        entry = standard_to_export(row)
        if row["kind"] == "device":
            entry["instruments"] = [r["code"] for r in rows if r["facility"] == row["code"]]
            facilities.append(entry)
        else:
            instruments.append(entry)
    return _dump(
        {"format": "metrolab.standards/1", "facilities": facilities, "instruments": instruments}
    )


# ── shipped data and known keys ───────────────────────────────────────────────────────────────


async def seed_instrument_types() -> int:
    """Insert shipped types whose code is missing; a lab's edits to existing ones are kept."""
    n = 0
    for path in sorted((data_folder("seed_data") / "instrument_types").glob("*.json")):
        catalogue, problems = check_type(parse_json(path.read_bytes()))
        if problems:
            raise ValueError(
                f"seed_data/instrument_types/{path.name}: " + "；".join(problems.values())
            )
        if not await InstrumentType.exists().where(InstrumentType.code == catalogue["code"]):
            await _write_type(catalogue, exists=False)
            n += 1
    return n


async def seed_standards() -> int:
    path = data_folder("seed_data") / "standards.json"
    if not path.exists():
        return 0
    data = parse_json(path.read_bytes())
    facility_of = {
        m: f["code"] for f in data.get("facilities", []) for m in f.get("instruments", [])
    }
    n = 0
    for kind, entries in (
        ("device", data.get("facilities", [])),
        ("instrument", data.get("instruments", [])),
    ):
        for entry in entries:
            values, problems = check_standard(entry, kind)
            if problems:
                raise ValueError(
                    f"seed_data/standards.json {entry.get('code')}: " + "；".join(problems.values())
                )
            values["facility"] = (
                facility_of.get(values["code"], values["facility"]) if kind == "instrument" else ""
            )
            if not await Standard.exists().where(Standard.code == values["code"]):
                await _write_standard(values, exists=False)
                n += 1
    return n


async def renew_demo_standards(today: date | None = None) -> int:
    """The demo lab's standards are valid relative to today: each shipped standard keeps the distance
    between its valid_until and the file's `dates_as_of` (so the ones expired on purpose stay expired
    and the rest stay valid, whenever `metrolab demo` runs). A date the lab changed is left alone."""
    path = data_folder("seed_data") / "standards.json"
    if not path.exists():
        return 0
    data = parse_json(path.read_bytes())
    as_of = data.get("dates_as_of")
    if not isinstance(as_of, str):
        return 0
    shift = (today or date.today()) - date.fromisoformat(as_of)
    n = 0
    for entry in [*data.get("facilities", []), *data.get("instruments", [])]:
        if not entry.get("valid_until"):
            continue
        shipped = date.fromisoformat(entry["valid_until"])
        n += len(
            await Standard.update({Standard.valid_until: shipped + shift})
            .where((Standard.code == entry["code"]) & (Standard.valid_until == shipped))
            .returning(Standard.id)
        )
    return n


async def known_record_forms() -> list[str]:
    keys = set()
    for path in data_folder("form_schemas").glob("*.json"):
        try:
            if json.loads(path.read_text(encoding="utf-8")).get("kind") == "record":
                keys.add(path.stem)
        except (ValueError, AttributeError):
            continue
    from metrolab import hooks

    for found in await hooks.gather("indicators.record_form_keys"):  # forms kept in the database
        keys.update(found)
    return sorted(keys)


async def types_naming_template(key: str, kind: str, default: bool = False) -> list[dict[str, Any]]:
    """Types (inactive ones too) whose `kind` documents print with template `key`: those naming it,
    and with `default` those naming none (they use the shipped one)."""
    field = next(
        getattr(InstrumentType, f) for f, (k, _label) in type_templates.FIELDS.items() if k == kind
    )
    where = (field == key) | (field == "") if default else field == key
    return (
        await InstrumentType.select(
            InstrumentType.code, InstrumentType.name_zh, InstrumentType.active
        )
        .where(where)
        .order_by(InstrumentType.code)
    )
