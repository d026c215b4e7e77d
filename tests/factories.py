"""Factories for the lab's objects, shared by the suite (real database, real services; no mocks).

signer = person("signatory")                     # a CurrentUser with those roles
cert = await approved(cert_id)                   # through the workflow's 批准 (which issues it)
"""

from __future__ import annotations

import secrets
from datetime import date

from metrolab.web.auth import CurrentUser

PASSWORD = "secret-pass-1"


async def person_async(*roles: str, full_name: str = "") -> CurrentUser:
    from metrolab.accounts import staff

    username = f"f_{secrets.token_hex(4)}"
    user = await staff.create_user(
        {
            "username": username,
            "full_name": full_name or f"测试{username[-4:]}",
            "password": PASSWORD,
            "department": "",
        },
        list(roles),
    )
    return CurrentUser(
        id=user.id,
        username=username,
        full_name=full_name or username,
        language="zh",
        department_id=None,
        roles=frozenset(roles),
    )


async def approved(certificate_id: int, signatory: CurrentUser | None = None) -> dict:
    """Move a certificate in 批准中 through 批准 (signed), which issues it; returns the certificate."""
    from metrolab.certificates.workflow import act
    from metrolab.workflows.signatures import SignerProof

    signatory = signatory or await person_async("signatory", full_name="王志刚")
    return await act(certificate_id, "approve", signatory, password=SignerProof(signatory.id))


async def pin_broken_template(certificate_id: int) -> int:
    """Pin a template version that cannot render (an unknown variable): issuing it fails the way a
    dead converter or a crash would, leaving an approved certificate without its PDF."""
    import io

    from docx import Document

    from metrolab import storage
    from metrolab.certificates.tables import Certificate, TemplateVersion

    doc = Document()
    doc.add_paragraph("{{ certificate.number }} {{ nothing.here }}")
    buf = io.BytesIO()
    doc.save(buf)
    template = (await TemplateVersion.select(TemplateVersion.template).first())["template"]
    bad = TemplateVersion(
        template=template, number=99, status="retired", docx_sha256=storage.put(buf.getvalue())
    )
    await bad.save()
    await Certificate.update({Certificate.template_version: bad.id}).where(
        Certificate.id == certificate_id
    )
    return bad.id


async def unpin_template(certificate_id: int) -> None:
    from metrolab.certificates.tables import Certificate

    await Certificate.update({Certificate.template_version: None}).where(
        Certificate.id == certificate_id
    )


# ── entrustment → record → certificate (编制中), as the business pages do it ──────────────────

VERIFIED_ON = date(2026, 3, 12)
STANDARDS = ["FAC-GAS-01", "STD-GAS-CO-01"]


def as_user(row: dict, *roles: str, name: str = "") -> CurrentUser:
    """The CurrentUser of a ``make_user`` row (the services take the signed-in person)."""
    return CurrentUser(
        id=row["id"],
        username=row["username"],
        full_name=name or row["username"],
        language="zh",
        department_id=None,
        roles=frozenset(roles),
    )


async def qualify_async(
    user_id: int, types=("methane_detector",), until: date | None = None
) -> None:
    from metrolab.accounts.tables import Qualification

    await Qualification.insert(
        Qualification(
            user=user_id,
            certificate_no=f"JD-{user_id}",
            instrument_types=list(types),
            valid_until=until or date(2030, 1, 1),
        )
    )


async def entrustment_async(
    clerk: CurrentUser, serials=("SN-A-0001",), customer="峰峰集团大淑村矿", model="JCB4"
) -> dict:
    """A 委托单 on the published form, one methane detector per serial (送检)."""
    from metrolab.business import services
    from metrolab.engine.forms import parse_submission

    form = {
        "customer": customer,
        "contact": "张三",
        "phone": "0310-5551234",
        "service_mode": "送检",
    }
    for i, s in enumerate(serials):
        form.update(
            {
                f"instruments.{i}.instrument_type": "methane_detector",
                f"instruments.{i}.serial": s,
                f"instruments.{i}.quantity": "1",
                f"instruments.{i}.model": model,
            }
        )
    pin = await services.entrustment_form()
    data = parse_submission(pin.defn, form)
    problems, codes = await services.check_entrustment(pin, data)
    assert not problems, problems
    return await services.create_entrustment(clerk, pin, data, codes)


RECEIVED_ON = date(2026, 3, 2)  # the fixtures' entrustments were received before VERIFIED_ON


async def backdate_receipt(entrustment_id: int, on: date = RECEIVED_ON) -> None:
    """The fixtures verify on a fixed VERIFIED_ON; their entrustments are received today. A record
    form refuses a verification date before the receipt (``not_before``): move the receipt back to
    ``on`` as if the instruments had arrived then."""
    from datetime import UTC, datetime

    from metrolab.business.tables import Entrustment

    at = datetime(on.year, on.month, on.day, 9, 0, tzinfo=UTC)
    await Entrustment.update({Entrustment.received_at: at}).where(Entrustment.id == entrustment_id)


async def fill_record_async(record_id: int, **columns) -> None:
    """The verifier filled and saved the record: the form's own computed sample, conforming, on
    VERIFIED_ON with the gas standards; ``columns`` override OriginalRecord columns."""
    from metrolab.certificates import catalogue
    from metrolab.engine.forms import compute, load_definition, sample_data
    from metrolab.forms.tables import FormVersion
    from metrolab.records.tables import OriginalRecord

    row = (
        await OriginalRecord.select(OriginalRecord.instrument_type, OriginalRecord.form_version)
        .where(OriginalRecord.id == record_id)
        .first()
    )
    itype = await catalogue.instrument_type(row["instrument_type"])
    version = (
        await FormVersion.select(FormVersion.definition)
        .where(FormVersion.id == row["form_version"])
        .output(load_json=True)
        .first()
    )
    defn = load_definition(version["definition"], catalogue=itype)
    result = compute(defn, sample_data(defn, catalogue=itype), catalogue=itype)
    values = {
        OriginalRecord.data: result.data,
        OriginalRecord.conclusion: "合格",
        OriginalRecord.standards: STANDARDS,
        OriginalRecord.verified_on: VERIFIED_ON,
        OriginalRecord.status: "saved",
    }
    values.update({getattr(OriginalRecord, k): v for k, v in columns.items()})
    await OriginalRecord.update(values).where(OriginalRecord.id == record_id)


async def compiled_certificates(
    clerk: CurrentUser,
    verifier: CurrentUser,
    serials=("SN-A-0001",),
    receiver: CurrentUser | None = None,
    **record_columns,
) -> list[int]:
    """Entrustment → received → assigned to ``verifier`` → saved records → certificates (编制中)."""
    from metrolab.business import services

    e = await entrustment_async(clerk, serials)
    await services.receive(e["id"], receiver or verifier, len(serials))
    await backdate_receipt(e["id"])
    ids = []
    for t in await services.tasks_of(e["id"]):
        await services.assign(t["id"], verifier.id, receiver or verifier)
        record_id = await services.open_record(t["id"], verifier)
        await fill_record_async(record_id, **record_columns)
        ids.append(await services.compile_certificate(t["id"], verifier))
    return ids
