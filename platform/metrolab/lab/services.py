"""The lab's settings (one row): what every certificate prints about its issuer, its seal, its numbering.

``lab_settings()`` / ``seal_png()`` / ``number_pattern()`` are what the certificate feature reads;
``validate`` and ``save`` serve the settings page and its API twin.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from metrolab import storage
from metrolab.lab.numbering import DEFAULT_PATTERN, format_number, pattern_problem
from metrolab.lab.tables import LabSettings
from metrolab.paths import data_folder
from metrolab.settings import get_settings


@dataclass(frozen=True)
class Field:
    key: str
    label_zh: str
    max_length: int


FIELDS = (
    Field("name", "单位名称", 100),
    Field("authorization_note", "检定机构授权说明", 300),
    Field("authorization_no", "计量检定机构授权证书号", 100),
    Field("address", "地址", 200),
    Field("postcode", "邮编", 6),
    Field("phone", "电话", 50),
    Field("fax", "传真", 50),
    Field("website", "网址", 200),
    Field("number_pattern", "证书编号格式", 40),
)
TEXT_KEYS = tuple(f.key for f in FIELDS if f.key != "number_pattern")
# What a 法定计量检定机构's certificate must state (DB1304/T 505 Appendix A; JJF 1069).
REQUIRED_BY_LAW = ("name", "authorization_no", "authorization_note", "address", "postcode", "phone")
LABELS = {f.key: f.label_zh for f in FIELDS}

SEAL_MAX_BYTES = 2 * 1024 * 1024
SEAL_MIN_PX, SEAL_MAX_PX = 100, 4000
_PHONE = re.compile(r"[0-9+\-()（）、,，/ 转]*")
_POSTCODE = re.compile(r"[0-9]{6}")


# ── reading ───────────────────────────────────────────────────────────────────────────────────


async def _row() -> dict[str, Any] | None:
    return await LabSettings.select().order_by(LabSettings.id).first()


async def lab_settings() -> dict[str, str]:
    """The certificate's ``lab`` section: name, authorization_no, authorization_note, address, postcode,
    phone, fax, website — always strings ("" while the lab has not filled them in)."""
    row = await _row() or {}
    out = {key: str(row.get(key) or "") for key in TEXT_KEYS}
    out["name"] = out["name"] or get_settings().lab_name
    return out


async def seal_png() -> bytes | None:
    """The 检定专用章 image (PNG), or None when none was uploaded."""
    row = await _row()
    digest = (row or {}).get("seal_sha256") or ""
    return storage.get(digest) if digest and storage.exists(digest) else None


async def number_pattern() -> str:
    """The certificate number pattern, e.g. ``JD{year}-{seq:05d}`` (the default while blank)."""
    row = await _row()
    return (row or {}).get("number_pattern") or DEFAULT_PATTERN


async def settings_for_page() -> dict[str, Any]:
    """Every field as stored (number_pattern may be blank), plus the seal's digest."""
    row = await _row() or {}
    values = {f.key: str(row.get(f.key) or "") for f in FIELDS}
    values["name"] = values["name"] or get_settings().lab_name
    values["seal_sha256"] = row.get("seal_sha256") or ""
    return values


def missing_required(settings: dict[str, str]) -> list[str]:
    """中文 labels of the legally required fields still blank."""
    return [LABELS[k] for k in REQUIRED_BY_LAW if not (settings.get(k) or "").strip()]


def number_example(pattern: str) -> str:
    return format_number(pattern or DEFAULT_PATTERN, datetime.now(UTC).year, 17)


# ── checking ──────────────────────────────────────────────────────────────────────────────────


def clean(raw: dict[str, Any]) -> dict[str, str]:
    """The text fields of a posted form or JSON body, whitespace collapsed (one line each)."""
    out = {}
    for f in FIELDS:
        if f.key in raw:
            value = raw[f.key]
            out[f.key] = " ".join(str(value).split()) if value is not None else ""
    return out


def validate(values: dict[str, str]) -> dict[str, str]:
    """``{field: 中文 problem}``; empty when the values may be saved."""
    errors: dict[str, str] = {}
    for f in FIELDS:
        value = values.get(f.key, "")
        if len(value) > f.max_length:
            errors[f.key] = f"{f.label_zh}不能超过 {f.max_length} 个字符（现为 {len(value)} 个）"
    if "name" in values and not values["name"] and "name" not in errors:
        errors["name"] = "单位名称不能为空"
    if (
        values.get("postcode")
        and "postcode" not in errors
        and not _POSTCODE.fullmatch(values["postcode"])
    ):
        errors["postcode"] = "邮编应为 6 位数字"
    for key in ("phone", "fax"):
        if values.get(key) and key not in errors and not _PHONE.fullmatch(values[key]):
            errors[key] = f"{LABELS[key]}只能包含数字、空格和 + - ( ) 、 / 转"
    if (
        values.get("website")
        and "website" not in errors
        and re.search(r"[\s<>\"']", values["website"])
    ):
        errors["website"] = "网址不能包含空格、尖括号或引号"
    if "number_pattern" not in errors and (
        problem := pattern_problem(values.get("number_pattern", ""))
    ):
        errors["number_pattern"] = problem
    return errors


def seal_image(content: bytes) -> tuple[bytes | None, str | None]:
    """(the seal as a re-encoded PNG, None) or (None, 中文 problem). The upload is untrusted: size,
    a real PNG/JPEG header, a decodable image of sane dimensions; re-encoding drops anything else."""
    from PIL import Image, UnidentifiedImageError

    if not content:
        return None, "请选择检定专用章图片"
    if len(content) > SEAL_MAX_BYTES:
        return None, f"检定专用章图片不能超过 {SEAL_MAX_BYTES // 1048576} MB"
    if not (content.startswith(b"\x89PNG\r\n\x1a\n") or content.startswith(b"\xff\xd8\xff")):
        return None, "检定专用章须为 PNG 或 JPEG 图片"
    try:
        with Image.open(io.BytesIO(content)) as img:
            if img.format not in {"PNG", "JPEG"}:
                return None, "检定专用章须为 PNG 或 JPEG 图片"
            w, h = img.size
            if not (SEAL_MIN_PX <= w <= SEAL_MAX_PX and SEAL_MIN_PX <= h <= SEAL_MAX_PX) or max(
                w, h
            ) > 2 * min(w, h):
                return None, (
                    f"检定专用章图片尺寸不合适（{w}×{h} 像素）：宽、高应在 {SEAL_MIN_PX}–{SEAL_MAX_PX} "
                    "像素之间，且接近方形"
                )
            img.verify()
        with Image.open(io.BytesIO(content)) as img:
            out = io.BytesIO()
            img.convert("RGBA").save(out, "PNG", optimize=True)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None, "无法识别的图片文件（检定专用章须为 PNG 或 JPEG 图片）"
    return out.getvalue(), None


# ── writing ───────────────────────────────────────────────────────────────────────────────────


async def save(
    values: dict[str, str], *, seal: bytes | None = None, remove_seal: bool = False
) -> list[str]:
    """Store checked ``values`` (only the keys given) and the seal; returns the changed keys."""
    row = await _row()
    update: dict[str, Any] = {k: v for k, v in values.items() if k in LABELS}
    if seal is not None:
        update["seal_sha256"] = storage.put(seal)
    elif remove_seal:
        update["seal_sha256"] = ""
    changed = [k for k, v in update.items() if (row or {}).get(k, "") != v]
    if row is None:
        await LabSettings.insert(LabSettings(**{"name": get_settings().lab_name, **update}))
    elif changed:
        # Piccolo: update() takes str keys; its dict type is invariant
        await LabSettings.update({**update, "updated_at": datetime.now(UTC)}).where(  # type: ignore[dict-item]
            LabSettings.id == row["id"]
        )
    return changed


def _seed_file() -> dict[str, Any]:
    path = data_folder("seed_data") / "lab.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


async def seed_settings() -> int:
    """The settings row from seed_data/lab.json, once (a lab's own values are never overwritten)."""
    if await LabSettings.exists():
        return 0
    values = clean(_seed_file().get("settings", {}))
    values["name"] = values.get("name") or get_settings().lab_name
    await LabSettings.insert(LabSettings(**values))  # type: ignore[arg-type]  # Piccolo: **columns go to untyped **kwargs; mypy matches them to _data
    return 1


async def seed_demo_settings() -> int:
    """The demo lab's particulars and a drawn stand-in seal, while the settings are still blank."""
    from metrolab.certificates.contract import stand_in_seal_png

    await seed_settings()
    current = await lab_settings()
    if current["authorization_no"]:
        return 0
    values = clean(_seed_file().get("demo_settings", {}))
    await save(values, seal=stand_in_seal_png(current["name"]))
    return 1


async def save_settings(
    values: dict[str, str], *, seal: bytes | None, remove_seal: bool, actor: Any
) -> list[str]:
    """:func:`save`, audited as ``lab.settings_saved`` (the page and its API twin)."""
    from metrolab.audit.log import record

    changed = await save(values, seal=seal, remove_seal=remove_seal)
    await record(
        "lab.settings_saved",
        actor=actor,
        target_type="lab_settings",
        target_id=1,
        details={"changed": changed},
    )
    return changed


# ── the public service pages (§5.2) ───────────────────────────────────────────────────────────


async def public_pages() -> list[dict[str, Any]]:
    from metrolab.lab.tables import PublicPage

    return await PublicPage.select().order_by(PublicPage.position)


async def public_page(slug: str) -> dict[str, Any]:
    from metrolab.kernel.errors import NotFound
    from metrolab.lab.tables import PublicPage

    row = await PublicPage.select().where(PublicPage.slug == slug).first()
    if row is None:
        raise NotFound("页面不存在")
    return row


async def save_public_page(slug: str, values: dict[str, str], actor: Any) -> dict[str, Any]:
    """Create or change the page ``slug`` (title_zh required); audited as ``public_page.saved``."""
    from metrolab.audit.log import record
    from metrolab.kernel.errors import Refused
    from metrolab.lab.tables import PublicPage

    title = (values.get("title_zh") or "").strip()
    if not title:
        raise Refused("标题（中文）不能为空", extra=[{"key": "title_zh", "message": "不能为空"}])
    if not re.fullmatch(r"[A-Za-z0-9_\-]{1,50}", slug):
        raise Refused("页面代码只能包含字母、数字、- 和 _（至多 50 个）")
    row = {
        "title_zh": title[:100],
        "title_en": (values.get("title_en") or "")[:100],
        "body_zh": values.get("body_zh") or "",
        "body_en": values.get("body_en") or "",
        "updated_at": datetime.now(UTC),
    }
    if await PublicPage.exists().where(PublicPage.slug == slug):
        await PublicPage.update(row).where(PublicPage.slug == slug)  # type: ignore[arg-type]  # Piccolo: update() takes str keys; its dict type is invariant
    else:
        count = await PublicPage.count()
        await PublicPage.insert(PublicPage(slug=slug, position=count, **row))  # type: ignore[arg-type]  # Piccolo: **columns go to untyped **kwargs; mypy matches them to _data
    await record("public_page.saved", actor=actor, target_type="public_page", target_id=slug)
    return await public_page(slug)
