/* Unit tests of model.js: every operation on the definition tree, and every refusal. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Model, ModelError } from "../model.js";
import { FUNCTIONS, copy, field, form, t } from "./helpers.js";

/** A model on a fresh form, with handles on its nodes. */
function setup() {
  const d = form();
  const m = new Model(d, FUNCTIONS);
  const [section, table, group, items] = d.layout;
  const [a, columns] = section.children;
  const n = { section, a, columns, b: columns.columns[0][0], table, r1: table.columns[0], group, ga: group.children[0], items, E: items.point_columns[0] };
  const u = Object.fromEntries(Object.entries(n).map(([k, v]) => [k, m.uidOf(v)]));
  return { d, m, n, u };
}

const ROW_REFUSAL = (kind) => `不能放在这里：表格的列只能是字段或计算字段，“${kind}”不行`;

/** Assert `fn` is refused with exactly `message` and leaves the definition as it was. */
function assertRefused(m, fn, message) {
  const before = copy(m.defn);
  assert.throws(fn, (e) => e instanceof ModelError && e.message === message);
  assert.deepEqual(m.defn, before);
}

describe("loading", () => {
  test("gives every node a uid in depth-first order and counts them", () => {
    const { m, u } = setup();
    assert.deepEqual(m.order(), [u.section, u.a, u.columns, u.b, u.table, u.r1, u.group, u.ga, u.items, u.E]);
    assert.equal(m.count(), 10);
    assert.deepEqual(Object.values(u), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  test("uids are never written into the definition", () => {
    const { d } = setup();
    assert.deepEqual(d, form());
  });

  test("fills in the lists a container must have", () => {
    const m = new Model({ layout: [{ type: "section" }, { type: "group", key: "g" }, { type: "columns" }, { type: "table", key: "t" }] });
    assert.deepEqual(m.defn.layout, [
      { type: "section", children: [] }, { type: "group", key: "g", children: [] },
      { type: "columns", columns: [[]] }, { type: "table", key: "t", columns: [] },
    ]);
  });

  test("a definition without a layout gets an empty one", () => {
    const m = new Model({ key: "x" });
    assert.deepEqual(m.defn, { key: "x", layout: [] });
    assert.equal(m.count(), 0);
  });

  test("knows each node's place and ancestors", () => {
    const { m, u } = setup();
    const { list, ...place } = m.parentOf(u.b);
    assert.deepEqual(place, { owner: u.columns, slot: "col0", index: 0 });
    assert.equal(list, m.defn.layout[0].children[1].columns[0]);
    assert.deepEqual(m.ancestors(u.b), [u.columns, u.section]);
    assert.deepEqual(m.ancestors(u.section), []);
  });

  test("lists the slots of each container", () => {
    const { m, n } = setup();
    assert.deepEqual(m.slots(n.section).map(([s]) => s), ["children"]);
    assert.deepEqual(m.slots(n.columns).map(([s]) => s), ["col0", "col1"]);
    assert.deepEqual(m.slots(n.table).map(([s]) => s), ["columns"]);
    assert.deepEqual(m.slots(n.items).map(([s]) => s), ["point_columns", "by:X1"]);
    assert.deepEqual(m.slots(n.a), []);
  });
});

describe("insert", () => {
  test("at the top level, at the index given", () => {
    const { m } = setup();
    const uid = m.insert(0, "layout", 1, { type: "heading", label: { zh: "说明" } }, t);
    assert.deepEqual(m.defn.layout.map((x) => x.type), ["section", "heading", "table", "group", "indicator_table"]);
    assert.equal(m.nodes.get(uid), m.defn.layout[1]);
    assert.equal(m.count(), 11);
  });

  test("an index past either end is clamped", () => {
    const { m } = setup();
    m.insert(0, "layout", 99, field("last"), t);
    m.insert(0, "layout", -5, field("first"), t);
    assert.deepEqual(m.defn.layout.map((x) => x.key || x.type), ["first", "section", "rows", "g", "items", "last"]);
  });

  test("into a section", () => {
    const { m, u } = setup();
    m.insert(u.section, "children", 1, field("mid"), t);
    assert.deepEqual(m.defn.layout[0].children.map((x) => x.key || x.type), ["a", "mid", "columns"]);
  });

  test("into the second column of a columns node", () => {
    const { m, u } = setup();
    m.insert(u.columns, "col1", 0, field("c"), t);
    assert.deepEqual(m.defn.layout[0].children[1], { type: "columns", columns: [[field("b")], [field("c")]] });
  });

  test("a field and a computed field into a table (they become its columns)", () => {
    const { m, u } = setup();
    m.insert(u.table, "columns", 1, field("r2", "number"), t);
    m.insert(u.table, "columns", 2, { type: "computed", key: "d", expression: "r2 - r1" }, t);
    assert.deepEqual(m.defn.layout[1], { type: "table", key: "rows", columns: [
      { type: "field", key: "r1", control: "number" }, { type: "field", key: "r2", control: "number" },
      { type: "computed", key: "d", expression: "r2 - r1" }] });
  });

  test("into a repeating group, any kind", () => {
    const { m, u } = setup();
    m.insert(u.group, "children", 0, { type: "section", children: [] }, t);
    assert.deepEqual(m.defn.layout[2], { type: "group", key: "g", children: [{ type: "section", children: [] }, field("a")] });
  });

  test("into an indicator table's point columns and an item's own columns", () => {
    const { m, u } = setup();
    m.insert(u.items, "point_columns", 1, { type: "computed", key: "err", expression: "E - 1" }, t);
    m.insert(u.items, "by:X1", 0, field("extra", "number"), t);
    assert.deepEqual(m.defn.layout[3], { type: "indicator_table", key: "items",
      point_columns: [{ type: "field", key: "E", control: "number" }, { type: "computed", key: "err", expression: "E - 1" }],
      by_item: { X1: { point_columns: [{ type: "field", key: "extra", control: "number" }] } } });
  });

  test("point columns are created when the indicator table has none", () => {
    const m = new Model({ layout: [{ type: "indicator_table", key: "it" }] });
    m.insert(m.uidOf(m.defn.layout[0]), "point_columns", 0, field("E"), t);
    assert.deepEqual(m.defn.layout, [{ type: "indicator_table", key: "it", point_columns: [field("E")] }]);
  });

  test("a table inside an indicator table may hold a table (rows of readings per point)", () => {
    const { m, u } = setup();
    const inner = m.insert(u.items, "point_columns", 1, { type: "table", key: "reads", columns: [] }, t);
    m.insert(inner, "columns", 0, { type: "table", key: "deeper", columns: [] }, t);
    assert.deepEqual(m.defn.layout[3].point_columns[1], { type: "table", key: "reads", columns: [{ type: "table", key: "deeper", columns: [] }] });
  });

  for (const [kind, node, name] of [
    ["section", { type: "section", children: [] }, "分区"],
    ["heading", { type: "heading" }, "标题"],
    ["columns", { type: "columns", columns: [[]] }, "分栏"],
    ["table", { type: "table", key: "t2", columns: [] }, "表格"],
    ["group", { type: "group", key: "g2", children: [] }, "重复分组"],
    ["indicator table", { type: "indicator_table", key: "i2" }, "检定项目表"],
    ["environment", { type: "environment" }, "环境条件"],
    ["conclusion", { type: "conclusion" }, "结论"],
  ]) {
    test(`refuses a ${kind} among a table's columns`, () => {
      const { m, u } = setup();
      assertRefused(m, () => m.insert(u.table, "columns", 0, copy(node), t), ROW_REFUSAL(name));
    });
  }

  test("refuses a section among an indicator table's columns, shared or per item", () => {
    const { m, u } = setup();
    assertRefused(m, () => m.insert(u.items, "point_columns", 0, { type: "section", children: [] }, t), ROW_REFUSAL("分区"));
    assertRefused(m, () => m.insert(u.items, "by:X1", 0, { type: "group", key: "x", children: [] }, t), ROW_REFUSAL("重复分组"));
  });

  test("names the control of a refused field kind (a signature is a field: allowed)", () => {
    const { m, u } = setup();
    m.insert(u.table, "columns", 1, { type: "field", key: "sig", control: "signature" }, t);
    assert.equal(m.defn.layout[1].columns[1].control, "signature");
  });

  test("refuses a list that does not exist, and an owner that does not exist", () => {
    const { m, u } = setup();
    assertRefused(m, () => m.insert(u.section, "columns", 0, field("x"), t), "no such list columns");
    assertRefused(m, () => m.insert(u.columns, "col2", 0, field("x"), t), "no such list col2");
    assertRefused(m, () => m.insert(999, "children", 0, field("x"), t), "list owner missing");
    assertRefused(m, () => m.insert(u.a, "children", 0, field("x"), t), "no such list children");
  });

  test("without texts the refusal is the text key", () => {
    const { m, u } = setup();
    assertRefused(m, () => m.insert(u.table, "columns", 0, { type: "section" }), "refuse_row");
  });
});

describe("move", () => {
  test("down within a list: the index counts after the node left", () => {
    const { m, u } = setup();
    m.move(u.section, 0, "layout", 2, t);
    assert.deepEqual(m.defn.layout.map((x) => x.key || x.type), ["rows", "g", "section", "items"]);
    assert.deepEqual(m.parentOf(u.section).index, 2);
  });

  test("up within a list", () => {
    const { m, u } = setup();
    m.move(u.items, 0, "layout", 0, t);
    assert.deepEqual(m.defn.layout.map((x) => x.key || x.type), ["items", "section", "rows", "g"]);
  });

  test("a field out of a section into a column", () => {
    const { m, u } = setup();
    m.move(u.a, u.columns, "col1", 0, t);
    assert.deepEqual(m.defn.layout[0], { type: "section", label: { zh: "基本" }, children: [
      { type: "columns", columns: [[field("b")], [{ type: "field", key: "a", control: "number" }]] }] });
    assert.deepEqual(m.ancestors(u.a), [u.columns, u.section]);
  });

  test("a field into a table, and a whole section into a group", () => {
    const { m, u } = setup();
    m.move(u.b, u.table, "columns", 0, t);
    m.move(u.section, u.group, "children", 1, t);
    assert.deepEqual(m.defn.layout, [
      { type: "table", key: "rows", columns: [field("b"), { type: "field", key: "r1", control: "number" }] },
      { type: "group", key: "g", children: [field("a"), { type: "section", label: { zh: "基本" }, children: [
        { type: "field", key: "a", control: "number" }, { type: "columns", columns: [[], []] }] }] },
      form().layout[3],
    ]);
  });

  test("a field from a table back to the top level", () => {
    const { m, u } = setup();
    m.move(u.r1, 0, "layout", 0, t);
    assert.deepEqual(m.defn.layout.map((x) => x.key || x.type), ["r1", "section", "rows", "g", "items"]);
    assert.deepEqual(m.defn.layout[2].columns, []);
  });

  test("refuses a section into a table and changes nothing", () => {
    const { m, u } = setup();
    assertRefused(m, () => m.move(u.section, u.table, "columns", 0, t), ROW_REFUSAL("分区"));
    assertRefused(m, () => m.move(u.columns, u.items, "point_columns", 0, t), ROW_REFUSAL("分栏"));
    assertRefused(m, () => m.move(u.group, u.table, "columns", 1, t), ROW_REFUSAL("重复分组"));
  });

  test("refuses a table into a table outside an indicator table", () => {
    const { m, u } = setup();
    const other = m.insert(0, "layout", 9, { type: "table", key: "t2", columns: [] }, t);
    assertRefused(m, () => m.move(other, u.table, "columns", 0, t), ROW_REFUSAL("表格"));
  });

  test("a table moves into an indicator table", () => {
    const { m, u } = setup();
    m.move(u.table, u.items, "point_columns", 0, t);
    assert.deepEqual(m.defn.layout[2].point_columns.map((x) => x.key), ["rows", "E"]);
  });

  test("refuses a container into itself or anything inside it", () => {
    const { m, u } = setup();
    assertRefused(m, () => m.move(u.section, u.section, "children", 0, t), "不能把容器放进它自己里面");
    assertRefused(m, () => m.move(u.section, u.columns, "col1", 0, t), "不能把容器放进它自己里面");
    assertRefused(m, () => m.move(u.group, u.group, "children", 1, t), "不能把容器放进它自己里面");
  });

  test("refuses a list that does not exist", () => {
    const { m, u } = setup();
    assertRefused(m, () => m.move(u.a, u.section, "col0", 0, t), "no such list col0");
  });
});

describe("remove", () => {
  test("takes the node and everything in it out, and says where it was", () => {
    const { m, u } = setup();
    const place = m.remove(u.section);
    assert.deepEqual([place.owner, place.slot, place.index], [0, "layout", 0]);
    assert.deepEqual(m.defn.layout.map((x) => x.key), ["rows", "g", "items"]);
    assert.equal(m.count(), 6);
    for (const gone of [u.section, u.a, u.columns, u.b]) assert.equal(m.nodes.has(gone), false);
  });

  test("a column of a table", () => {
    const { m, u } = setup();
    m.remove(u.r1);
    assert.deepEqual(m.defn.layout[1], { type: "table", key: "rows", columns: [] });
  });
});

describe("duplicate", () => {
  test("a field: the copy follows it with a key unique in the scope", () => {
    const { m, u } = setup();
    const uid = m.duplicate(u.a);
    assert.deepEqual(m.defn.layout[0].children.map((x) => x.key || x.type), ["a", "a_2", "columns"]);
    assert.equal(m.nodes.get(uid), m.defn.layout[0].children[1]);
    assert.deepEqual(m.defn.layout[0].children[1], { type: "field", key: "a_2", control: "number" });
  });

  test("a copy of a copy counts on from the base key", () => {
    const { m, u } = setup();
    const second = m.duplicate(u.a);
    m.duplicate(second);
    assert.deepEqual(m.defn.layout[0].children.map((x) => x.key || x.type), ["a", "a_2", "a_3", "columns"]);
  });

  test("a section: the keys inside it are renamed (a section opens no scope)", () => {
    const { m, u } = setup();
    m.duplicate(u.section);
    assert.deepEqual(m.defn.layout[1], { type: "section", label: { zh: "基本" }, children: [
      { type: "field", key: "a_2", control: "number" },
      { type: "columns", columns: [[{ type: "field", key: "b_2", control: "text" }], []] }] });
    assert.deepEqual(m.defn.layout[0], form().layout[0]);
  });

  test("a group: its own key is renamed, the keys in its own scope are not", () => {
    const { m, u } = setup();
    m.duplicate(u.group);
    assert.deepEqual(m.defn.layout[3], { type: "group", key: "g_2", children: [field("a")] });
  });

  test("a field inside a group is renamed within the group only", () => {
    const { m, u } = setup();
    m.duplicate(u.ga);
    assert.deepEqual(m.defn.layout[2].children, [field("a"), field("a_2")]);
  });

  test("an environment block gets an explicit key (its default is taken)", () => {
    const m = new Model({ layout: [{ type: "environment", fields: ["temperature"] }] });
    m.duplicate(m.uidOf(m.defn.layout[0]));
    assert.deepEqual(m.defn.layout, [
      { type: "environment", fields: ["temperature"] },
      { type: "environment", fields: ["temperature"], key: "environment_2" },
    ]);
  });

  test("a heading (no key) is copied as it is", () => {
    const m = new Model({ layout: [{ type: "heading", label: { zh: "说明" } }] });
    m.duplicate(m.uidOf(m.defn.layout[0]));
    assert.deepEqual(m.defn.layout, [{ type: "heading", label: { zh: "说明" } }, { type: "heading", label: { zh: "说明" } }]);
  });
});

describe("scopes and names", () => {
  test("tables, groups and indicator tables open a scope; sections and columns do not", () => {
    const { m, u } = setup();
    assert.equal(m.scopeOf(u.a), 0);
    assert.equal(m.scopeOf(u.b), 0);
    assert.equal(m.scopeOf(u.r1), u.table);
    assert.equal(m.scopeOf(u.ga), u.group);
    assert.equal(m.scopeOf(u.E), u.items);
    assert.equal(m.scopeOf(u.table), 0);
  });

  test("the keys of a scope, through sections and columns", () => {
    const { m, u } = setup();
    assert.deepEqual(m.keysIn(0), ["a", "b", "rows", "g", "items"]);
    assert.deepEqual(m.keysIn(0, u.b), ["a", "rows", "g", "items"]);
    assert.deepEqual(m.keysIn(u.group), ["a"]);
    assert.deepEqual(m.entries(u.table), [[u.r1, "r1"]]);
  });

  test("a fresh key is unique in the scope of the list it is for", () => {
    const { m, u } = setup();
    assert.equal(m.freshKey("a", 0), "a_2");
    assert.equal(m.freshKey("a", u.section), "a_2"); // the section's list is in the form's scope
    assert.equal(m.freshKey("a", u.columns), "a_2");
    assert.equal(m.freshKey("a", u.group), "a_2");
    assert.equal(m.freshKey("a", u.table), "a");
    assert.equal(m.freshKey("rows", u.group), "rows");
    assert.equal(m.freshKey("new", 0), "new");
  });

  test("names an expression may use: its scope outward and the context names", () => {
    const { m, u } = setup();
    assert.deepEqual(m.namesFor(u.a), ["a", "b", "g", "items", "rows", "today"]);
    assert.deepEqual(m.namesFor(u.r1), ["a", "b", "g", "items", "r1", "rows", "today"]);
  });

  test("inside an indicator table: the point names and the instrument type's parameters too", () => {
    const { m, u } = setup();
    const catalogue = { fuel: { params: ["V_J", "V_B"] } };
    assert.deepEqual(m.namesFor(u.E, catalogue), ["E", "V_B", "V_J", "a", "b", "g", "item", "items", "mpe", "point", "resolution", "rows", "today", "unit"]);
    assert.deepEqual(m.namesFor(u.E), ["E", "a", "b", "g", "item", "items", "mpe", "point", "resolution", "rows", "today", "unit"]);
  });
});

describe("key validation", () => {
  test("a correct form has no key problems", () => {
    const { m } = setup();
    assert.deepEqual([...m.keyProblems(t)], []);
  });

  test("the same key twice in one scope flags both nodes", () => {
    const { m, u } = setup();
    const c = m.insert(u.columns, "col1", 0, field("a"), t);
    assert.deepEqual([...m.keyProblems(t)], [[c, "键 “a” 在同一作用域内重复"], [u.a, "键 “a” 在同一作用域内重复"]]);
  });

  test("the same key in two scopes is fine", () => {
    const { m, u } = setup();
    m.insert(u.table, "columns", 1, field("a"), t);
    assert.deepEqual([...m.keyProblems(t)], []);
  });

  test("each item's point columns of an indicator table are a scope of their own, as on the server", () => {
    const m = new Model({ layout: [{ type: "indicator_table", key: "items", catalogue: "X",
      point_columns: [field("e")],
      by_item: { alarm: { point_columns: [field("c"), field("e")] }, indication: { point_columns: [field("c"), field("e")] } } }] }, FUNCTIONS);
    assert.deepEqual([...m.keyProblems(t)], []);
    const alarm = m.defn.layout[0].by_item.alarm.point_columns;
    assert.equal(m.checkKey(m.uidOf(alarm[0]), "e", t), "键 “e” 在同一作用域内重复");
    alarm.push(field("c"));
    m.reindex();
    assert.deepEqual([...m.keyProblems(t)].map(([, msg]) => msg), ["键 “c” 在同一作用域内重复", "键 “c” 在同一作用域内重复"]);
  });

  test("missing, not an identifier, reserved, a function name", () => {
    const m = new Model({ layout: [
      { type: "field", control: "text" }, field("1x"), field("x-y"), field("points"), field("round"),
      { type: "environment", key: "" }, { type: "conclusion" }, { type: "section", children: [] },
    ] }, FUNCTIONS);
    const uid = (i) => m.uidOf(m.defn.layout[i]);
    assert.deepEqual([...m.keyProblems(t)], [
      [uid(0), "缺少键 key"],
      [uid(1), "键 “1x” 不是合法标识符（字母开头，仅字母、数字、下划线）"],
      [uid(2), "键 “x-y” 不是合法标识符（字母开头，仅字母、数字、下划线）"],
      [uid(3), "键 “points” 是保留名称"],
      [uid(4), "键 “round” 与函数同名"],
      [uid(5), "缺少键 key"],
    ]);
  });

  test("checkKey: a key typed for a node, its own key not counting as a duplicate", () => {
    const { m, u } = setup();
    assert.equal(m.checkKey(u.a, "a", t), null);
    assert.equal(m.checkKey(u.a, "b", t), "键 “b” 在同一作用域内重复");
    assert.equal(m.checkKey(u.ga, "b", t), null); // another scope
    assert.equal(m.checkKey(u.r1, "r1", t), null);
    assert.equal(m.checkKey(u.a, "", t), "缺少键 key");
    assert.equal(m.checkKey(u.a, "_a", t), "键 “_a” 不是合法标识符（字母开头，仅字母、数字、下划线）");
    assert.equal(m.checkKey(u.a, "mpe", t), "键 “mpe” 是保留名称");
    assert.equal(m.checkKey(u.a, "abs", t), "键 “abs” 与函数同名");
    assert.equal(m.checkKey(u.section, "", t), null); // a section has no key
  });
});

describe("places", () => {
  test("a place string from the server resolves to its node", () => {
    const { m, u } = setup();
    assert.equal(m.resolvePlace("layout[0]"), u.section);
    assert.equal(m.resolvePlace("layout[0].children[0] (字段 “a”)"), u.a);
    assert.equal(m.resolvePlace("layout[0].children[1].columns[0][0]"), u.b);
    assert.equal(m.resolvePlace("layout[1].columns[0]"), u.r1);
    assert.equal(m.resolvePlace("layout[2].children[0].expression"), u.ga);
    assert.equal(m.resolvePlace("layout[3].point_columns[0]"), u.E);
  });

  test("an item's own columns resolve through by_item", () => {
    const { m, u } = setup();
    const x = m.insert(u.items, "by:X1", 0, field("extra"), t);
    assert.equal(m.resolvePlace("layout[3].by_item.X1.point_columns[0]"), x);
  });

  test("a place past the tree resolves to the deepest node found, or to nothing", () => {
    const { m, u } = setup();
    assert.equal(m.resolvePlace("layout[0].children[7]"), u.section);
    assert.equal(m.resolvePlace("layout[9]"), null);
    assert.equal(m.resolvePlace("title.zh"), null);
    assert.equal(m.resolvePlace(""), null);
    assert.equal(m.resolvePlace(undefined), null);
  });

  test("a node's index path finds the same node after the definition is reloaded", () => {
    const { m, u } = setup();
    const path = m.pathOf(u.b);
    assert.deepEqual(path, [["layout", 0], ["children", 1], ["col0", 0]]);
    m.load(copy(m.defn));
    assert.equal(m.nodes.get(m.uidAtPath(path)), m.defn.layout[0].children[1].columns[0][0]);
  });

  test("a path into a list now shorter finds its last node; one into a list gone finds the owner", () => {
    const { m, u } = setup();
    assert.equal(m.uidAtPath([["layout", 9]]), u.items);
    assert.equal(m.uidAtPath([["layout", 0], ["children", 1], ["col1", 0]]), u.columns);
    assert.equal(m.uidAtPath([["layout", 0], ["nope", 0]]), u.section);
    assert.equal(m.uidAtPath([]), null);
    assert.equal(m.uidAtPath(null), null);
  });
});
