/* Unit tests of history.js, alone and driving the model the way the page does (changes.js):
 * a snapshot before each change, undo/redo restore whole definitions. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { History } from "../history.js";
import { Model, ModelError } from "../model.js";
import { FUNCTIONS, copy, field, form, t } from "./helpers.js";

describe("History", () => {
  test("undo hands back what was recorded, redo what was undone", () => {
    const h = new History();
    assert.equal(h.canUndo(), false);
    h.record("s0");
    h.record("s1");
    assert.equal(h.undo("s2"), "s1");
    assert.equal(h.undo("s1"), "s0");
    assert.equal(h.undo("s0"), null);
    assert.equal(h.canUndo(), false);
    assert.equal(h.redo("s0"), "s1");
    assert.equal(h.redo("s1"), "s2");
    assert.equal(h.redo("s2"), null);
    assert.equal(h.undo("s2"), "s1");
  });

  test("a new change drops what could have been redone", () => {
    const h = new History();
    h.record("s0");
    h.undo("s1");
    assert.equal(h.canRedo(), true);
    h.record("s0");
    assert.equal(h.canRedo(), false);
    assert.equal(h.redo("x"), null);
  });

  test("keeps at most its limit of steps (200 by default), dropping the oldest", () => {
    const h = new History(3);
    for (const s of ["a", "b", "c", "d", "e"]) h.record(s);
    assert.deepEqual([h.undo("f"), h.undo("e"), h.undo("d"), h.undo("c")], ["e", "d", "c", null]);
    const big = new History();
    for (let i = 0; i < 250; i++) big.record(String(i));
    let n = 0;
    while (big.undo("x") !== null) n++;
    assert.equal(n, 200);
  });
});

/** The page's loop: change() records before an operation unless it is refused; undo/redo restore. */
function session() {
  const m = new Model(form(), FUNCTIONS);
  const h = new History();
  const snapshot = () => JSON.stringify(m.defn);
  return {
    m,
    change(op) {
      const before = snapshot();
      try { op(); } catch (e) { if (e instanceof ModelError) return false; throw e; }
      h.record(before);
      return true;
    },
    undo() { const s = h.canUndo() && h.undo(snapshot()); if (s) m.load(JSON.parse(s)); return Boolean(s); },
    redo() { const s = h.canRedo() && h.redo(snapshot()); if (s) m.load(JSON.parse(s)); return Boolean(s); },
    h,
  };
}

const keys = (list) => list.map((x) => x.key || x.type);

describe("undo / redo of model operations", () => {
  test("add, move, delete, then all undone, then all redone", () => {
    const s = session();
    const { m } = s;
    const uid = () => m.uidOf(m.defn.layout[0].children[1]); // the field added below, wherever uids now stand
    s.change(() => m.insert(m.uidOf(m.defn.layout[0]), "children", 1, field("x"), t));
    const added = copy(m.defn);
    s.change(() => m.move(uid(), m.uidOf(m.defn.layout[1]), "columns", 0, t));
    const moved = copy(m.defn);
    assert.deepEqual(keys(m.defn.layout[1].columns), ["x", "r1"]);
    s.change(() => m.remove(m.uidOf(m.defn.layout[1].columns[0])));
    const removed = copy(m.defn);
    assert.deepEqual(removed, form());

    assert.equal(s.undo(), true);
    assert.deepEqual(m.defn, moved);
    assert.equal(s.undo(), true);
    assert.deepEqual(m.defn, added);
    assert.equal(s.undo(), true);
    assert.deepEqual(m.defn, form());
    assert.equal(s.undo(), false);
    assert.deepEqual(m.defn, form());

    assert.equal(s.redo(), true);
    assert.deepEqual(m.defn, added);
    assert.equal(s.redo(), true);
    assert.deepEqual(m.defn, moved);
    assert.equal(s.redo(), true);
    assert.deepEqual(m.defn, removed);
    assert.equal(s.redo(), false);
  });

  test("after an undo the model is fully usable: uids, places and counts are rebuilt", () => {
    const s = session();
    const { m } = s;
    s.change(() => m.remove(m.uidOf(m.defn.layout[0])));
    assert.equal(m.count(), 6);
    s.undo();
    assert.equal(m.count(), 10);
    const b = m.defn.layout[0].children[1].columns[0][0];
    assert.deepEqual(m.ancestors(m.uidOf(b)), [m.uidOf(m.defn.layout[0].children[1]), m.uidOf(m.defn.layout[0])]);
    s.change(() => m.duplicate(m.uidOf(b)));
    assert.deepEqual(keys(m.defn.layout[0].children[1].columns[0]), ["b", "b_2"]);
  });

  test("a refused operation records no step", () => {
    const s = session();
    const { m } = s;
    s.change(() => m.insert(0, "layout", 0, field("first"), t));
    const ok = s.change(() => m.insert(m.uidOf(m.defn.layout[2]), "columns", 0, { type: "section", children: [] }, t));
    assert.equal(ok, false);
    assert.equal(s.undo(), true);
    assert.deepEqual(m.defn, form());
    assert.equal(s.undo(), false);
  });

  test("a change after undo cannot be followed by the undone step", () => {
    const s = session();
    const { m } = s;
    s.change(() => m.insert(0, "layout", 9, field("one"), t));
    s.undo();
    s.change(() => m.insert(0, "layout", 9, field("two"), t));
    assert.equal(s.redo(), false);
    assert.deepEqual(keys(m.defn.layout), ["section", "rows", "g", "items", "two"]);
    s.undo();
    assert.deepEqual(m.defn, form());
    s.redo();
    assert.deepEqual(keys(m.defn.layout), ["section", "rows", "g", "items", "two"]);
  });

  test("a property edit recorded by hand (the panel records before it mutates) undoes too", () => {
    const s = session();
    const { m } = s;
    s.h.record(JSON.stringify(m.defn));
    m.defn.layout[0].children[0].label = { zh: "长度" };
    s.undo();
    assert.deepEqual(m.defn, form());
    s.redo();
    assert.deepEqual(m.defn.layout[0].children[0], { type: "field", key: "a", control: "number", label: { zh: "长度" } });
  });
});
