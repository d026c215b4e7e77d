/* Unit tests of edits.js: what typing in the property panel does to a node. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import * as edits from "../edits.js";
import { t } from "./helpers.js";

const numberField = () => ({ type: "field", key: "x", control: "number", decimals: 2, min: 0, max: 10, label: { zh: "示值" } });

describe("setPath", () => {
  test("sets a nested value, creating the object on the way", () => {
    const node = { type: "field" };
    edits.setPath(node, "label.zh", "长度");
    edits.setPath(node, "label.en", "Length");
    assert.deepEqual(node, { type: "field", label: { zh: "长度", en: "Length" } });
  });

  test("empty, false and undefined remove the property, and the emptied parent", () => {
    const node = { type: "field", required: true, label: { zh: "长度" }, help: { zh: "说明", en: "Help" } };
    edits.setPath(node, "required", false);
    edits.setPath(node, "label.zh", "");
    edits.setPath(node, "help.en", undefined);
    assert.deepEqual(node, { type: "field", help: { zh: "说明" } });
  });

  test("zero is a value", () => {
    const node = {};
    edits.setPath(node, "min_rows", 0);
    assert.deepEqual(node, { min_rows: 0 });
  });
});

describe("numberOrText", () => {
  test("a number typed the way JSON writes it becomes a number; anything else stays text", () => {
    assert.equal(edits.numberOrText("12"), 12);
    assert.equal(edits.numberOrText(" -0.5 "), -0.5);
    assert.equal(edits.numberOrText("1.50"), "1.50");
    assert.equal(edits.numberOrText("1e3"), "1e3");
    assert.equal(edits.numberOrText("abc"), "abc");
    assert.equal(edits.numberOrText("  "), undefined);
  });
});

describe("setProperty", () => {
  test("a key is set; emptied on an environment or conclusion it falls back to the default", () => {
    const f = { type: "field", key: "a" };
    edits.setProperty(f, "key", "", t);
    assert.deepEqual(f, { type: "field", key: "" });
    const env = { type: "environment", key: "env2" };
    edits.setProperty(env, "key", "", t);
    assert.deepEqual(env, { type: "environment" });
    const c = { type: "conclusion" };
    edits.setProperty(c, "key", "verdict", t);
    assert.deepEqual(c, { type: "conclusion", key: "verdict" });
  });

  test("counts are whole numbers ≥ 0; emptied they go", () => {
    const node = numberField();
    edits.setProperty(node, "decimals", "3", t);
    assert.equal(node.decimals, 3);
    edits.setProperty(node, "decimals", "-2", t);
    assert.equal(node.decimals, 0);
    edits.setProperty(node, "decimals", "x", t);
    assert.equal(node.decimals, 0);
    edits.setProperty(node, "decimals", "", t);
    assert.equal("decimals" in node, false);
    const table = { type: "table", key: "t", columns: [] };
    edits.setProperty(table, "min_rows", "2.7", t);
    edits.setProperty(table, "max_rows", "5", t);
    assert.deepEqual(table, { type: "table", key: "t", columns: [], min_rows: 2, max_rows: 5 });
  });

  test("a group's min and max are counts, a field's are numbers or text", () => {
    const group = { type: "group", key: "g", children: [] };
    edits.setProperty(group, "min", "1.5", t);
    edits.setProperty(group, "max", "", t);
    assert.deepEqual(group, { type: "group", key: "g", children: [], min: 1 });
    const node = numberField();
    edits.setProperty(node, "min", "1.5", t);
    edits.setProperty(node, "max", "10.00", t);
    assert.deepEqual([node.min, node.max], [1.5, "10.00"]);
    edits.setProperty(node, "max", "", t);
    assert.equal("max" in node, false);
  });

  test("changing an indicator table's instrument type forgets the items chosen", () => {
    const node = { type: "indicator_table", key: "it", catalogue: "fuel", items: ["X1"] };
    edits.setProperty(node, "catalogue", "gauge", t);
    assert.deepEqual(node, { type: "indicator_table", key: "it", catalogue: "gauge" });
  });

  test("a computed field keeps an empty expression (to be flagged); other text properties drop it", () => {
    const comp = { type: "computed", key: "c", expression: "a" };
    edits.setProperty(comp, "expression", "", t);
    assert.deepEqual(comp, { type: "computed", key: "c", expression: "" });
    const concl = { type: "conclusion", expression: "ok" };
    edits.setProperty(concl, "expression", "", t);
    assert.deepEqual(concl, { type: "conclusion" });
    const f = numberField();
    edits.setProperty(f, "unit", "mm", t);
    edits.setProperty(f, "visible_if", "a > 1", t);
    edits.setProperty(f, "help.zh", "提示", t);
    edits.setProperty(f, "label.zh", "", t);
    assert.deepEqual(f, { type: "field", key: "x", control: "number", decimals: 2, min: 0, max: 10, unit: "mm", visible_if: "a > 1", help: { zh: "提示" } });
  });

  test("the control: a choice gets two options, leaving a choice drops them, leaving number drops its settings", () => {
    const node = numberField();
    edits.setProperty(node, "control", "select", t);
    assert.deepEqual(node, { type: "field", key: "x", control: "select", label: { zh: "示值" },
      options: [{ value: "A", label: { zh: "选项 A" } }, { value: "B", label: { zh: "选项 B" } }] });
    node.options[0].value = "kept";
    edits.setProperty(node, "control", "radio", t);
    assert.equal(node.options[0].value, "kept"); // a choice to a choice keeps its options
    edits.setProperty(node, "control", "text", t);
    assert.deepEqual(node, { type: "field", key: "x", control: "text", label: { zh: "示值" } });
  });

  test("only the control and the instrument type reshape the panel", () => {
    assert.deepEqual([...edits.RESHAPES].sort(), ["catalogue", "control"]);
  });
});

describe("options", () => {
  const choice = () => ({ type: "field", key: "c", control: "select", options: [
    { value: "A", label: { zh: "甲" } }, { value: "B", label: { zh: "乙", en: "B" } }, { value: "C" }] });

  test("value and labels; an emptied label goes", () => {
    const node = choice();
    edits.setOption(node, 0, "value", "AA");
    edits.setOption(node, 0, "en", "Alpha");
    edits.setOption(node, 1, "zh", "");
    edits.setOption(node, 0, "zh", "");
    edits.setOption(node, 0, "en", "");
    edits.setOption(node, 2, "zh", "丙");
    assert.deepEqual(node.options, [{ value: "AA" }, { value: "B", label: { en: "B" } }, { value: "C", label: { zh: "丙" } }]);
  });

  test("added with the next free number as value", () => {
    const node = { type: "field", control: "radio", options: [{ value: "4" }, { value: "B" }] };
    edits.addOption(node, t);
    edits.addOption(node, t);
    assert.deepEqual(node.options.slice(2), [{ value: "3", label: { zh: "选项 3" } }, { value: "5", label: { zh: "选项 5" } }]);
    const bare = { type: "field", control: "radio" };
    edits.addOption(bare, t);
    assert.deepEqual(bare.options, [{ value: "1", label: { zh: "选项 1" } }]);
  });

  test("moved up and down, never past either end; removed", () => {
    const node = choice();
    const values = () => node.options.map((o) => o.value);
    edits.moveOption(node, 2, -1);
    assert.deepEqual(values(), ["A", "C", "B"]);
    edits.moveOption(node, 0, +1);
    assert.deepEqual(values(), ["C", "A", "B"]);
    edits.moveOption(node, 0, -1);
    edits.moveOption(node, 2, +1);
    assert.deepEqual(values(), ["C", "A", "B"]);
    edits.removeOption(node, 1);
    assert.deepEqual(values(), ["C", "B"]);
  });
});

describe("items, environment fields, columns", () => {
  test("all items chosen means every item (the property goes)", () => {
    const node = { type: "indicator_table", key: "it" };
    edits.setItems(node, ["X1"], 3);
    assert.deepEqual(node.items, ["X1"]);
    edits.setItems(node, ["X1", "X2", "X3"], 3);
    assert.equal("items" in node, false);
  });

  test("all three environment fields mean the default", () => {
    const node = { type: "environment" };
    edits.setEnvFields(node, ["temperature"]);
    assert.deepEqual(node, { type: "environment", fields: ["temperature"] });
    edits.setEnvFields(node, ["temperature", "humidity", "pressure"]);
    assert.deepEqual(node, { type: "environment" });
  });

  test("a column is added empty; the last may go only when empty and not the only one", () => {
    const node = { type: "columns", columns: [[{ type: "field", key: "a" }]] };
    assert.equal(edits.columnRefusal(node), "cols_min");
    edits.addColumn(node);
    assert.deepEqual(node.columns, [[{ type: "field", key: "a" }], []]);
    assert.equal(edits.columnRefusal(node), null);
    edits.removeColumn(node);
    assert.deepEqual(node.columns, [[{ type: "field", key: "a" }]]);
    node.columns.unshift([]);
    assert.equal(edits.columnRefusal(node), "cols_not_empty");
  });
});

describe("setNotBefore", () => {
  test("a host date, another field, or none; the label is what the refusal names", () => {
    const node = { type: "field", key: "verified_on", control: "date" };
    edits.setNotBefore(node, "context:received_on");
    assert.deepEqual(node.not_before, { context: "received_on", label: { zh: "委托单接收日期", en: "the entrustment's receipt date" } });
    edits.setNotBefore(node, "field:made_on", { zh: "出厂日期", en: "Made on" });
    assert.deepEqual(node.not_before, { field: "made_on", label: { zh: "出厂日期", en: "Made on" } });
    edits.setNotBefore(node, "");
    assert.equal("not_before" in node, false);
    edits.setNotBefore(node, "context:no_such_date");
    assert.equal("not_before" in node, false);
  });

  test("a field that stops being a date loses the rule", () => {
    const node = { type: "field", key: "d", control: "date", not_before: { context: "received_on", label: { zh: "x" } } };
    edits.setControl(node, "text", t);
    assert.equal("not_before" in node, false);
  });
});
