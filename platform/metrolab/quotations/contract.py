"""The 报价单 data contract: the plain dict a quotation template (.docx, docxtpl) is rendered with —
the same machinery, sandbox and template review as certificate templates (document kind 报价单).

Dates become ``{"iso", "year", "month", "day", "zh"}`` in the renderer; money is text rounded once to
0.01 ("1234.50"); every key is always present ("" when blank; images None).

lab          name, address, postcode, phone, fax, website (no seal: the 检定专用章 is for
             certificates; a quotation is stamped by hand with the lab's own seal)
quotation    number, quoted_on (date), valid_until (date), remarks, status (状态 label)
customer     name, address, contact, phone
lines        [{seq, name, instrument_type, quantity, unit_price, discount, total, remarks}]
             discount is the percentage off (优惠 %), "0" when none
totals       gross (合计), discount (优惠金额), total (报价总额), total_upper (人民币大写)
people       author (编制) / reviewer (审核) / approver (批准): {name, image, on (date)}
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

KIND = "报价单"

SAMPLE: dict[str, Any] = {
    "lab": {
        "name": "邯郸市矿用仪表计量检定中心",
        "address": "河北省邯郸市丛台区联纺东路 188 号",
        "postcode": "056002",
        "phone": "0310-8826517",
        "fax": "0310-8826518",
        "website": "www.hdjl.example.cn",
    },
    "quotation": {
        "number": "BJ2026-00012",
        "quoted_on": date(2026, 3, 2),
        "valid_until": date(2026, 4, 1),
        "remarks": "含检定费，不含运输费；现场检定另计差旅费。",
        "status": "已批准",
    },
    "customer": {
        "name": "冀中能源峰峰集团有限公司大淑村矿",
        "address": "河北省邯郸市峰峰矿区大淑村",
        "contact": "王建国",
        "phone": "0310-5551234",
    },
    "lines": [
        {
            "seq": 1,
            "name": "催化燃烧式甲烷测定器",
            "instrument_type": "methane_detector",
            "quantity": 20,
            "unit_price": "120.00",
            "discount": "10",
            "total": "2160.00",
            "remarks": "",
        },
        {
            "seq": 2,
            "name": "一氧化碳测定器",
            "instrument_type": "co_detector",
            "quantity": 5,
            "unit_price": "150.00",
            "discount": "0",
            "total": "750.00",
            "remarks": "送检",
        },
    ],
    "totals": {
        "gross": "3150.00",
        "discount": "240.00",
        "total": "2910.00",
        "total_upper": "贰仟玖佰壹拾元整",
    },
    "people": {
        "author": {"name": "张业务", "image": None, "on": date(2026, 3, 2)},
        "reviewer": {"name": "李技术", "image": None, "on": date(2026, 3, 2)},
        "approver": {"name": "王批准", "image": None, "on": date(2026, 3, 3)},
    },
}

OPTIONAL_VARIABLES: frozenset[str] = frozenset(
    {
        "lab.postcode",
        "lab.fax",
        "lab.website",
        "customer.address",
        "customer.contact",
        "customer.phone",
        "quotation.remarks",
        "lines[].remarks",
        "people.author.image",
        "people.reviewer.image",
        "people.approver.image",
        "people.reviewer.on",
        "people.approver.on",
    }
)


def sample_context() -> dict[str, Any]:
    return copy.deepcopy(SAMPLE)


def sample_images(context: dict[str, Any] | None = None) -> dict[str, bytes]:
    """Drawn signatures for the sample's three people."""
    from metrolab.certificates.contract import _signature_png

    ctx = context or SAMPLE
    return {f"people.{k}.image": _signature_png(p["name"]) for k, p in ctx["people"].items()}


def _provided() -> frozenset[str]:
    from metrolab.engine.documents.lint import variable_paths
    from metrolab.engine.documents.render import to_plain

    return frozenset(variable_paths(to_plain(SAMPLE)))


PROVIDED_VARIABLES: frozenset[str] = _provided()

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL = ["", "拾", "佰", "仟"]
_BIG = ["", "万", "亿", "万亿"]


def rmb_upper(amount: Decimal) -> str:
    """人民币大写 of an amount already rounded to 0.01: 2910.00 → 贰仟玖佰壹拾元整, 0.5 → 伍角."""
    cents = int((amount * 100).to_integral_value())
    if cents < 0:
        return "负" + rmb_upper(-amount)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    text, digits, pending = "", str(yuan), False
    if yuan:
        for i, ch in enumerate(digits):
            place = len(digits) - 1 - i
            if ch == "0":
                pending = True
            else:
                text += ("零" if pending else "") + _DIGITS[int(ch)] + _SMALL[place % 4]
                pending = False
            group = digits[max(0, i - 3) : i + 1] if place % 4 == 0 else ""
            if place % 4 == 0 and place and int(group or "0"):
                text += _BIG[place // 4]
        text += "元"
    if not jiao and not fen:
        return (text or "零元") + "整"
    if jiao:
        text += ("零" if pending and text else "") + _DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    return text
