"""The form designer in Chromium: drag, properties, live checks, preview, undo/redo, autosave, conflict."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import run, ui_login

pytestmark = pytest.mark.browser


@pytest.fixture
def shipped(db):
    from metrolab.forms.services import seed_shipped_forms
    from metrolab.indicators.services import seed_instrument_types

    run(seed_instrument_types())
    run(seed_shipped_forms())


def drag(page, source, target, y_frac: float = 0.5, shot_as: str = "") -> None:  # noqa: ANN001
    """A person's mouse drag: press on the source, move in small steps, release over the target
    at ``y_frac`` of its height (the designer draws its insertion line there)."""
    renders = page.evaluate("window.__dz.renders")
    target.evaluate("el => el.scrollIntoView({block: 'center'})")
    sb, tb = source.bounding_box(), target.bounding_box()
    page.mouse.move(sb["x"] + sb["width"] / 2, sb["y"] + sb["height"] / 2)
    page.mouse.down()
    tx, ty = tb["x"] + min(tb["width"] / 2, 60), tb["y"] + tb["height"] * y_frac
    page.mouse.move(tx, ty, steps=15)
    page.wait_for_timeout(50)
    page.mouse.move(tx, ty + 0.5, steps=2)
    if shot_as:
        assert page.locator(".dz-insert").is_visible()
        assert page.locator(".dz-list.is-target").count() == 1
        shot(page, shot_as)
    page.mouse.up()
    page.wait_for_function(f"window.__dz.renders > {renders}")


def saved(page, version_id: int) -> dict:  # noqa: ANN001
    """The definition as the server has it, once the autosave has caught up."""
    from metrolab.forms.services import get_version

    page.evaluate("window.__dz.api.save()")
    page.wait_for_function(
        "['saved', 'problems'].includes(document.querySelector('#dz-save').dataset.state)",
        timeout=15_000,
    )
    version = run(get_version(version_id))
    assert version is not None
    return version["definition"]


def version_id(url: str) -> int:
    return int(url.rstrip("/").split("/")[-2])


SHOTS = Path("/tmp/designer-shots")


def shot(page, name: str) -> None:  # noqa: ANN001
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


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

    # the preview computes only from what is typed into it: empty input → no value beside it
    page.click(".dz-tab[data-tab=preview]")
    page.click("#dz-preview-refresh")
    page.wait_for_function("document.querySelector('#dz-preview #c-twice') !== null")
    assert "管道长度" in page.locator("#dz-preview").inner_text()
    assert page.locator("#dz-preview #c-twice").inner_text().strip() == ""
    assert page.locator("#dz-preview input[name=customer]").input_value() == ""
    page.locator("#dz-preview input[name=pipe_length]").press_sequentially("1.25")
    page.wait_for_function(
        "document.querySelector('#dz-preview #c-twice').textContent.trim() === '2.50'"
    )
    assert page.locator("#dz-preview input[name=pipe_length]").input_value() == "1.25"
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
    # The banner names who saved once the designer has asked the server (after the state is set).
    expect(banner).to_contain_text("保存冲突", timeout=15_000)
    assert "李明" in banner.inner_text()
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

    page.click("[data-cmd=submit]")  # the draft is valid: saved first, then a change note
    note = page.locator("#dz-dialog textarea")
    note.wait_for(state="visible")
    page.click("#dz-dialog button[value=ok]")  # an empty note is refused in place
    assert "请填写变更说明" in page.locator("#dz-dialog").inner_text()
    note.press_sequentially("增加数字字段")
    page.click("#dz-dialog button[value=ok]")
    page.wait_for_selector("#dz-banner.is-ok")
    assert "已提交审核" in page.locator("#dz-banner").inner_text()
    assert page.locator(".dz-badge").inner_text().endswith("审核中")  # not 草稿 any more
    shot(page, "designer-submitted.png")

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


def test_a_draft_with_a_half_typed_expression_is_saved_with_its_problems_and_not_submitted(
    page, make_user, shipped
):
    ui_login(page, make_user("tech_manager"))
    url = open_entrustment(page)
    vid = version_id(url)
    page.locator(".dz-pal-item[data-make=computed]").focus()
    page.keyboard.press("Enter")  # a computed field without an expression: a problem
    page.locator('#dz-props textarea[data-prop="expression"]').press_sequentially("quantity *")
    # …and another change while the problem is still there: both reach the server
    title = page.locator('#dz-props input[data-prop="label.zh"]')
    title.fill("")
    title.press_sequentially("半成品")
    page.wait_for_function(
        "document.querySelector('#dz-save').dataset.state === 'problems'", timeout=15_000
    )
    assert "个问题" in page.locator("#dz-save").inner_text()
    stored = saved(page, vid)
    last = stored["layout"][-1]  # nothing selected: added at the end of the form
    assert last["label"]["zh"] == "半成品" and last["expression"] == "quantity *"
    shot(page, "designer-saved-with-problems.png")

    page.goto(url)  # the server's draft is the one on screen; nothing to recover
    page.wait_for_function("window.__dz && window.__dz.ready")
    assert page.evaluate("window.__dz.api.model.defn.layout.at(-1).expression") == "quantity *"
    assert page.locator("#dz-banner").is_hidden()
    assert "个问题" in page.locator("#dz-save").inner_text()
    page.click("[data-cmd=submit]")
    page.locator("#dz-dialog textarea").press_sequentially("试提交")
    page.click("#dz-dialog button[value=ok]")
    page.wait_for_function(
        "document.querySelector('#dz-dialog').textContent.includes('未能提交审核')"
    )
    assert page.locator(".dz-badge").inner_text().endswith("草稿")


def test_closing_the_tab_right_after_a_change_loses_nothing(page, make_user, shipped):
    ui_login(page, make_user("tech_manager"))
    url = open_entrustment(page)
    vid = version_id(url)
    from metrolab.forms.services import get_version

    field = page.locator('#dz-props input[data-prop="form.title.zh"]')
    field.fill("")
    field.press_sequentially("关标签页前的标题")
    page.close(run_before_unload=True)  # at once: the 1.5 s autosave has not run yet
    for _ in range(50):
        version = run(get_version(vid))
        if version and version["definition"]["title"]["zh"] == "关标签页前的标题":
            break
        time.sleep(0.1)
    assert version["definition"]["title"]["zh"] == "关标签页前的标题"


def test_mouse_drops_land_where_the_insertion_line_showed(page, make_user, shipped):
    ui_login(page, make_user("tech_manager"))
    url = open_entrustment(page)
    vid = version_id(url)
    root = ".dz-root > .dn"

    # a new 分区 onto the top half of 受理's head: before 受理 at the top level, not inside it
    accept = page.locator(f"{root}.dn-section").nth(1)
    drag(
        page,
        page.locator(".dz-pal-item[data-make=section]"),
        accept.locator(":scope > .dn-head"),
        y_frac=0.3,
        shot_as="designer-drag-top.png",
    )
    layout = saved(page, vid)["layout"]
    assert [n["type"] for n in layout] == ["section", "table", "computed", "section", "section"]
    assert layout[3].get("children") == [] and layout[4]["label"]["zh"] == "受理"

    # a 数字 into the section 受理, between 要求完成日期 and 检定方式
    accept = page.locator(f"{root}.dn-section").nth(2)
    mode = accept.locator(":scope > .dn-body .dz-list > .dn").nth(1)
    drag(
        page,
        page.locator(".dz-pal-item[data-make=number]"),
        mode.locator(":scope > .dn-head"),
        y_frac=0.2,
        shot_as="designer-drag-section.png",
    )
    children = saved(page, vid)["layout"][4]["children"]
    assert [c.get("key") for c in children][:1] == ["requested_date"]
    assert children[1]["control"] == "number" and children[2]["key"] == "service_mode"

    # a 文本 into the second column of 委托单位, below 联系电话 (the column's end)
    col1 = page.locator('.dz-list[data-slot="col1"]').first
    phone = col1.locator(":scope > .dn").nth(1)
    drag(
        page,
        page.locator(".dz-pal-item[data-make=text]"),
        phone.locator(":scope > .dn-head"),
        y_frac=0.9,
        shot_as="designer-drag-column.png",
    )
    columns = saved(page, vid)["layout"][0]["children"][0]["columns"]
    assert [c["key"] for c in columns[0]] == ["customer", "credit_code", "address"]
    assert [c.get("key") for c in columns[1]][:2] == ["contact", "phone"]
    assert columns[1][2]["control"] == "text"

    # a 数字 among the table's columns, before 数量
    table = page.locator(f"{root}.dn-table")
    qty = table.locator('.dz-list[data-slot="columns"] > .dn').nth(3)
    drag(
        page,
        page.locator(".dz-pal-item[data-make=number]"),
        qty.locator(":scope > .dn-head"),
        y_frac=0.25,
    )
    cols = saved(page, vid)["layout"][1]["columns"]
    assert [c.get("key") for c in cols][:3] == ["instrument_type", "model", "serial"]
    assert cols[3]["control"] == "number" and cols[4]["key"] == "quantity"

    # moving an existing node: 备注 (last of 受理) onto 受理's head → before 受理, at the top level
    accept = page.locator(f"{root}.dn-section").nth(2)
    remarks = accept.locator(":scope > .dn-body .dz-list > .dn").last
    drag(page, remarks.locator(":scope > .dn-head"), accept.locator(":scope > .dn-head"))
    layout = saved(page, vid)["layout"]
    assert layout[4]["key"] == "remarks" and layout[5]["label"]["zh"] == "受理"
    assert "remarks" not in [c.get("key") for c in layout[5]["children"]]


def test_new_form_from_the_record_starter_opens_in_the_designer(page, make_user, shipped):
    ui_login(page, make_user("tech_manager"))
    page.goto("/designer")
    page.click("#new-form-link")
    page.check("input[name=starter][value=record]")
    page.locator("input[name=key]").press_sequentially("co_record_new")
    page.locator("input[name=title_zh]").press_sequentially("一氧化碳检测报警器原始记录")
    page.click("#new-form button[type=submit]")  # no instrument type yet: refused beside it
    assert "须选择器具类型" in page.locator("#catalogue-error").inner_text()
    assert page.locator("input[name=title_zh]").input_value() == "一氧化碳检测报警器原始记录"
    shot(page, "designer-new-refused.png")
    page.select_option("select[name=catalogue]", "co_detector")
    page.click("#new-form button[type=submit]")
    page.wait_for_url("**/designer")
    page.wait_for_function("window.__dz && window.__dz.ready")
    assert page.locator(".dz-title b").inner_text() == "一氧化碳检测报警器原始记录"
    assert page.locator(".dz-badge").inner_text() == "v1 · 草稿"
    assert page.locator(".dn-indicator_table").count() == 1
    shot(page, "designer-new-record.png")


def test_a_date_rule_not_before_is_chosen_in_the_panel_and_saved(page, make_user, shipped):
    """不早于 (a record's date may not precede the entrustment's receipt) is a panel choice, not JSON."""
    ui_login(page, make_user("tech_manager"))
    page.goto("/designer")
    page.click("button[data-open=methane_detector_record]")
    page.wait_for_url("**/designer")
    page.wait_for_function("window.__dz && window.__dz.ready")
    vid = version_id(page.url)
    page.locator(".dn", has_text="verification_date").last.click()
    rule = page.locator('#dz-props select[data-prop="not_before"]')
    assert rule.locator("option:checked").inner_text() == "委托单接收日期"
    rule.select_option(label="不限")
    assert "not_before" not in _node(saved(page, vid), "verification_date")
    rule = page.locator('#dz-props select[data-prop="not_before"]')
    rule.select_option(label="委托单接收日期")
    shot(page, "designer-not-before.png")
    assert _node(saved(page, vid), "verification_date")["not_before"] == {
        "context": "received_on",
        "label": {"zh": "委托单接收日期", "en": "the entrustment's receipt date"},
    }


def _node(definition: dict, key: str) -> dict:
    found = []

    def walk(value) -> None:  # noqa: ANN001
        if isinstance(value, dict):
            if value.get("key") == key:
                found.append(value)
            for sub in value.values():
                walk(sub)
        elif isinstance(value, list):
            for sub in value:
                walk(sub)

    walk(definition)
    assert found, key
    return found[0]


def test_every_shipped_form_opens_in_the_designer_without_problems(page, make_user, shipped):
    """The designer's own checks agree with the server's: a shipped form (valid on the server) shows
    no problem — per-item point columns of an indicator table are separate scopes, as on the server."""
    ui_login(page, make_user("tech_manager"))
    page.goto("/designer")
    keys = page.locator("button[data-open]").evaluate_all("bs => bs.map(b => b.dataset.open)")
    assert len(keys) >= 14
    flagged = {}
    for key in keys:
        page.goto("/designer")
        page.click(f"button[data-open={key}]")
        page.wait_for_url("**/designer")
        page.wait_for_function("window.__dz && window.__dz.ready")
        problems = page.evaluate("[...window.__dz.api.model.keyProblems()].map(([, m]) => m)")
        if problems:
            flagged[key] = problems
    assert flagged == {}
