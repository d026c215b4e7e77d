"""Signing in and out, lockout, sessions, CSRF, API tokens, staff management."""

import re

from conftest import run


def test_login_sets_httponly_samesite_session_and_home_shows_name(browser, make_user):
    user = make_user("verifier", full_name="周检定")
    r = browser.post("/login", data={"username": user["username"], "password": user["password"]}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/home"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("metrolab_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("samesite", "SameSite")
    home = browser.get("/home")
    assert home.status_code == 200 and "周检定" in home.text and "我的检定任务" in home.text


def test_wrong_password_and_unknown_user_get_the_same_message(browser, make_user):
    user = make_user("clerk")
    wrong = browser.post("/login", data={"username": user["username"], "password": "nope-nope-1"})
    unknown = browser.post("/login", data={"username": "nobody-here", "password": "nope-nope-1"})
    assert wrong.status_code == unknown.status_code == 401
    msg = lambda r: re.search(r'role="alert">([^<]+)<', r.text).group(1)  # noqa: E731
    assert msg(wrong) == msg(unknown) == "用户名或密码错误"
    assert user["username"] in wrong.text  # what was typed is kept


def test_lockout_after_repeated_failures_even_with_the_right_password(browser, make_user):
    user = make_user("clerk")
    for _ in range(5):
        browser.post("/login", data={"username": user["username"], "password": "wrong-pass-1"})
    r = browser.post("/login", data={"username": user["username"], "password": user["password"]})
    assert r.status_code == 401 and "尝试次数过多" in r.text
    # The same lockout applies to names that do not exist, so it reveals nothing.
    for _ in range(5):
        browser.post("/login", data={"username": "ghost", "password": "wrong-pass-1"})
    assert "尝试次数过多" in browser.post("/login", data={"username": "ghost", "password": "x"}).text


def test_post_without_csrf_token_is_refused(browser, make_user):
    user = make_user("clerk")
    browser.login(user)
    r = browser.post("/customers", data={"name": "无令牌公司"}, csrf=False)
    assert r.status_code == 403 and "CSRF" in r.text
    assert "无令牌公司" not in browser.get("/customers").text


def test_logout_ends_the_session(browser, make_user):
    browser.login(make_user("clerk"))
    assert browser.post("/logout", follow_redirects=False).status_code == 303
    r = browser.get("/home", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_disabled_user_cannot_sign_in_and_loses_sessions(browser, new_browser, make_user):
    admin, clerk = make_user("admin"), make_user("clerk")
    other = new_browser().login(clerk)
    browser.login(admin)
    assert browser.post(f"/staff/{clerk['id']}/active", data={"active": "0"}, follow_redirects=False).status_code == 303
    assert other.get("/home", follow_redirects=False).status_code == 303
    r = new_browser().post("/login", data={"username": clerk["username"], "password": clerk["password"]})
    assert r.status_code == 401


def test_api_token_works_without_csrf_and_can_be_revoked(browser, new_browser, make_user):
    from metrolab.accounts.tables import ApiToken

    browser.login(make_user("clerk"))
    page = browser.post("/me/tokens", data={"name": "导入脚本"})
    token = re.search(r'id="new-token">([^<]+)<', page.text).group(1)
    script = new_browser().client
    headers = {"Authorization": f"Bearer {token}"}
    assert script.get("/api/v1/me", headers=headers).json()["roles"] == ["clerk"]
    created = script.post("/api/v1/customers", json={"name": "脚本客户", "category": "煤矿"}, headers=headers)
    assert created.status_code == 201, created.text
    token_id = run(ApiToken.select(ApiToken.id).first())["id"]
    browser.post(f"/me/tokens/{token_id}/revoke")
    assert script.get("/api/v1/me", headers=headers).status_code == 401


def test_staff_management_create_search_roles_and_statistics(browser, make_user):
    browser.login(make_user("admin"))
    r = browser.post("/staff", data={"username": "lihua", "full_name": "李华", "password": "abc12345",
                                     "department": "", "roles": ["verifier", "checker"]}, follow_redirects=False)
    assert r.status_code == 303
    listing = browser.get("/staff", params={"q": "李华"})
    assert "lihua" in listing.text and "检定员" in listing.text and "核验员" in listing.text
    assert "lihua" not in browser.get("/staff", params={"role": "signatory"}).text
    stats = browser.get("/staff/statistics")
    assert re.search(r"检定员</td><td class=\"num\">1<", stats.text)


def test_staff_form_errors_keep_what_was_typed(browser, make_user):
    browser.login(make_user("admin"))
    r = browser.post("/staff", data={"username": "bad name!", "full_name": "王五", "password": "short"})
    assert r.status_code == 400
    assert "用户名只能包含" in r.text and "密码至少 8 位" in r.text and 'value="王五"' in r.text


def test_qualification_and_signature_image(browser, make_user):
    import io

    from PIL import Image

    admin, verifier = make_user("admin"), make_user("verifier")
    browser.login(admin)
    bad = browser.post(f"/staff/{verifier['id']}/qualifications",
                       data={"certificate_no": "冀-001", "instrument_types": "fuel_dispenser", "valid_until": "2030-13-01"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text and 'value="冀-001"' in bad.text
    browser.post(f"/staff/{verifier['id']}/qualifications",
                 data={"certificate_no": "冀-001", "instrument_types": "fuel_dispenser, pressure_gauge", "valid_until": "2030-12-01"})
    from datetime import date

    from metrolab.accounts.services import valid_qualification

    assert run(valid_qualification(verifier["id"], "pressure_gauge", date(2030, 1, 1)))
    assert run(valid_qualification(verifier["id"], "pressure_gauge", date(2031, 1, 1))) is None
    png = io.BytesIO()
    Image.new("RGB", (120, 40), "white").save(png, "PNG")
    ok = browser.post(f"/staff/{verifier['id']}/signature", files={"signature": ("sig.png", png.getvalue(), "image/png")},
                      follow_redirects=False)
    assert ok.status_code == 303
    assert browser.get(f"/staff/{verifier['id']}/signature.png").content == png.getvalue()
    junk = browser.post(f"/staff/{verifier['id']}/signature", files={"signature": ("x.png", b"not an image", "image/png")})
    assert junk.status_code == 400 and "无法识别的图片文件" in junk.text


def test_language_can_be_switched_to_english(browser, make_user):
    browser.login(make_user("clerk"))
    browser.post("/language", data={"language": "en", "next": "/home"})
    home = browser.get("/home")
    assert "My verification tasks" in home.text and 'lang="en"' in home.text
    browser.post("/language", data={"language": "zh", "next": "/home"})
    assert "我的检定任务" in browser.get("/home").text
