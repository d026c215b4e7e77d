"""The English catalogue: every extracted message is translated, and an English user sees English pages."""

import subprocess
import sys

from conftest import ROOT


def test_catalogue_has_no_untranslated_messages():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "update_messages.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_english_user_sees_english_pages(browser, make_user):
    browser.login(make_user("admin"))
    r = browser.post("/language", data={"language": "en", "next": "/home"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/home"

    home = browser.get("/home")
    assert home.status_code == 200
    for text in (
        "My verification tasks",
        "Sign out",
        "Customers",
        "Staff",
        "Certificates",  # navigation group passed to _() at run time (#. dynamic)
        "My qualifications expiring within 60 days",
    ):  # home-page task counter
        assert text in home.text, text
    assert "我的检定任务" not in home.text

    customers = browser.get("/customers")
    assert customers.status_code == 200
    for text in (
        "Name / credit code / address / phone",
        "No matching customers",
        "Category",
        "Coal mine",
        "Gas station",
    ):  # category names (dynamic)
        assert text in customers.text, text
    assert "没有符合条件的客户" not in customers.text

    staff = browser.get("/staff")
    assert staff.status_code == 200
    for text in (
        "User name / name / phone",
        "Roles and permissions",
        "Staff statistics",
        "Administrator",
    ):
        assert text in staff.text, text
    assert "人员统计" not in staff.text

    # Back to 中文: the same page is Chinese again.
    browser.post("/language", data={"language": "zh", "next": "/home"})
    assert "我的检定任务" in browser.get("/home").text
