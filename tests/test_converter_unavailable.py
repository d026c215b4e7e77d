"""A lab whose LibreOffice is broken gets a 503 that says so in 中文, not a 500 (issue 12)."""

from __future__ import annotations

from conftest import run


def test_a_pdf_asked_for_while_libreoffice_is_broken_answers_503_in_chinese(
    seeded, api_user, app, monkeypatch
):
    from litestar.testing import TestClient

    from metrolab.certificates import services as certs
    from metrolab.certificates.tables import TemplateVersion

    version = run(TemplateVersion.select(TemplateVersion.id).first())
    designer = api_user("tech_manager")
    monkeypatch.setenv(
        "METROLAB_UNOSERVER", "/bin/false"
    )  # an installation whose server dies at start
    certs.use_converter(None)
    certs.close_converter()
    try:
        with TestClient(app, base_url="http://testserver.local") as client:
            r = client.get(
                f"/api/v1/certificate-templates/versions/{version['id']}/preview.pdf",
                headers=designer["headers"],
            )
    finally:
        certs.close_converter()
    assert r.status_code == 503, r.text[:300]
    assert "PDF 转换服务暂不可用" in r.json()["detail"]
