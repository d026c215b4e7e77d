"""The form designer in Chromium: drag, properties, live checks, preview, undo/redo, autosave, conflict."""

from __future__ import annotations

import pytest

from conftest import _DATA_DIR, run, ui_login

pytestmark = pytest.mark.browser


@pytest.fixture
def shipped(db):
    from metrolab.forms.services import seed_shipped_forms
    from metrolab.indicators.services import seed_instrument_types

    run(seed_instrument_types())
    run(seed_shipped_forms())


def drag(page, source, target, y_frac: float = 0.5) -> None:  # noqa: ANN001
    """A mouse drag in small steps (SortableJS runs in its pointer fallback mode)."""
    renders = page.evaluate("window.__dz.renders")
    target.evaluate("el => el.scrollIntoView({block: 'center'})")
    sb, tb = source.bounding_box(), target.bounding_box()
    page.mouse.move(sb["x"] + sb["width"] / 2, sb["y"] + sb["height"] / 2)
    page.mouse.down()
    tx, ty = tb["x"] + tb["width"] / 2, tb["y"] + tb["height"] * y_frac
    for step in range(1, 11):
        page.mouse.move(sb["x"] + (tx - sb["x"]) * step / 10, sb["y"] + (ty - sb["y"]) * step / 10)
        page.wait_for_timeout(20)
    for _ in range(
        4
    ):  # the placeholder shifts the layout while dragging: aim again, as a person would
        tb = target.bounding_box()
        page.mouse.move(tb["x"] + tb["width"] / 2, tb["y"] + tb["height"] * y_frac, steps=3)
        page.wait_for_timeout(60)
    page.mouse.up()
    page.wait_for_function(f"window.__dz.renders > {renders}")


def shot(page, name: str) -> None:  # noqa: ANN001
    page.screenshot(path=str(_DATA_DIR / name))


def open_entrustment(page):  # noqa: ANN001, ANN201
    page.goto("/designer")
    page.click("button[data-open=entrustment]")
    page.wait_for_url("**/designer")
    page.wait_for_function("window.__dz && window.__dz.ready")
    return page.url


def test_design_a_shipped_form_preview_undo_autosave_and_conflict(page, make_user, shipped):
    ui_login(page, make_user("tech_manager", full_name="李明"))
    url = open_entrustment(page)
    assert page.locator(".dz-title b").inner_text() == "委托受理单"
    count = page.evaluate("window.__dz.api.model.count()")

    # an empty section, added from the keyboard (nothing selected → at the end of the form)
    page.locator(".dz-pal-item[data-make=section]").focus()
    page.keyboard.press("Enter")
    uid = page.evaluate("window.__dz.api.state().selected")
    section = page.locator(f'.dn-section[data-uid="{uid}"]')
    empty = section.locator(".dz-list")
    assert empty.evaluate("el => el.children.length") == 0
    assert page.evaluate("window.__dz.api.model.count()") == count + 1

    # drag 数字 from the palette into the empty section's drop zone
    drag(page, page.locator(".dz-pal-item[data-make=number]"), empty)
    assert empty.locator(":scope > .dn").count() == 1
    field = empty.locator(":scope > .dn").first
    field.click()
    page.fill('#dz-props input[data-prop="label.zh"]', "管道长度")
    page.fill('#dz-props input[data-prop="key"]', "customer")  # already used in this form
    assert "重复" in page.locator(".dz-key-msg").inner_text()
    assert "has-problem" in field.get_attribute("class")
    page.fill('#dz-props input[data-prop="key"]', "pipe_length")
    assert page.locator(".dz-key-msg").inner_text() == ""
    assert "管道长度" in field.inner_text() and "pipe_length" in field.inner_text()

    # a computed field after it (keyboard add); a typo is flagged, then OK
    page.locator(".dz-pal-item[data-make=computed]").focus()
    page.keyboard.press("Enter")
    page.fill('#dz-props input[data-prop="label.zh"]', "两倍长度")
    page.fill('#dz-props input[data-prop="key"]', "twice")
    expr = page.locator('#dz-props textarea[data-prop="expression"]')
    expr.fill("pipe_lenght * 2")
    msg = page.locator('[data-msg-for="expression"]')
    page.wait_for_function(
        "document.querySelector('[data-msg-for=expression]').textContent.includes('pipe_lenght')"
    )
    assert "pipe_lenght" in msg.inner_text() and "第 1 列" in msg.inner_text()
    shot(page, "designer-typo.png")
    expr.fill("pipe_length * 2")
    page.wait_for_function(
        "document.querySelector('[data-msg-for=expression]').classList.contains('is-ok')"
    )
    assert "pipe_length" in msg.inner_text()

    # the preview computes it on the server (sample value 1.00 → 2.00)
    page.click(".dz-tab[data-tab=preview]")
    page.click("#dz-preview-refresh")
    page.wait_for_function("document.querySelector('#dz-preview #c-twice') !== null")
    assert "管道长度" in page.locator("#dz-preview").inner_text()
    assert page.locator("#dz-preview #c-twice").inner_text().strip() == "2.00"
    shot(page, "designer-preview.png")

    # undo / redo: expression, key, label (one step per input), then the computed field itself
    n = page.evaluate("window.__dz.api.model.count()")
    page.click("[data-cmd=undo]")
    assert page.evaluate("window.__dz.api.model.defn.layout.at(-1).children[1].expression") == ""
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    assert page.evaluate("window.__dz.api.model.count()") == n
    page.keyboard.press("Control+z")
    assert page.evaluate("window.__dz.api.model.count()") == n - 1
    page.keyboard.press("Control+y")
    page.keyboard.press("Control+y")
    page.keyboard.press("Control+y")
    page.click("[data-cmd=redo]")
    assert page.evaluate("window.__dz.api.model.count()") == n
    assert page.locator("[data-cmd=redo]").is_disabled()
    assert "pipe_length * 2" in page.locator(".dz-canvas").inner_text()

    # autosave, then a reload finds the change on the server
    page.wait_for_function(
        "document.querySelector('#dz-save').dataset.state === 'saved'", timeout=15_000
    )
    assert page.locator("#dz-save").inner_text().startswith("已保存")
    page.goto(url)
    page.wait_for_function("window.__dz && window.__dz.ready")
    assert "管道长度" in page.locator(".dz-canvas").inner_text()
    assert "pipe_length * 2" in page.locator(".dz-canvas").inner_text()
    assert page.locator("#dz-banner").is_hidden()  # nothing left to recover

    # a second tab saves first; this tab's save is then stale → the conflict message, nothing overwritten
    other = page.context.new_page()
    other.goto(url)
    other.wait_for_function("window.__dz && window.__dz.ready")
    other.fill('#dz-props input[data-prop="form.title.zh"]', "委托受理单（第二个标签页）")
    other.wait_for_function(
        "document.querySelector('#dz-save').dataset.state === 'saved'", timeout=15_000
    )
    page.fill('#dz-props input[data-prop="form.title.zh"]', "委托受理单（第一个标签页）")
    page.wait_for_function(
        "document.querySelector('#dz-save').dataset.state === 'conflict'", timeout=15_000
    )
    banner = page.locator("#dz-banner")
    assert "保存冲突" in banner.inner_text() and "李明" in banner.inner_text()
    assert banner.locator("[data-banner=export]").is_visible()
    shot(page, "designer-conflict.png")
    other.reload()
    other.wait_for_function("window.__dz && window.__dz.ready")
    assert other.evaluate("window.__dz.api.model.defn.title.zh") == "委托受理单（第二个标签页）"


def test_a_section_dropped_into_a_table_is_refused_and_the_model_is_unchanged(
    page, make_user, shipped
):
    ui_login(page, make_user("tech_manager"))
    open_entrustment(page)
    before = page.evaluate("JSON.stringify(window.__dz.api.model.defn)")
    first_column = page.locator('.dn-table .dz-list[data-slot="columns"] > .dn').first
    drag(page, page.locator(".dz-pal-item[data-make=section]"), first_column, y_frac=0.3)
    assert (
        page.evaluate("window.__dz.lastDrop.slot") == "columns"
    )  # it was dropped among the table's columns
    assert "不能放在这里" in page.locator("#dz-toast").inner_text()
    assert page.evaluate("JSON.stringify(window.__dz.api.model.defn)") == before
    assert page.locator('.dn-table .dz-list[data-slot="columns"] .dn-section').count() == 0


def test_keyboard_only_editing_and_a_refused_import(page, make_user, shipped, tmp_path):
    ui_login(page, make_user("tech_manager"))
    open_entrustment(page)
    model = "window.__dz.api.model"
    first_key = page.evaluate(f"{model}.defn.layout[0].label.zh")
    page.locator(".dz-root > .dn").first.focus()
    page.keyboard.press("Enter")  # Enter edits the properties of the focused node
    assert page.locator('#dz-props input[data-prop="label.zh"]').evaluate(
        "el => el === document.activeElement"
    )
    page.keyboard.press("Escape")  # back to the canvas
    page.keyboard.press("Alt+ArrowDown")  # move the first section below the second node
    assert page.evaluate(f"{model}.defn.layout[1].label.zh") == first_key
    n = page.evaluate(f"{model}.count()")
    page.keyboard.press("Control+d")
    assert page.evaluate(f"{model}.count()") > n
    page.keyboard.press("Delete")
    assert page.evaluate(f"{model}.count()") == n
    page.keyboard.press("ArrowDown")  # into the section's first child
    page.keyboard.press("a")  # to the palette; Enter adds after the selection
    assert page.locator(".dz-pal-item").first.evaluate("el => el === document.activeElement")
    page.keyboard.press("ArrowDown")  # 数字
    page.keyboard.press("Enter")
    assert page.evaluate(f"{model}.count()") == n + 1
    assert page.evaluate(f"{model}.nodes.get(window.__dz.api.state().selected).control") == "number"

    page.click("[data-cmd=submit]")  # the draft is valid: saved first, then submitted
    page.wait_for_selector("#dz-banner.is-ok")
    assert "已提交审核" in page.locator("#dz-banner").inner_text()

    bad = tmp_path / "broken.json"
    bad.write_text(
        '{"format": "metrolab.form/1", "key": "entrustment", "key": "x"}', encoding="utf-8"
    )
    before = page.evaluate(f"JSON.stringify({model}.defn)")
    page.set_input_files("#dz-file", str(bad))
    dialog = page.locator("#dz-dialog")
    dialog.wait_for(state="visible")
    assert "导入被拒绝" in dialog.inner_text() and "重复" in dialog.inner_text()
    assert page.evaluate(f"JSON.stringify({model}.defn)") == before
    shot(page, "designer-import-refused.png")


def test_work_the_server_refuses_to_store_is_kept_in_the_browser_and_offered_back(
    page, make_user, shipped
):
    ui_login(page, make_user("tech_manager"))
    url = open_entrustment(page)
    page.on("dialog", lambda d: d.accept())  # the "leave with unsaved changes?" prompt
    page.locator(".dz-pal-item[data-make=computed]").focus()
    page.keyboard.press(
        "Enter"
    )  # a computed field without an expression: the forms API refuses the draft
    page.wait_for_function(
        "document.querySelector('#dz-save').dataset.state === 'invalid'", timeout=15_000
    )
    assert "暂未保存" in page.locator("#dz-save").inner_text()
    n = page.evaluate("window.__dz.api.model.count()")
    page.goto(url)
    page.wait_for_function("window.__dz && window.__dz.ready")
    assert (
        page.evaluate("window.__dz.api.model.count()") == n - 1
    )  # the server has the last valid draft
    banner = page.locator("#dz-banner")
    assert "发现未保存的更改" in banner.inner_text()
    banner.locator("[data-banner=recover]").click()
    assert page.evaluate("window.__dz.api.model.count()") == n
    page.click("[data-cmd=submit]")  # refused here: the server copy is not what is on screen
    page.wait_for_function("document.querySelector('#dz-toast').textContent.includes('请先修正')")
    assert page.locator("#dz-banner.is-ok").count() == 0
    page.wait_for_selector(
        ".dn-computed.has-problem"
    )  # flagged in place by the preview: no expression yet
    assert "表达式" in page.locator(".dn-computed.has-problem .dn-flag").get_attribute("title")
