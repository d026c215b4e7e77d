"""资料下载 on the portal (§5.3): files the admin publishes and withdraws; anyone downloads them.
Uploads are untrusted: judged by their first bytes (and a zip's directory) within the lab's
upload limit, stored by SHA-256 in metrolab.storage."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from metrolab import storage
from metrolab.audit.log import record as audit
from metrolab.kernel.errors import Conflict, NotFound, Refused
from metrolab.services.tables import PublishedDocument
from metrolab.settings import get_settings
from metrolab.web.i18n import N_

CATEGORIES = [N_("申请表格"), N_("收费标准"), N_("办事指南"), N_("通知公告"), N_("其他")]
# First bytes → (media type, the names it may carry).
TYPES = {
    b"%PDF-": ("application/pdf", (".pdf",)),
    b"\x89PNG\r\n\x1a\n": ("image/png", (".png",)),
    b"\xff\xd8\xff": ("image/jpeg", (".jpg", ".jpeg")),
}
OFFICE = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_BAD_NAME = re.compile(r'[\x00-\x1f\\/:*?"<>|]')


def media_type(data: bytes, filename: str) -> str:
    """PDF, PNG, JPEG, DOCX or XLSX, by content and name; Refused for anything else."""
    limit = get_settings().upload_max_bytes
    if len(data) > limit:
        raise Refused(f"文件过大（至多 {limit // 1024 // 1024} MB）", status_code=413)
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    for magic, (media, suffixes) in TYPES.items():
        if data.startswith(magic) and suffix in suffixes:
            return media
    if data.startswith(b"PK\x03\x04") and suffix in OFFICE:
        from metrolab.engine.documents.uploads import DOCX_LIMITS, zip_directory

        zip_directory(data, DOCX_LIMITS, filename)  # a zip bomb is refused before anyone opens it
        return OFFICE[suffix]
    raise Refused("只接受 PDF、PNG、JPEG、Word（.docx）或 Excel（.xlsx）文件，且扩展名与内容一致")


def _title(raw: str) -> str:
    title = (raw or "").strip()
    if not title:
        raise Refused("请填写资料标题")
    if len(title) > 200 or any(not c.isprintable() for c in title):
        raise Refused("资料标题至多 200 字，不能含控制字符")
    return title


async def publish(
    title: str, category: str, data: bytes, filename: str, user: Any
) -> dict[str, Any]:
    title = _title(title)
    if category not in CATEGORIES:
        raise Refused("请选择资料类别")
    if not data:
        raise Refused("请选择要发布的文件")
    name = _BAD_NAME.sub("_", (filename or "").strip())[-200:] or "file"
    media = media_type(data, name)
    digest = storage.put(data)
    doc = PublishedDocument(
        title=title,
        category=category,
        filename=name,
        media_type=media,
        size=len(data),
        sha256=digest,
        published_by=getattr(user, "id", None),
    )
    await doc.save()
    await audit(
        "service_document.published",
        actor=user,
        target_type="service_document",
        target_id=doc.id,
        details={"title": title, "sha256": digest},
    )
    return await get(doc.id)


async def get(doc_id: int) -> dict[str, Any]:
    row = await PublishedDocument.select().where(PublishedDocument.id == doc_id).first()
    if row is None:
        raise NotFound("资料不存在")
    return row


async def listed(include_withdrawn: bool = False) -> list[dict[str, Any]]:
    query = PublishedDocument.select().order_by(PublishedDocument.id, ascending=False).limit(500)
    if not include_withdrawn:
        query = query.where(PublishedDocument.withdrawn_at.is_null())
    return list(await query)


async def withdraw(doc_id: int, user: Any) -> dict[str, Any]:
    doc = await get(doc_id)
    if doc["withdrawn_at"]:
        raise Conflict("该资料已撤下")
    await PublishedDocument.update({PublishedDocument.withdrawn_at: datetime.now(UTC)}).where(
        PublishedDocument.id == doc_id
    )
    await audit(
        "service_document.withdrawn",
        actor=user,
        target_type="service_document",
        target_id=doc_id,
        details={"title": doc["title"]},
    )
    return await get(doc_id)


async def download(doc_id: int) -> tuple[dict[str, Any], bytes]:
    """A published file; a withdrawn one is gone for the public."""
    doc = await get(doc_id)
    if doc["withdrawn_at"]:
        raise NotFound("资料不存在或已撤下")
    return doc, storage.get(doc["sha256"])


def size_text(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"
