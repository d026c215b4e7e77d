"""Signature images (签名图片) printed on certificates: who may change one, how an upload is checked.

An upload is untrusted: bounded in bytes, PNG or JPEG by its first bytes *and* by decoding every
pixel, bounded in pixels (checked before decoding, so no decompression bomb), then re-encoded as a
PNG — metadata and anything appended to the file are dropped, transparency is kept. The stored
file is never deleted: signatures already made keep pointing at the image they showed.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from metrolab import storage
from metrolab.accounts.tables import User
from metrolab.audit.log import record
from metrolab.web.i18n import N_, _

MAX_BYTES = 1024 * 1024
MIN_SIDE = 16  # px: smaller is a dot, not a signature
MAX_WIDTH, MAX_HEIGHT = 2400, 1200  # px: 20 cm × 10 cm at 300 dpi
_MAGIC = {"PNG": (b"\x89PNG\r\n\x1a\n",), "JPEG": (b"\xff\xd8\xff",)}
_FORMATS = {"PNG": {"PNG"}, "JPEG": {"JPEG", "MPO"}}  # MPO: a phone's JPEG with a preview frame


class SignatureRefused(Exception):
    """A refused upload; `text` is the 中文 (or English) message naming the field."""

    def __init__(self, message: str, **values: Any) -> None:
        super().__init__(message)
        self.message, self.values = message, values

    @property
    def text(self) -> str:
        return _(self.message, **self.values)


def may_change(actor: Any, user_id: int) -> bool:
    """Administrators (staff.manage) for anyone; everybody for their own signature."""
    return actor.id == user_id or actor.can("staff.manage")


def can_view_signature(viewer: Any, owner_id: int) -> bool:
    """The handwritten signature image is the person's own: only they and whoever manages staff
    (staff.manage) may fetch it; merely seeing the staff list (staff.view) is not enough."""
    return viewer.id == owner_id or viewer.can("staff.manage")


may_view = can_view_signature  # the name the image route calls


def _declared_format(content: bytes) -> str | None:
    return next((fmt for fmt, heads in _MAGIC.items() if content.startswith(heads)), None)


def checked_png(content: bytes) -> tuple[bytes, int, int]:
    """(PNG bytes, width, height) of an acceptable upload, or SignatureRefused."""
    if not content:
        raise SignatureRefused(N_("签名图片：请选择一个 PNG 或 JPEG 图片文件"))
    if len(content) > MAX_BYTES:
        size = (Decimal(len(content)) / Decimal(1024 * 1024)).quantize(Decimal("0.1"))
        raise SignatureRefused(N_("签名图片：文件不能超过 1 MB（所选文件约 {size} MB）"), size=size)
    declared = _declared_format(content)
    if declared is None:
        raise SignatureRefused(N_("签名图片：文件内容不是 PNG 或 JPEG 图片（只改扩展名无效）"))
    try:
        with Image.open(io.BytesIO(content)) as img:
            if img.format not in _FORMATS[declared]:
                raise SignatureRefused(
                    N_("签名图片：文件内容不是 PNG 或 JPEG 图片（只改扩展名无效）")
                )
            width, height = img.size
            if min(width, height) < MIN_SIDE or width > MAX_WIDTH or height > MAX_HEIGHT:
                raise SignatureRefused(
                    N_(
                        "签名图片：尺寸应在 {min}×{min} 至 {w}×{h} 像素之间（所选图片 {width}×{height}）"
                    ),
                    min=MIN_SIDE,
                    w=MAX_WIDTH,
                    h=MAX_HEIGHT,
                    width=width,
                    height=height,
                )
            img.load()  # decodes every pixel: a truncated or corrupt file fails here
            return _as_png(img), width, height
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise SignatureRefused(N_("签名图片：图片文件已损坏或不完整，无法打开")) from exc


def _as_png(img: Image.Image) -> bytes:
    img = ImageOps.exif_transpose(img)  # a phone photo of a signature stands upright
    transparent = img.mode in {"RGBA", "LA", "PA"} or "transparency" in img.info
    if transparent:
        img = img.convert("LA" if img.mode in {"L", "LA"} else "RGBA")
    elif img.mode not in {"L", "RGB"}:
        img = img.convert(
            "RGB"
        )  # CMYK JPEG, palette, 16-bit grey: what Word and LibreOffice all read
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


async def set_signature(user_id: int, content: bytes, actor: Any) -> str:
    """Check, store and attach the image; the digest of the stored PNG. Audited."""
    png, width, height = checked_png(content)
    digest = storage.put(png)
    await User.update({User.signature_sha256: digest}).where(User.id == user_id)
    await record(
        "user.signature_set",
        actor=actor,
        target_type="user",
        target_id=user_id,
        details={"sha256": digest, "width": width, "height": height, "own": actor.id == user_id},
    )
    return digest


async def remove_signature(user_id: int, actor: Any) -> bool:
    """Detach the image (the file stays for signatures already made); False when there was none."""
    row = await User.select(User.signature_sha256).where(User.id == user_id).first()
    if not row or not row["signature_sha256"]:
        return False
    await User.update({User.signature_sha256: ""}).where(User.id == user_id)
    await record(
        "user.signature_removed",
        actor=actor,
        target_type="user",
        target_id=user_id,
        details={"sha256": row["signature_sha256"], "own": actor.id == user_id},
    )
    return True


async def image_of(user_id: int) -> bytes | None:
    row = await User.select(User.signature_sha256).where(User.id == user_id).first()
    if not row or not storage.exists(row["signature_sha256"]):
        return None
    return storage.get(row["signature_sha256"])
