/* Unit tests of palette.js: the node each palette item adds, with a key fresh in its scope. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Model, ModelError } from "../model.js";
import { make } from "../palette.js";
import { form, t } from "./helpers.js";

const CATALOGUE = { fuel: { name: "加油机", params: [], items: [] }, gauge: { name: "压力表", params: [], items: [] } };
const OPTIONS = [{ value: "A", label: { zh: "选项 A", en: "Option A" } }, { value: "B", label: { zh: "选项 B", en: "Option B" } }];
const empty = () => new Model({ layout: [] });

describe("make", () => {
  test("every field control", () => {
    const m = empty();
    const f = (kind) => make(kind, m, 0, t, CATALOGUE);
    assert.deepEqual(f("text"), { type: "field", key: "text", control: "text", label: { zh: "单行文本", en: "Text" } });
    assert.deepEqual(f("number"), { type: "field", key: "number", control: "number", label: { zh: "数字", en: "Number" }, decimals: 2 });
    assert.deepEqual(f("date"), { type: "field", key: "date", control: "date", label: { zh: "日期", en: "Date" } });
    assert.deepEqual(f("select"), { type: "field", key: "choice", control: "select", label: { zh: "下拉选择", en: "Choice" }, options: OPTIONS });
    assert.deepEqual(f("radio"), { type: "field", key: "choice", control: "radio", label: { zh: "单选", en: "Choice" }, options: OPTIONS });
    assert.deepEqual(f("checkbox"), { type: "field", key: "checks", control: "checkbox", label: { zh: "多选", en: "Checks" }, options: OPTIONS });
    assert.deepEqual(f("textarea"), { type: "field", key: "notes", control: "textarea", label: { zh: "多行文本", en: "Notes" } });
    assert.deepEqual(f("standard_picker"), { type: "field", key: "standards", control: "standard_picker", label: { zh: "标准器", en: "Standards used" } });
    assert.deepEqual(f("signature"), { type: "field", key: "signature", control: "signature", label: { zh: "签名", en: "Signature" } });
    assert.deepEqual(f("file"), { type: "field", key: "attachment", control: "file", label: { zh: "附件", en: "Attachment" } });
    assert.deepEqual(f("image"), { type: "field", key: "photo", control: "image", label: { zh: "图片", en: "Photo" } });
  });

  test("every layout and metrology block", () => {
    const m = empty();
    const f = (kind) => make(kind, m, 0, t, CATALOGUE);
    assert.deepEqual(f("section"), { type: "section", label: { zh: "新分区", en: "Section" }, children: [] });
    assert.deepEqual(f("heading"), { type: "heading", label: { zh: "标题", en: "Heading" } });
    assert.deepEqual(f("columns"), { type: "columns", columns: [[], []] });
    assert.deepEqual(f("table"), { type: "table", key: "table", label: { zh: "表格", en: "Table" }, columns: [], min_rows: 1 });
    assert.deepEqual(f("group"), { type: "group", key: "group", label: { zh: "重复分组", en: "Group" }, repeat: true, children: [] });
    assert.deepEqual(f("indicator_table"), { type: "indicator_table", key: "items", label: { zh: "检定项目表", en: "Verification items" }, catalogue: "fuel", point_columns: [] });
    assert.deepEqual(f("computed"), { type: "computed", key: "calc", label: { zh: "计算字段", en: "Computed" }, expression: "" });
    assert.deepEqual(f("environment"), { type: "environment", label: { zh: "环境条件", en: "Environment" }, fields: ["temperature", "humidity"] });
    assert.deepEqual(f("conclusion"), { type: "conclusion", label: { zh: "结论", en: "Conclusion" } });
  });

  test("an indicator table takes the form's instrument type when it has one", () => {
    const m = new Model({ catalogue: "gauge", layout: [] });
    assert.equal(make("indicator_table", m, 0, t, CATALOGUE).catalogue, "gauge");
  });

  test("keys are made unique in the scope of the list the node goes to", () => {
    const m = new Model(form());
    const [section, table, group] = m.defn.layout;
    m.insert(0, "layout", 9, make("number", m, 0, t, CATALOGUE), t);
    assert.equal(make("number", m, 0, t, CATALOGUE).key, "number_2");
    assert.equal(make("number", m, m.uidOf(section), t, CATALOGUE).key, "number_2"); // same scope as the form
    assert.equal(make("number", m, m.uidOf(table), t, CATALOGUE).key, "number"); // a table has its own
    assert.equal(make("table", m, 0, t, CATALOGUE).key, "table");
    assert.equal(make("group", m, m.uidOf(group), t, CATALOGUE).key, "group");
  });

  test("a second environment or conclusion in a scope gets an explicit key", () => {
    const m = empty();
    m.insert(0, "layout", 0, make("environment", m, 0, t, CATALOGUE), t);
    m.insert(0, "layout", 1, make("conclusion", m, 0, t, CATALOGUE), t);
    assert.equal(make("environment", m, 0, t, CATALOGUE).key, "environment_2");
    assert.equal(make("conclusion", m, 0, t, CATALOGUE).key, "conclusion_2");
  });

  test("an unknown kind is refused", () => {
    assert.throws(() => make("rocket", empty(), 0, t, CATALOGUE), (e) => e instanceof ModelError && e.message === "?");
  });
});
