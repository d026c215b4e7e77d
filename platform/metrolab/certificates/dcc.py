"""The Digital Calibration Certificate (DCC): the issued certificate's own content as XML following
PTB's DCC schema 3.1.2 (namespace https://ptb.de/dcc) with D-SI 2.1.0 quantities (https://ptb.de/si).

Built from ``Certificate.context`` — the frozen content the PDF was rendered from — never from a
copy, and validated against the XSDs shipped in ``dcc_schema/`` (loaded once, no network) before
anyone gets it: an invalid DCC is refused with a 中文 message and logged, never served.

Units are written in D-SI syntax (``\\kilo\\pascal``, ``\\metre\\per\\second``); a unit with no D-SI
form (元, dB(A)) is not guessed: its value is given as text with ``nonSIUnit`` naming the unit.
"""

from __future__ import annotations

import io
import logging
import re
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from metrolab.certificates.context import CERTIFICATE, _date
from metrolab.kernel.errors import Refused

log = logging.getLogger(__name__)

SCHEMA_VERSION = "3.1.2"
DCC_NS, SI_NS = "https://ptb.de/dcc", "https://ptb.de/si"
SCHEMA = Path(__file__).with_name("dcc_schema") / "dcc.xsd"
MEDIA_TYPE = "application/xml"
INVALID = "数字证书（DCC）未通过 PTB DCC 3.1.2 模式校验，不能提供下载；已记录，请联系管理员"

ET.register_namespace("dcc", DCC_NS)
ET.register_namespace("si", SI_NS)

# ── units: the lab's notation → D-SI (SI_Format 2.1.0) ─────────────────────────────────────────

_WHOLE = {  # units taken as a whole (no prefix), some of them lossy: see _LOSSY
    "%": r"\percent",
    "%RH": r"\percent",
    "%CH₄": r"\percent",
    "℃": r"\degreecelsius",
    "°C": r"\degreecelsius",
    "°": r"\degree",
    "min": r"\minute",
    "h": r"\hour",
    "d": r"\day",
}
_LOSSY = {"%RH": "相对湿度 %RH", "%CH₄": "甲烷体积分数 %CH₄"}  # the D-SI unit alone loses this
_BASE = {
    "m": r"\metre",
    "g": r"\gram",
    "s": r"\second",
    "A": r"\ampere",
    "K": r"\kelvin",
    "mol": r"\mole",
    "cd": r"\candela",
    "Hz": r"\hertz",
    "N": r"\newton",
    "Pa": r"\pascal",
    "J": r"\joule",
    "W": r"\watt",
    "C": r"\coulomb",
    "V": r"\volt",
    "Ω": r"\ohm",
    "L": r"\litre",
    "l": r"\litre",
    "bar": r"\bar",
    "t": r"\tonne",
}
_PREFIX = {
    "G": r"\giga",
    "M": r"\mega",
    "k": r"\kilo",
    "h": r"\hecto",
    "d": r"\deci",
    "c": r"\centi",
    "m": r"\milli",
    "μ": r"\micro",
    "µ": r"\micro",
    "n": r"\nano",
    "p": r"\pico",
}
_POWER = {"²": "2", "³": "3"}


def _factor(token: str) -> str | None:
    token = token.strip()
    power = ""
    if token[-1:] in _POWER:
        token, power = token[:-1], _POWER[token[-1]]
    if not token:
        return None
    unit = _WHOLE.get(token) or _BASE.get(token)
    if unit is None and len(token) > 1 and token[0] in _PREFIX and token[1:] in _BASE:
        unit = _PREFIX[token[0]] + _BASE[token[1:]]
    if unit is None:
        return None
    return unit + (rf"\tothe{{{power}}}" if power else "")


def _product(text: str) -> str | None:
    factors = [_factor(t) for t in re.split(r"[·⋅]", text)]
    return None if not factors or None in factors else "".join(f for f in factors if f)


def dsi_unit(unit: str) -> str | None:
    """The D-SI unit of a unit as the lab writes it ("kPa" → ``\\kilo\\pascal``, "m/s" →
    ``\\metre\\per\\second``, "1/℃" → ``\\degreecelsius\\tothe{-1}``), or None when it has none."""
    text = (unit or "").strip()
    if not text or text.count("/") > 1:
        return None
    if "/" not in text:
        return _product(text)
    top, bottom = (part.strip() for part in text.split("/"))
    if top == "1":
        single = _factor(bottom)
        return None if single is None or r"\tothe" in single else single + r"\tothe{-1}"
    num, den = _product(top), _product(bottom)
    return None if num is None or den is None else rf"{num}\per{den}"


# ── numbers ──────────────────────────────────────────────────────────────────────────────────


def _decimal(value: Any) -> str | None:
    """Decimal text as D-SI writes it ("-0.23", "18"), or None when it is not a finite number."""
    text = str(value if value is not None else "").strip().replace("\u2212", "-").lstrip("+")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return format(number, "f") if number.is_finite() and text else None


def _probability(uncertainty: dict[str, Any]) -> str:
    """The coverage probability: the stated p (%), else ≈ 95 % for k = 2 (JJF 1059.1-2012 §5.3)."""
    p = _decimal(uncertainty.get("p"))
    if p is not None:
        return format(Decimal(p) / 100, "f")
    return "0.95"


# ── XML helpers ──────────────────────────────────────────────────────────────────────────────


def _el(parent: ET.Element, tag: str, text: str | None = None, ns: str = DCC_NS) -> ET.Element:
    child = ET.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        child.text = text
    return child


def _si(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    return _el(parent, tag, text, ns=SI_NS)


def _texts(parent: ET.Element, tag: str, *texts: str) -> ET.Element:
    """A dcc:textType / richContentType element: one ``content`` (lang zh) per text."""
    block = _el(parent, tag)
    for text in texts or ("",):
        _el(block, "content", text).set("lang", "zh")
    return block


def _s(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _iso(value: Any) -> str | None:
    day = _date(value)
    return day.isoformat() if day else None


# ── the four rings ───────────────────────────────────────────────────────────────────────────


def _software(admin: ET.Element) -> None:
    try:
        release = version("metrolab")
    except PackageNotFoundError:  # a source checkout without metadata
        release = "0"
    software = _el(_el(admin, "dccSoftware"), "software")
    _texts(software, "name", "metrolab 计量检定管理平台")
    _el(software, "release", release)
    _el(software, "type", "application")


def _core(admin: ET.Element, ctx: dict[str, Any]) -> None:
    cert = ctx.get("certificate") or {}
    core = _el(admin, "coreData")
    _el(core, "countryCodeISO3166_1", "CN")
    _el(core, "usedLangCodeISO639_1", "zh")
    _el(core, "mandatoryLangCodeISO639_1", "zh")
    _el(core, "uniqueIdentifier", _s(cert.get("number")))
    ids = _el(core, "identifications")
    kind = _s(cert.get("kind")) or CERTIFICATE
    revision = int(cert.get("revision") or 0) + 1
    _identification(
        ids, "calibrationLaboratory", _s(cert.get("number")), f"{kind}编号（第 {revision} 版）"
    )
    if _s(cert.get("supersedes_number")):
        _identification(
            ids, "calibrationLaboratory", _s(cert["supersedes_number"]), "本证书替代的证书编号"
        )
    if received := _iso(ctx.get("received_on")):
        _el(core, "receiptDate", received)
    verified = _iso(ctx.get("verified_on"))
    if verified is None:
        raise Refused("证书没有检定日期，不能生成数字证书（DCC）", status_code=409)
    _el(core, "beginPerformanceDate", verified)
    _el(core, "endPerformanceDate", verified)
    _el(core, "performanceLocation", "laboratory")


def _identification(parent: ET.Element, issuer: str, value: str, name: str) -> None:
    ident = _el(parent, "identification")
    _el(ident, "issuer", issuer)
    _el(ident, "value", value)
    _texts(ident, "name", name)


def _items(admin: ET.Element, ctx: dict[str, Any]) -> None:
    instrument = ctx.get("instrument") or {}
    item = _el(_el(admin, "items"), "item")
    _texts(item, "name", _s(instrument.get("name")) or "计量器具")
    described = [
        f"{label}：{_s(instrument.get(key))}"
        for key, label in (("range", "测量范围"), ("accuracy", "准确度等级"))
        if _s(instrument.get(key))
    ]
    if described:
        _texts(item, "description", *described)
    _texts(_el(item, "manufacturer"), "name", _s(instrument.get("manufacturer")) or "未注明")
    if _s(instrument.get("model")):
        _el(item, "model", _s(instrument["model"]))
    ids = _el(item, "identifications")
    if _s(instrument.get("serial")):
        _identification(ids, "manufacturer", _s(instrument["serial"]), "出厂编号")
    else:
        number = _s((ctx.get("certificate") or {}).get("number"))
        _identification(ids, "calibrationLaboratory", number, "证书编号（器具无出厂编号）")


def _location(contact: ET.Element, address: str, postcode: str = "") -> None:
    where = _el(contact, "location")
    if postcode:
        _el(where, "postCode", postcode)
    _el(where, "countryCode", "CN")
    if address:
        _texts(where, "further", address)


def _laboratory(admin: ET.Element, ctx: dict[str, Any]) -> None:
    lab = ctx.get("lab") or {}
    laboratory = _el(admin, "calibrationLaboratory")
    if _s(lab.get("authorization_no")):
        _el(laboratory, "calibrationLaboratoryCode", _s(lab["authorization_no"]))
    contact = _el(laboratory, "contact")
    _texts(contact, "name", _s(lab.get("name")) or "检定机构")
    _el(contact, "eMail", "")
    for key, tag in (("phone", "phone"), ("fax", "fax")):
        if _s(lab.get(key)):
            _el(contact, tag, _s(lab[key]))
    _location(contact, _s(lab.get("address")), _s(lab.get("postcode")))


ROLES = (("verifier", "检定员"), ("checker", "核验员"), ("approver", "批准人"))


def _people(admin: ET.Element, ctx: dict[str, Any]) -> None:
    people = ctx.get("people") or {}
    persons = _el(admin, "respPersons")
    named = 0
    for key, role in ROLES:
        person = people.get(key) or {}
        name = _s(person.get("name") if isinstance(person, dict) else person)
        if not name:
            continue
        named += 1
        resp = _el(persons, "respPerson")
        _texts(_el(resp, "person"), "name", name)
        _el(resp, "role", role)
        if key == "approver":
            _el(resp, "mainSigner", "true")
    if not named:
        raise Refused("证书没有签名人员，不能生成数字证书（DCC）", status_code=409)


def _customer(admin: ET.Element, ctx: dict[str, Any]) -> None:
    customer = ctx.get("customer") or {}
    contact = _el(admin, "customer")
    _texts(contact, "name", _s(customer.get("name")) or "未注明")
    _el(contact, "eMail", "")
    _location(contact, _s(customer.get("address")))


def _conformity(conclusion: str) -> str | None:
    return {"合格": "pass", "不合格": "fail"}.get(conclusion.strip())


def _statements(admin: ET.Element, ctx: dict[str, Any]) -> None:
    statements = _el(admin, "statements")
    basis = ctx.get("basis") or {}
    if _s(basis.get("code")) or _s(basis.get("name")):
        st = _el(statements, "statement")
        if _s(basis.get("code")):
            _el(st, "norm", _s(basis["code"]))
        _texts(
            st,
            "declaration",
            f"检定依据：{' '.join(filter(None, (_s(basis.get('code')), _s(basis.get('name')))))}",
        )
    kind = _s((ctx.get("certificate") or {}).get("kind")) or CERTIFICATE
    st = _el(statements, "statement")
    _texts(st, "declaration", f"文书类型：{kind}", f"检定结论：{_s(ctx.get('conclusion'))}")
    until = _iso(ctx.get("valid_until"))
    if until:
        _el(st, "date", until)
    _el(st, "conformity", "pass" if kind == CERTIFICATE else "fail")
    if until:
        st = _el(statements, "statement")
        _texts(st, "declaration", f"有效期至：{until}")
        _el(st, "valid", "true")
        _el(st, "date", until)
    if _s(ctx.get("decision_rule")):
        _texts(_el(statements, "statement"), "declaration", _s(ctx["decision_rule"]))
    remarks = [_s(r) for r in ctx.get("remarks") or [] if _s(r)]
    if remarks:
        _texts(_el(statements, "statement"), "declaration", *(f"备注：{r}" for r in remarks))
    if _s(ctx.get("verify_url")):
        st = _el(statements, "statement")
        _el(st, "reference", _s(ctx["verify_url"]))
        _texts(st, "declaration", "证书真伪与状态查询地址（二维码）")


# ── measurement results ──────────────────────────────────────────────────────────────────────

ENVIRONMENT = (
    ("temperature", "环境温度", "℃"),
    ("humidity", "相对湿度", "%RH"),
    ("pressure", "大气压力", "kPa"),
)


def _real(parent: ET.Element, value: str, unit: str, label: str = "") -> ET.Element:
    real = _si(parent, "real")
    if label:
        _si(real, "label", label)
    _si(real, "value", value)
    _si(real, "unit", unit)
    return real


def _standards(result: ET.Element, ctx: dict[str, Any]) -> None:
    standards = [
        *((s, "计量标准装置") for s in ctx.get("standard_devices") or []),
        *((s, "计量标准器") for s in ctx.get("standard_instruments") or []),
    ]
    if not standards:
        return
    equipments = _el(result, "measuringEquipments")
    _texts(equipments, "name", "检定所用计量标准")
    for s, what in standards:
        eq = _el(equipments, "measuringEquipment")
        _texts(eq, "name", _s(s.get("name")) or what)
        lines = [what] + [
            f"{label}：{text}"
            for label, text in (
                ("测量范围", _s(s.get("range"))),
                ("不确定度/准确度等级/最大允许误差", _s(s.get("uncertainty"))),
                ("有效期至", _iso(s.get("valid_until")) or ""),
            )
            if text
        ]
        _texts(eq, "description", *lines)
        if _s(s.get("certificate_no")):
            _identification(
                _el(eq, "identifications"), "other", _s(s["certificate_no"]), "检定/校准证书编号"
            )


def _environment(result: ET.Element, ctx: dict[str, Any]) -> None:
    environment = ctx.get("environment") or {}
    stated = [(k, name, unit) for k, name, unit in ENVIRONMENT if _s(environment.get(k))]
    if not stated:
        return
    conditions = _el(result, "influenceConditions")
    for key, name, unit in stated:
        condition = _el(conditions, "influenceCondition")
        _texts(condition, "name", name)
        data = _el(condition, "data")
        value, dsi = _decimal(environment[key]), dsi_unit(unit)
        if value is not None and dsi:
            _real(_el(data, "quantity"), value, dsi, _LOSSY.get(unit, ""))
        else:
            _texts(data, "text", f"{_s(environment[key])} {unit}".strip())


def _result(results: ET.Element, row: dict[str, Any]) -> None:
    result = _el(results, "result")
    _texts(result, "name", _s(row.get("item")) or f"检定项目 {row.get('seq', '')}".strip())
    if _s(row.get("requirement")):
        _texts(result, "description", f"技术要求：{_s(row['requirement'])}")
    data = _el(result, "data")
    quantity = _el(data, "quantity")
    value, unit = _decimal(row.get("value")), _s(row.get("unit"))
    dsi = dsi_unit(unit) if value is not None else None
    uncertainty = row.get("uncertainty") or {}
    u_value = _decimal(uncertainty.get("U")) if uncertainty else None
    u_unit = _s(uncertainty.get("unit"))
    notes: list[str] = []
    if value is not None and dsi:
        real = _real(quantity, value, dsi, _LOSSY.get(unit, ""))
        if u_value is not None and dsi_unit(u_unit or unit) == dsi:
            expanded = _si(real, "expandedUnc")
            _si(expanded, "uncertainty", u_value)
            _si(expanded, "coverageFactor", _decimal(uncertainty.get("k")) or "2")
            _si(expanded, "coverageProbability", _probability(uncertainty))
            u_value = None  # stated with the value
    else:
        _texts(quantity, "noQuantity", _s(row.get("measured")) or "—")
        if value is not None:  # a number whose unit has no D-SI form: said, not guessed
            notes.append(f"单位“{unit}”没有 D-SI 表示，测得值以文本给出")
    metadata = _el(quantity, "measurementMetaData")
    meta = _el(metadata, "metaData")
    conclusion = _s(row.get("conclusion"))
    _texts(meta, "declaration", f"结论：{conclusion}", *notes)
    if (conformity := _conformity(conclusion)) is not None:
        _el(meta, "conformity", conformity)
    if notes:
        _el(meta, "nonSIUnit", unit)
    if _s(row.get("uncertainty_text")):
        _texts(_el(metadata, "metaData"), "declaration", _s(row["uncertainty_text"]))
    if u_value is not None:  # U in another unit than the value: its own quantity
        other = _el(data, "quantity")
        _texts(other, "name", "扩展不确定度 U")
        u_dsi = dsi_unit(u_unit)
        if u_dsi:
            _real(other, u_value, u_dsi, f"U（k = {_s(uncertainty.get('k'))}）")
        else:
            _texts(other, "noQuantity", _s(row.get("uncertainty_text")) or u_value)


def _measurements(root: ET.Element, ctx: dict[str, Any]) -> None:
    result = _el(_el(root, "measurementResults"), "measurementResult")
    _texts(result, "name", "检定结果")
    basis = ctx.get("basis") or {}
    if _s(basis.get("code")) or _s(basis.get("name")):
        method = _el(_el(result, "usedMethods"), "usedMethod")
        _texts(method, "name", _s(basis.get("name")) or _s(basis.get("code")))
        if _s(basis.get("code")):
            _el(method, "norm", _s(basis["code"]))
    _standards(result, ctx)
    _environment(result, ctx)
    results = _el(result, "results")
    rows = ctx.get("results") or []
    if not rows:
        raise Refused("证书没有检定结果，不能生成数字证书（DCC）", status_code=409)
    for row in rows:
        _result(results, row)


def build(ctx: dict[str, Any]) -> ET.Element:
    """The DCC element tree of a certificate's content (the contract dict, plain or not)."""
    root = ET.Element(
        f"{{{DCC_NS}}}digitalCalibrationCertificate", {"schemaVersion": SCHEMA_VERSION}
    )
    admin = _el(root, "administrativeData")
    _software(admin)
    _core(admin, ctx)
    _items(admin, ctx)
    _laboratory(admin, ctx)
    _people(admin, ctx)
    _customer(admin, ctx)
    _statements(admin, ctx)
    _measurements(root, ctx)
    return root


# ── validation ───────────────────────────────────────────────────────────────────────────────


@cache
def schema() -> Any:
    """dcc.xsd 3.1.2 with its SI_Format.xsd 2.1.0, loaded once from the package (never the network)."""
    import xmlschema

    return xmlschema.XMLSchema(str(SCHEMA), allow="local")


def problems(xml: bytes) -> list[str]:
    """What the schema finds wrong with a DCC document ([] when it is valid)."""
    return [
        f"{getattr(e, 'path', '') or ''}: {getattr(e, 'reason', None) or e}"[:500]
        for e in schema().iter_errors(io.BytesIO(xml))
    ]


def dcc_xml(ctx: dict[str, Any], *, certificate_id: Any = None) -> bytes:
    """The DCC of an issued certificate's content, valid against the schema — or ``Refused``."""
    root = build(ctx)
    ET.indent(root)
    data = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    if found := problems(data):
        log.error(
            "DCC of certificate %s is not valid against dcc.xsd %s: %s",
            certificate_id,
            SCHEMA_VERSION,
            "; ".join(found[:5]),
        )
        raise Refused(INVALID, status_code=422)
    return data
