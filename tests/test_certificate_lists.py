"""Every list of certificates searches the same way (number, 出厂编号, instrument, customer) and
exports what it found as xlsx and csv."""

from __future__ import annotations

import csv
import io

import pytest

from conftest import run
from factories import as_user, compiled_certificates, qualify_async

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture
def lab(make_user):
    clerk = make_user("clerk", "certificate_admin")
    verifier = make_user("verifier", full_name="检定员张晓明")
    run(qualify_async(verifier["id"]))
    ids = run(
        compiled_certificates(
            as_user(clerk, "clerk"), as_user(verifier, "verifier"), ("SN-LIST-1", "SN-LIST-2")
        )
    )
    return clerk, ids


def _issue_on_paper(cid: int, number: str) -> None:
    """As issuing leaves it for the lists (a number and a PDF); the render itself is tested elsewhere."""
    from metrolab import storage
    from metrolab.certificates.tables import Certificate

    run(
        Certificate.update(
            {Certificate.number: number, Certificate.pdf_sha256: storage.put(b"%PDF-1.4 x")}
        ).where(Certificate.id == cid)
    )


def test_progress_and_issued_lists_find_by_serial_and_instrument_and_export(lab, browser):
    clerk, (first, second) = lab
    _issue_on_paper(first, "JD2026-00071")
    browser.login(clerk)

    # 证书进度: by 出厂编号 and by the instrument's name
    page = browser.get("/business/certificates", params={"q": "SN-LIST-2"}).text
    assert f"/business/certificates/{second}" in page
    assert f'/business/certificates/{first}"' not in page
    page = browser.get("/business/certificates", params={"q": "甲烷"}).text
    assert f"/business/certificates/{second}" in page and f"/business/certificates/{first}" in page
    # 证书查询 (issued only): by 出厂编号, instrument, customer, number
    for q in ("SN-LIST-1", "甲烷检测", "大淑村", "00071"):
        assert "JD2026-00071" in browser.get("/certificates", params={"q": q}).text, q
    assert "JD2026-00071" not in browser.get("/certificates", params={"q": "SN-LIST-2"}).text

    # exports: what the list found, every column a person reads
    text = browser.get(
        "/business/certificates/export", params={"q": "SN-LIST", "format": "csv"}
    ).text
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert lines[0][:4] == ["证书编号", "器具名称", "型号规格", "出厂编号"]
    assert sorted(line[3] for line in lines[1:]) == ["SN-LIST-1", "SN-LIST-2"]
    assert {line[4] for line in lines[1:]} == {"峰峰集团大淑村矿"}

    xlsx = browser.get("/certificates/export", params={"q": "大淑村", "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(values) == 2 and values[1][0] == "JD2026-00071" and values[1][3] == "SN-LIST-1"

    api = browser.get("/api/v1/certificates/progress/export", params={"format": "csv"})
    assert api.status_code == 200 and "SN-LIST-1" in api.text
    assert browser.get("/api/v1/certificates/export", params={"format": "pdf"}).status_code == 400
    bad = browser.get("/certificates/export", params={"format": "pdf"})
    assert bad.status_code == 400 and "xlsx" in bad.text


def test_print_queue_exports_what_it_lists(lab, browser):
    """证书打印 (the issued / print queue) exports as xlsx and csv like the other lists, the same
    search (待打印 / 已打印, q) as the page; the API twin answers the same."""
    from openpyxl import load_workbook

    from metrolab.certificates.tables import Certificate

    clerk, (first, second) = lab
    _issue_on_paper(first, "JD2026-00081")
    _issue_on_paper(second, "JD2026-00082")
    run(
        Certificate.update({Certificate.status: "issued"}).where(
            Certificate.id.is_in([first, second])
        )
    )
    run(Certificate.update({Certificate.status: "printed"}).where(Certificate.id == second))
    browser.login(clerk)
    assert 'formaction="/certificates/print/export"' in browser.get("/certificates/print").text
    xlsx = browser.get("/certificates/print/export", params={"format": "xlsx"})  # 待打印
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "证书编号" and [v[0] for v in values[1:]] == ["JD2026-00081"]
    text = browser.get(
        "/certificates/print/export", params={"print_status": "已打印", "format": "csv"}
    ).text
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert [line[0] for line in lines[1:]] == ["JD2026-00082"] and lines[1][3] == "SN-LIST-2"
    api = browser.get(
        "/api/v1/certificates/to-print/export", params={"print_status": "", "format": "csv"}
    )
    assert api.status_code == 200 and "JD2026-00081" in api.text and "JD2026-00082" in api.text
    bad = browser.get("/certificates/print/export", params={"format": "pdf"})
    assert bad.status_code == 400 and "xlsx" in bad.text
