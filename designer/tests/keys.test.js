/* Unit tests of keys.js: which nodes have keys, what a key may be, scopes. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { KEYED, keyMessage, kindName, nodeKey, opensScope, uniqueKey } from "../keys.js";
import { t } from "./helpers.js";

describe("keys", () => {
  test("the kinds that carry a key", () => {
    assert.deepEqual([...KEYED].sort(), ["computed", "conclusion", "environment", "field", "group", "indicator_table", "table"]);
  });

  test("environment and conclusion have a default key; others their own or none", () => {
    assert.equal(nodeKey({ type: "environment" }), "environment");
    assert.equal(nodeKey({ type: "conclusion" }), "conclusion");
    assert.equal(nodeKey({ type: "environment", key: "env" }), "env");
    assert.equal(nodeKey({ type: "environment", key: "" }), "");
    assert.equal(nodeKey({ type: "field" }), "");
    assert.equal(nodeKey({ type: "section" }), "");
  });

  test("scopes", () => {
    for (const type of ["table", "group", "indicator_table"]) assert.equal(opensScope({ type }), true);
    for (const type of ["section", "columns", "field", "heading"]) assert.equal(opensScope({ type }), false);
  });

  test("unique keys count from 2", () => {
    assert.equal(uniqueKey("a", new Set()), "a");
    assert.equal(uniqueKey("a", new Set(["a"])), "a_2");
    assert.equal(uniqueKey("a", new Set(["a", "a_2", "a_3"])), "a_4");
  });

  test("a field is named by its control, anything else by its kind", () => {
    assert.equal(kindName({ type: "field", control: "number" }, t), "数字");
    assert.equal(kindName({ type: "group" }, t), "重复分组");
  });

  test("what a key may not be", () => {
    const fns = new Set(["round"]);
    const f = { type: "field" };
    assert.equal(keyMessage(f, "ok_1", fns, t), null);
    assert.equal(keyMessage(f, "", fns, t), "缺少键 key");
    assert.equal(keyMessage(f, "9a", fns, t), "键 “9a” 不是合法标识符（字母开头，仅字母、数字、下划线）");
    assert.equal(keyMessage(f, "长度", fns, t), "键 “长度” 不是合法标识符（字母开头，仅字母、数字、下划线）");
    for (const r of ["points", "mpe", "unit", "resolution", "result", "item", "point"]) {
      assert.equal(keyMessage(f, r, fns, t), `键 “${r}” 是保留名称`);
    }
    assert.equal(keyMessage(f, "round", fns, t), "键 “round” 与函数同名");
    assert.equal(keyMessage({ type: "heading" }, "", fns, t), null);
  });
});
