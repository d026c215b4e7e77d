"""In Chromium: a clerk types part of a certificate number into 证书进度's search, key by key, and
sees the certificates whose numbers contain it — the characters typed taken as themselves."""

from __future__ import annotations

import pytest

from conftest import ui_login
from test_api_certificates import lab  # noqa: F401 - the fixture
from test_certificate_search import numbered

pytestmark = pytest.mark.browser


def search(page, text: str) -> tuple[list[str], str]:  # noqa: ANN001
    box = page.locator("input[name=q]")
    box.fill("")
    box.press_sequentially(text)
    with page.expect_navigation():
        box.press("Enter")
    assert page.locator("input[name=q]").input_value() == text  # what was typed stays
    shown = page.locator("#certificates td:first-child a").all_inner_texts()
    return shown, page.locator("main p.ml-muted").last.inner_text()


def test_a_clerk_finds_certificates_by_any_part_of_the_number(page, lab):  # noqa: F811
    rows, people = lab
    numbered(people)
    ui_login(page, rows["clerk"])
    page.goto("/business/certificates")

    shown, total = search(page, "jd2026-000")
    assert sorted(s.split()[0] for s in shown) == ["JD2026-0000123", "JD2026-0001230"]
    assert total.startswith("共 2 条")
    shown, total = search(page, "0000123")
    assert sorted(s.split()[0] for s in shown) == ["JD2025-0000123", "JD2026-0000123"]
    shown, total = search(page, "%")  # a percent sign, not "anything"
    assert [s.split()[0] for s in shown] == ["JD_2026%50"]
    shown, total = search(page, "JD2024")
    assert shown == [] and total.startswith("共 0 条")
