"""Factories for the lab's objects, shared by the suite (real database, real services; no mocks).

    signer = person("signatory")                     # a CurrentUser with those roles
    cert = await approved(cert_id)                   # through the workflow's 批准 (which issues it)
"""

from __future__ import annotations

import secrets

from metrolab.web.auth import CurrentUser

PASSWORD = "secret-pass-1"


async def person_async(*roles: str, full_name: str = "") -> CurrentUser:
    from metrolab.accounts import staff

    username = f"f_{secrets.token_hex(4)}"
    user = await staff.create_user(
        {"username": username, "full_name": full_name or f"测试{username[-4:]}", "password": PASSWORD,
         "department": ""},
        list(roles),
    )
    return CurrentUser(id=user.id, username=username, full_name=full_name or username, language="zh",
                       department_id=None, roles=frozenset(roles))


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
    bad = TemplateVersion(template=template, number=99, status="retired",
                          docx_sha256=storage.put(buf.getvalue()))
    await bad.save()
    await Certificate.update({Certificate.template_version: bad.id}).where(Certificate.id == certificate_id)
    return bad.id


async def unpin_template(certificate_id: int) -> None:
    from metrolab.certificates.tables import Certificate

    await Certificate.update({Certificate.template_version: None}).where(Certificate.id == certificate_id)
