"""The certificate data contract: the plain dict the certificates feature hands to a template
(a lab concept, so it lives here; the documents engine knows only plain dicts and dotted paths).

It follows DB1304/T 505-2025 Appendix A (检定证书格式). Values are plain data: dicts,
lists, str, ``Decimal`` (shown as ``str(value)``, so ``Decimal("0.50")`` keeps its
reporting resolution), ``datetime.date`` or ``None``. Text that is missing is ``""``, never
``None``; only dates and images may be ``None``. The renderer turns every date
into ``{"iso", "year", "month", "day", "zh"}`` (``zh`` = ``2025年06月12日``), so a
template writes ``{{ verified_on.year }}年{{ verified_on.month }}月{{ verified_on.day }}日``.

Images (the QR code, signatures, the seal) are not in the dict: they are passed to
``render_docx(images={"qr_code": png, "people.approver.image": png, "lab.seal": png, ...})``
and the renderer puts an ``InlineImage`` at that path; the dict holds ``None`` there.

Keys (every key is always present; ``""`` / ``None`` / ``[]`` when not applicable). Keys in
``OPTIONAL_VARIABLES`` may be blank on a real certificate: template lint refuses a tag that
prints one of them unless it is guarded (``{% if x %}…{% endif %}``, ``x if x else '—'``,
``x or '—'`` or ``x|default('—', true)``).

lab                 name, authorization_no (授权证书号), authorization_note (授权说明),
                    address, postcode, phone, fax, website, seal (image: 检定专用章)
certificate         number, kind ("检定证书" | "检定结果通知书"), revision (int, 0 = first
                    issue), issued_at (date), supersedes_number (the number this one
                    replaces, ISO/IEC 17025 §7.8.8.2; "" on a first issue)
customer            name, address (送检单位)
instrument          name, model (型号/规格), serial (出厂编号), manufacturer, accuracy,
                    range
basis               code, name (检定依据, e.g. "JJG 678-2007", "催化燃烧式甲烷测定器")
conclusion          "合格" | "不合格" | free text such as "符合1级"
verified_on         date (检定日期)
received_on         date (收样日期: the entrustment's receipt) or None when not known
valid_until         date (有效期至) on a certificate; None on a notice
people              verifier / checker / approver: {name, image}
environment         temperature (℃), humidity (%RH), pressure (kPa): str or Decimal;
                    "" when the record does not state it
standard_devices    [{name, range, uncertainty, certificate_no, valid_until}] 计量标准装置
standard_instruments  [same keys] 主要计量标准器
results             [{seq, item, requirement, measured, value, unit, conclusion, uncertainty_text}]
                    检定结果; value/unit: the measured figure as data ("-0.23", "%"; "" if text);
                    a row whose item has an uncertainty budget printed on the certificate also has
                    uncertainty {U, k, unit[, p]} (decimal text) and uncertainty_points [{point, label,
                    U, k, unit}]; uncertainty_text is "U = 0.035 %CH₄ (k = 2)" or ""
decision_rule       "判定规则：…" (the type's decision rule) or "" when the type has no budget
failing_items       [{item, requirement, measured}] the items that did not conform (notice)
remarks             list of str, printed under the results (may be empty)
qr_code             image (the verification URL as a QR code)
verify_url          the public URL the QR code encodes

Page numbers are Word PAGE / NUMPAGES fields in the template, not data.
"""

from __future__ import annotations

import copy
import io
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

SAMPLE: dict[str, Any] = {
    "lab": {
        "name": "邯郸市矿用仪表计量检定中心",
        "authorization_no": "(冀)法计(2023)04017号",
        "authorization_note": "本机构经河北省市场监督管理局授权，依法开展矿用仪表计量检定工作。",
        "address": "河北省邯郸市丛台区联纺东路 188 号",
        "postcode": "056002",
        "phone": "0310-8826517",
        "fax": "0310-8826518",
        "website": "www.hdjl.example.cn",
        "seal": None,
    },
    "certificate": {
        "number": "JD2025-000317",
        "kind": "检定证书",
        "revision": 0,
        "issued_at": date(2025, 6, 13),
        "supersedes_number": "",
    },
    "customer": {
        "name": "冀中能源峰峰集团有限公司大淑村矿",
        "address": "河北省邯郸市峰峰矿区大淑村",
    },
    "instrument": {
        "name": "便携式甲烷检测报警仪",
        "model": "JCB4",
        "serial": "2024-08-1153",
        "manufacturer": "邯郸市恒安矿用仪器有限公司",
        "accuracy": "±0.10 %CH₄（0.00～1.00）%CH₄",
        "range": "(0.00～4.00) %CH₄",
    },
    "basis": {"code": "JJG 678-2007", "name": "催化燃烧式甲烷测定器"},
    "conclusion": "合格",
    "verified_on": date(2025, 6, 12),
    "received_on": date(2025, 6, 10),
    "valid_until": date(2026, 6, 11),
    "people": {
        "verifier": {"name": "张晓明", "image": None},
        "checker": {"name": "李建华", "image": None},
        "approver": {"name": "王志刚", "image": None},
    },
    "environment": {
        "temperature": Decimal("21.5"),
        "humidity": Decimal("48"),
        "pressure": Decimal("101.2"),
    },
    "standard_devices": [
        {
            "name": "甲烷测定器检定装置",
            "range": "(0.00～4.00) %CH₄",
            "uncertainty": "Urel=2.0 %，k=2",
            "certificate_no": "[2022]冀量标邯证字第017号",
            "valid_until": date(2026, 9, 30),
        },
    ],
    "standard_instruments": [
        {
            "name": "甲烷气体标准物质",
            "range": "0.52 %CH₄",
            "uncertainty": "Urel=1.0 %，k=2",
            "certificate_no": "GBW(E)062012-250301",
            "valid_until": date(2026, 3, 1),
        },
        {
            "name": "甲烷气体标准物质",
            "range": "2.01 %CH₄",
            "uncertainty": "Urel=1.0 %，k=2",
            "certificate_no": "GBW(E)062015-250302",
            "valid_until": date(2026, 3, 1),
        },
        {
            "name": "秒表",
            "range": "(0～3600) s",
            "uncertainty": "MPE: ±0.10 s/h",
            "certificate_no": "SJ2025-01283",
            "valid_until": date(2026, 1, 14),
        },
    ],
    "results": [
        {
            "seq": 1,
            "item": "外观及通电检查",
            "requirement": "标志齐全，显示正常",
            "measured": "符合要求",
            "value": "",
            "unit": "",
            "conclusion": "合格",
            "uncertainty_text": "",
        },
        {
            "seq": 2,
            "item": "基本误差（0.52 %CH₄）",
            "requirement": "±0.10 %CH₄",
            "measured": Decimal("0.03"),
            "value": "0.03",
            "unit": "%CH₄",
            "conclusion": "合格",
            "uncertainty": {"U": "0.035", "k": "2", "unit": "%CH₄"},
            "uncertainty_text": "U = 0.035 %CH₄ (k = 2)",
        },
        {
            "seq": 3,
            "item": "基本误差（2.01 %CH₄）",
            "requirement": "示值的 ±10 %",
            "measured": "+4.0 %",
            "value": "4.0",
            "unit": "%",
            "conclusion": "合格",
            "uncertainty_text": "",
        },
        {
            "seq": 4,
            "item": "响应时间",
            "requirement": "≤30 s",
            "measured": "18 s",
            "value": "18",
            "unit": "s",
            "conclusion": "合格",
            "uncertainty_text": "",
        },
        {
            "seq": 5,
            "item": "报警点",
            "requirement": "1.00 %CH₄，±0.05 %CH₄",
            "measured": "1.02 %CH₄",
            "value": "1.02",
            "unit": "%CH₄",
            "conclusion": "合格",
            "uncertainty_text": "",
        },
        {
            "seq": 6,
            "item": "报警声级强度",
            "requirement": "≥80 dB(A)",
            "measured": "86 dB(A)",
            "value": "86",
            "unit": "dB(A)",
            "conclusion": "合格",
            "uncertainty_text": "",
        },
        {
            "seq": 7,
            "item": "报警光信号",
            "requirement": "20 m 处清晰可见",
            "measured": "符合要求",
            "value": "",
            "unit": "",
            "conclusion": "合格",
            "uncertainty_text": "",
        },
    ],
    "failing_items": [],
    "decision_rule": "判定规则：简单接受（测得值在允许误差限内判合格，测量不确定度不参与判定）",
    "remarks": ["本证书检定结果仅对所检器具有效。", "下次送检请携带本证书。"],
    "qr_code": None,
    "verify_url": "https://jl.example.cn/v/JD2025-000317.5fJ2kQ9xV3pL",
}

_NOTICE_CHANGES: dict[str, Any] = {
    "certificate": {"number": "TZ2025-000042", "kind": "检定结果通知书"},
    "conclusion": "不合格",
    "valid_until": None,
    "failing_items": [
        {"item": "基本误差（2.01 %CH₄）", "requirement": "示值的 ±10 %", "measured": "+13.4 %"},
        {"item": "响应时间", "requirement": "≤30 s", "measured": "41 s"},
    ],
    "verify_url": "https://jl.example.cn/v/TZ2025-000042.Qm8rT1zYcW0a",
}


def sample_context(
    kind: str = "certificate", *, number: str | None = None, serial: str | None = None
) -> dict[str, Any]:
    """A fresh copy of the sample; ``kind`` "certificate" or "notice" (检定结果通知书)."""
    ctx = copy.deepcopy(SAMPLE)
    if kind == "notice":
        ctx["certificate"].update(_NOTICE_CHANGES["certificate"])
        for key in ("conclusion", "valid_until", "failing_items", "verify_url"):
            ctx[key] = copy.deepcopy(_NOTICE_CHANGES[key])
        failing = {f["item"]: f["measured"] for f in ctx["failing_items"]}
        for row in ctx["results"]:
            if row["item"] in failing:
                row["measured"], row["conclusion"] = failing[row["item"]], "不合格"
    elif kind != "certificate":
        raise ValueError(f"unknown kind {kind!r}")
    if number:
        ctx["certificate"]["number"] = number
        ctx["verify_url"] = f"https://jl.example.cn/v/{number}.5fJ2kQ9xV3pL"
    if serial:
        ctx["instrument"]["serial"] = serial
    return ctx


# Paths whose value may be blank ("" or None) on a real certificate: printed only behind a guard.
OPTIONAL_VARIABLES: frozenset[str] = frozenset(
    {
        "lab.fax",
        "lab.website",
        "lab.seal",
        "certificate.supersedes_number",
        "instrument.range",
        "instrument.accuracy",
        "environment.temperature",
        "environment.humidity",
        "environment.pressure",
        "valid_until",
        "received_on",
        "results[].value",
        "results[].unit",
        "standard_devices[].valid_until",
        "standard_instruments[].valid_until",
        "people.verifier.image",
        "people.checker.image",
        "people.approver.image",
        "qr_code",
        "verify_url",
        "results[].uncertainty_text",
        "decision_rule",
    }
)


def sample_images(context: dict[str, Any] | None = None) -> dict[str, bytes]:
    """QR code for the sample's URL, drawn signature images for its three people and a seal."""
    from metrolab.engine.documents.qr import qr_png

    ctx = context or SAMPLE
    images = {"qr_code": qr_png(ctx["verify_url"])}
    for role, person in ctx["people"].items():
        images[f"people.{role}.image"] = _signature_png(person["name"])
    images["lab.seal"] = stand_in_seal_png(ctx["lab"]["name"])
    return images


def _cjk_font(size: int, bold: bool = False) -> Any:
    from PIL import ImageFont

    weight = "Bold" if bold else "Regular"
    for path in (
        f"/usr/share/fonts/opentype/noto/NotoSansCJK-{weight}.ttc",
        f"/usr/share/fonts/opentype/noto/NotoSerifCJK-{weight}.ttc",
    ):
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default()


@cache
def stand_in_seal_png(name: str) -> bytes:
    """A stand-in for a scanned 检定专用章: a red ring, the lab's name along the top, a star and
    检定专用章 (for the sample and the demo lab; a real lab uploads its own)."""
    import math

    from PIL import Image, ImageDraw

    size, red = 480, (200, 20, 40, 235)
    cx = cy = size / 2
    img = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((10, 10, size - 10, size - 10), outline=red, width=14)
    star = [
        (cx + r * math.sin(math.radians(a)), cy - r * math.cos(math.radians(a)))
        for i, a in enumerate(range(0, 360, 36))
        for r in [72 if i % 2 == 0 else 28]
    ]
    draw.polygon(star, fill=red)
    chars = list(name[:16]) or ["章"]
    span = min(250.0, 22.0 * len(chars))
    font = _cjk_font(52, bold=True)
    for i, ch in enumerate(chars):
        angle = -span / 2 + span * (i + 0.5) / len(chars)
        glyph = Image.new("RGBA", (64, 64), (255, 255, 255, 0))
        ImageDraw.Draw(glyph).text((32, 32), ch, font=font, fill=red, anchor="mm")
        glyph = glyph.rotate(-angle, resample=Image.Resampling.BICUBIC)
        x = cx + 168 * math.sin(math.radians(angle))
        y = cy - 168 * math.cos(math.radians(angle))
        img.alpha_composite(glyph, (round(x - 32), round(y - 32)))
    draw.text((cx, cy + 130), "检定专用章", font=_cjk_font(44, bold=True), fill=red, anchor="mm")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


@cache
def _signature_png(name: str) -> bytes:
    """A stand-in for a scanned signature: the name in dark-blue ink, slanted."""
    from PIL import Image, ImageDraw, ImageFont

    font: Any
    try:
        font = ImageFont.truetype("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 64)
    except OSError:
        font = ImageFont.load_default()
    img = Image.new("RGBA", (260, 100), (255, 255, 255, 0))
    ImageDraw.Draw(img).text((12, 8), name, font=font, fill=(20, 40, 120, 255))
    img = img.transform(img.size, Image.Transform.AFFINE, (1, 0.25, -12, 0, 1, 0))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _provided() -> frozenset[str]:
    from metrolab.engine.documents.lint import variable_paths
    from metrolab.engine.documents.render import to_plain

    data = to_plain(sample_context("notice")) | {}
    merged = variable_paths(to_plain(SAMPLE)) | variable_paths(data)
    return frozenset(merged)


PROVIDED_VARIABLES: frozenset[str] = _provided()
