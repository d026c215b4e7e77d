"""The public lookup by number + serial tail is throttled per client address (issue 12: 163
guesses/s enumerated every certificate's public page); the signed QR page is not."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from conftest import run
from metrolab.certificates import verification
from metrolab.certificates.verification import LOOKUP_FAILURES


@pytest.fixture
def issued(db):
    from metrolab.certificates.tables import Certificate

    token = verification.new_token()
    run(
        Certificate.insert(
            Certificate(
                number="JD2026-000123",
                instrument_type="fuel_dispenser",
                kind="检定证书",
                context={"instrument": {"serial": "JY-2024-5678"}},
                verified_on=date(2026, 3, 5),
                valid_until=date(2099, 3, 4),
                conclusion="合格",
                status="issued",
                verify_token=token,
                pdf_sha256="ab" * 32,
                issued_at=datetime.now(UTC),
            )
        )
    )
    return token


def _guess(client, serial: str):  # noqa: ANN001, ANN202
    return client.get(
        "/verify", params={"number": "JD2026-000123", "serial": serial}, follow_redirects=False
    )


def test_a_correct_lookup_finds_the_certificate(issued, browser):
    r = _guess(browser, "5678")
    assert r.status_code == 303 and r.headers["location"] == f"/verify/{issued}"


def test_guessing_is_refused_after_ten_misses_a_minute(issued, browser, new_browser):
    for tail in range(LOOKUP_FAILURES):  # the reproduction: enumerate serial tails
        assert _guess(browser, f"{tail:04d}").status_code == 404
    refused = _guess(browser, "0011")
    assert refused.status_code == 429
    assert "查询过于频繁" in refused.text and "秒后再试" in refused.text
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert _guess(browser, "5678").status_code == 429  # the right guess is no way round it
    # the count is in the database: another client (or worker process) from the address shares it
    assert _guess(new_browser(), "5678").status_code == 429
    # the signed QR page is not throttled
    assert browser.get(f"/verify/{issued}").status_code == 200
    # another address is not affected
    run(verification.check_lookup_allowed("198.51.100.7"))


def test_the_refusal_ends_with_its_window(issued, browser):
    from metrolab.accounts.tables import LoginThrottle

    for tail in range(LOOKUP_FAILURES):
        _guess(browser, f"{tail:04d}")
    assert _guess(browser, "5678").status_code == 429
    past = datetime.now(UTC) - timedelta(minutes=2)
    run(
        LoginThrottle.update(
            {LoginThrottle.updated_at: past, LoginThrottle.locked_until: past}
        ).where(LoginThrottle.key.like("verify:%"))
    )
    assert _guess(browser, "5678").status_code == 303
    assert _guess(browser, "0000").status_code == 404  # a fresh window: counted from one again
    row = run(LoginThrottle.select().where(LoginThrottle.key.like("verify:%")).first())
    assert row["failures"] == 1 and row["locked_until"] is None


def test_misses_below_the_limit_are_not_refused(issued, browser):
    for tail in range(LOOKUP_FAILURES - 1):
        assert _guess(browser, f"{tail:04d}").status_code == 404
    assert _guess(browser, "5678").status_code == 303
