"""Signing in and out, lockout, sessions, CSRF, API tokens, staff management."""

import re

from conftest import run


def test_login_sets_httponly_samesite_session_and_home_shows_name(browser, make_user):
    user = make_user("verifier", full_name="周检定")
    r = browser.post(
        "/login",
        data={"username": user["username"], "password": user["password"]},
        follow_redirects=False,
    )
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
    assert (
        "尝试次数过多" in browser.post("/login", data={"username": "ghost", "password": "x"}).text
    )


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
    assert (
        browser.post(
            f"/staff/{clerk['id']}/active", data={"active": "0"}, follow_redirects=False
        ).status_code
        == 303
    )
    assert other.get("/home", follow_redirects=False).status_code == 303
    r = new_browser().post(
        "/login", data={"username": clerk["username"], "password": clerk["password"]}
    )
    assert r.status_code == 401


def test_api_token_works_without_csrf_and_can_be_revoked(browser, new_browser, make_user):
    from metrolab.accounts.tables import ApiToken

    browser.login(make_user("clerk"))
    page = browser.post("/me/tokens", data={"name": "导入脚本"})
    token = re.search(r'id="new-token">([^<]+)<', page.text).group(1)
    script = new_browser().client
    headers = {"Authorization": f"Bearer {token}"}
    assert script.get("/api/v1/me", headers=headers).json()["roles"] == ["clerk"]
    created = script.post(
        "/api/v1/customers", json={"name": "脚本客户", "category": "煤矿"}, headers=headers
    )
    assert created.status_code == 201, created.text
    token_id = run(ApiToken.select(ApiToken.id).first())["id"]
    browser.post(f"/me/tokens/{token_id}/revoke")
    assert script.get("/api/v1/me", headers=headers).status_code == 401


def test_staff_management_create_search_roles_and_statistics(browser, make_user):
    browser.login(make_user("admin"))
    r = browser.post(
        "/staff",
        data={
            "username": "lihua",
            "full_name": "李华",
            "password": "abc12345",
            "department": "",
            "roles": ["verifier", "checker"],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    listing = browser.get("/staff", params={"q": "李华"})
    assert "lihua" in listing.text and "检定员" in listing.text and "核验员" in listing.text
    assert "lihua" not in browser.get("/staff", params={"role": "signatory"}).text
    stats = browser.get("/staff/statistics")
    assert re.search(r"检定员</td><td class=\"num\">1<", stats.text)


def test_staff_form_errors_keep_what_was_typed(browser, make_user):
    browser.login(make_user("admin"))
    r = browser.post(
        "/staff", data={"username": "bad name!", "full_name": "王五", "password": "short"}
    )
    assert r.status_code == 400
    assert "用户名只能包含" in r.text and "密码至少 8 位" in r.text and 'value="王五"' in r.text


def test_qualification_and_signature_image(browser, make_user):
    import io

    from PIL import Image

    admin, verifier = make_user("admin"), make_user("verifier")
    browser.login(admin)
    bad = browser.post(
        f"/staff/{verifier['id']}/qualifications",
        data={
            "certificate_no": "冀-001",
            "instrument_types": "fuel_dispenser",
            "valid_until": "2030-13-01",
        },
    )
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text and 'value="冀-001"' in bad.text
    browser.post(
        f"/staff/{verifier['id']}/qualifications",
        data={
            "certificate_no": "冀-001",
            "instrument_types": "fuel_dispenser, pressure_gauge",
            "valid_until": "2030-12-01",
        },
    )
    from datetime import date

    from metrolab.accounts.services import valid_qualification

    assert run(valid_qualification(verifier["id"], "pressure_gauge", date(2030, 1, 1)))
    assert run(valid_qualification(verifier["id"], "pressure_gauge", date(2031, 1, 1))) is None
    png = io.BytesIO()
    Image.new("RGB", (120, 40), "white").save(png, "PNG")
    ok = browser.post(
        f"/staff/{verifier['id']}/signature",
        files={"signature": ("sig.png", png.getvalue(), "image/png")},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    served = browser.get(f"/staff/{verifier['id']}/signature.png")
    assert served.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(served.content)).size == (120, 40)
    junk = browser.post(
        f"/staff/{verifier['id']}/signature",
        files={"signature": ("x.png", b"not an image", "image/png")},
    )
    assert junk.status_code == 400 and "签名图片：文件内容不是 PNG 或 JPEG 图片" in junk.text


def test_language_can_be_switched_to_english(browser, make_user):
    browser.login(make_user("clerk"))
    browser.post("/language", data={"language": "en", "next": "/home"})
    home = browser.get("/home")
    assert "My verification tasks" in home.text and 'lang="en"' in home.text
    browser.post("/language", data={"language": "zh", "next": "/home"})
    assert "我的检定任务" in browser.get("/home").text


# ── signature images ──────────────────────────────────────────────────────────────────────────


def _png(size=(300, 100), mode="RGBA", color=(0, 0, 0, 0), **save) -> bytes:  # noqa: ANN001, ANN003
    import io

    from PIL import Image, ImageDraw

    img = Image.new(mode, size, color)
    ImageDraw.Draw(img).line(
        [(10, size[1] - 10), (size[0] - 10, 10)], fill=(20, 40, 120, 255)[: len(mode)], width=4
    )
    out = io.BytesIO()
    img.save(out, save.pop("format", "PNG"), **save)
    return out.getvalue()


def _stored(user_id: int) -> str:
    from metrolab.accounts.tables import User

    return run(User.select(User.signature_sha256).where(User.id == user_id).first())[
        "signature_sha256"
    ]


def _audit(action: str, user_id: int) -> list[dict]:
    from metrolab.audit.tables import AuditEvent

    return run(
        AuditEvent.select()
        .where((AuditEvent.action == action) & (AuditEvent.target_id == str(user_id)))
        .output(load_json=True)
    )


def _big_noise_png() -> bytes:
    import io
    import os

    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3)).save(out, "PNG")
    assert len(out.getvalue()) > 1024 * 1024
    return out.getvalue()


REFUSED_UPLOADS = {
    "nothing chosen": (b"", "签名图片：请选择一个 PNG 或 JPEG 图片文件"),
    "gif": (
        _png(mode="RGB", color=(255, 255, 255), format="GIF"),
        "签名图片：文件内容不是 PNG 或 JPEG 图片",
    ),
    "pdf": (b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF", "签名图片：文件内容不是 PNG 或 JPEG 图片"),
    "svg renamed .png": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "签名图片：文件内容不是 PNG 或 JPEG 图片",
    ),
    "html renamed .png": (
        b"<!doctype html><script>alert(1)</script>",
        "签名图片：文件内容不是 PNG 或 JPEG 图片",
    ),
    "oversized": (_big_noise_png(), "签名图片：文件不能超过 1 MB"),
    "truncated png": (_png()[:-40], "签名图片：图片文件已损坏或不完整"),
    "half a png": (_png()[:300], "签名图片：图片文件已损坏或不完整"),
    "png header then garbage": (
        b"\x89PNG\r\n\x1a\n" + b"\0" * 200,
        "签名图片：图片文件已损坏或不完整",
    ),
    "too wide": (
        _png(size=(3000, 100)),
        "签名图片：尺寸应在 16×16 至 2400×1200 像素之间（所选图片 3000×100）",
    ),
    "a dot": (_png(size=(8, 8)), "签名图片：尺寸应在"),
}


def test_refused_signature_uploads_say_why_on_the_staff_page(browser, make_user):
    admin, signatory = make_user("admin"), make_user("signatory")
    browser.login(admin)
    for case, (content, message) in REFUSED_UPLOADS.items():
        r = browser.post(
            f"/staff/{signatory['id']}/signature",
            files={"signature": ("sig.png", content, "image/png")},
        )
        assert r.status_code == 400, case
        assert message in r.text, case
        # The staff page itself, with the message beside the file field — not an error page.
        assert 'id="signature"' in r.text and "has-error" in r.text and "测试用户" in r.text, case
    assert _stored(signatory["id"]) == ""
    assert not _audit("user.signature_set", signatory["id"])


def test_transparent_png_is_kept_and_metadata_dropped(browser, make_user):
    import io

    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    admin, signatory = make_user("admin"), make_user("signatory")
    browser.login(admin)
    info = PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    upload = _png(pnginfo=info) + b"<html>appended after IEND</html>"
    r = browser.post(
        f"/staff/{signatory['id']}/signature",
        files={"signature": ("签名.png", upload, "image/png")},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/staff/{signatory['id']}#signature"
    served = browser.get(f"/staff/{signatory['id']}/signature.png").content
    img = Image.open(io.BytesIO(served))
    assert img.mode == "RGBA" and img.size == (300, 100)
    assert (
        img.getpixel((5, 50))[3] == 0 and img.getpixel((150, 50))[3] == 255
    )  # background clear, ink opaque
    assert b"script" not in served and b"appended" not in served
    page = browser.get(f"/staff/{signatory['id']}").text
    assert f'src="/staff/{signatory["id"]}/signature.png?v={_stored(signatory["id"])[:12]}"' in page


def test_jpeg_is_accepted_and_stored_as_png(browser, make_user):
    import io

    from PIL import Image

    admin, signatory = make_user("admin"), make_user("signatory")
    browser.login(admin)
    jpeg = _png(mode="RGB", color=(255, 255, 255), format="JPEG", quality=90)
    assert (
        browser.post(
            f"/staff/{signatory['id']}/signature",
            files={"signature": ("s.jpg", jpeg, "image/jpeg")},
            follow_redirects=False,
        ).status_code
        == 303
    )
    served = browser.get(f"/staff/{signatory['id']}/signature.png")
    assert (
        served.headers["content-type"] == "image/png"
        and served.headers["x-content-type-options"] == "nosniff"
    )
    assert Image.open(io.BytesIO(served.content)).format == "PNG"


def test_admin_replaces_and_removes_a_signature_and_each_step_is_audited(browser, make_user):
    admin, signatory = make_user("admin"), make_user("signatory")
    browser.login(admin)
    url = f"/staff/{signatory['id']}/signature"
    browser.post(url, files={"signature": ("a.png", _png(), "image/png")})
    first = _stored(signatory["id"])
    assert "更换" in browser.get(f"/staff/{signatory['id']}").text
    browser.post(url, files={"signature": ("b.png", _png(size=(400, 120)), "image/png")})
    second = _stored(signatory["id"])
    assert first and second and first != second
    r = browser.post(f"{url}/remove", follow_redirects=False)
    assert r.status_code == 303 and _stored(signatory["id"]) == ""
    page = browser.get(f"/staff/{signatory['id']}").text
    assert 'id="signature-none"' in page and "signature-preview" not in page
    assert browser.get(f"{url}.png").status_code == 404
    set_events = _audit("user.signature_set", signatory["id"])
    assert [e["details"]["sha256"] for e in set_events] == [first, second]
    assert (
        set_events[0]["actor_name"] == admin["username"]
        and set_events[0]["details"]["own"] is False
    )
    removed = _audit("user.signature_removed", signatory["id"])
    assert len(removed) == 1 and removed[0]["details"]["sha256"] == second


def test_each_user_sets_their_own_signature_but_not_anyone_elses(browser, new_browser, make_user):
    verifier, other = make_user("verifier"), make_user("signatory")
    browser.login(verifier)
    bad = browser.post("/me/signature", files={"signature": ("x.png", b"<svg/>", "image/png")})
    assert (
        bad.status_code == 400
        and "签名图片：文件内容不是 PNG 或 JPEG 图片" in bad.text
        and "个人设置" in bad.text
    )
    ok = browser.post(
        "/me/signature",
        files={"signature": ("me.png", _png(), "image/png")},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/me#signature"
    me = browser.get("/me").text
    assert f"/staff/{verifier['id']}/signature.png?v={_stored(verifier['id'])[:12]}" in me
    assert _audit("user.signature_set", verifier["id"])[0]["details"]["own"] is True
    # Someone else's: neither the staff page route, nor the API, nor even viewing it.
    assert (
        browser.post(
            f"/staff/{other['id']}/signature", files={"signature": ("x.png", _png(), "image/png")}
        ).status_code
        == 403
    )
    api = browser.put(
        f"/api/v1/users/{other['id']}/signature",
        files={"signature": ("x.png", _png(), "image/png")},
    )
    assert api.status_code == 403 and "只有管理员" in api.json()["detail"]
    assert browser.delete(f"/api/v1/users/{other['id']}/signature").status_code == 403
    assert _stored(other["id"]) == ""
    new_browser().login(make_user("admin")).post(
        f"/staff/{other['id']}/signature", files={"signature": ("o.png", _png(), "image/png")}
    )
    assert browser.get(f"/staff/{other['id']}/signature.png").status_code == 403
    assert browser.post("/me/signature/remove", follow_redirects=False).status_code == 303
    assert _stored(verifier["id"]) == "" and _stored(other["id"]) != ""


def test_signature_api_multipart_raw_body_delete_and_bounds(browser, make_user):
    import io

    from PIL import Image

    admin, signatory = make_user("admin"), make_user("signatory")
    browser.login(admin)
    url = f"/api/v1/users/{signatory['id']}/signature"
    r = browser.put(url, files={"signature": ("s.png", _png(), "image/png")})
    assert r.status_code == 200 and r.json()["signature_sha256"] == _stored(signatory["id"])
    raw = browser.put(url, content=_png(size=(500, 150)), headers={"content-type": "image/png"})
    assert raw.status_code == 200
    assert Image.open(
        io.BytesIO(browser.get(f"/staff/{signatory['id']}/signature.png").content)
    ).size == (500, 150)
    assert (
        browser.get(f"/api/v1/users/{signatory['id']}").json()["signature_sha256"]
        == raw.json()["signature_sha256"]
    )
    wrong = browser.put(url, content=b"<html></html>", headers={"content-type": "image/png"})
    assert wrong.status_code == 400 and wrong.json()["detail"].startswith("签名图片：")
    assert browser.delete(url).status_code == 204 and _stored(signatory["id"]) == ""
    assert browser.delete(url).status_code == 204  # already gone: nothing to do, still fine
    for user_id in (0, 2**31, 2**63, 10**30):
        for method, kw in (
            ("PUT", {"content": _png(), "headers": {"content-type": "image/png"}}),
            ("DELETE", {}),
        ):
            r = browser.request(method, f"/api/v1/users/{user_id}/signature", **kw)
            assert r.status_code == 404 and r.json()["detail"] == "工作人员不存在", (
                method,
                user_id,
                r.text,
            )
        assert browser.get(f"/staff/{user_id}").status_code == 404
        assert browser.get(f"/staff/{user_id}/signature.png").status_code == 404
        assert (
            browser.post(
                f"/staff/{user_id}/signature", files={"signature": ("s.png", _png(), "image/png")}
            ).status_code
            == 404
        )
