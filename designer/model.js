/* metrolab form designer — the model: a metrolab.form/1 definition and the operations on it.
 *
 * The definition (a plain JSON object) is the source of truth. Nodes get a uid (kept in a WeakMap,
 * never written into the JSON); every list of nodes is addressed by (owner uid, slot):
 *   root 0 / "layout"; section, group / "children"; columns / "col<i>"; table / "columns";
 *   indicator_table / "point_columns" and "by:<item code>" (by_item[code].point_columns).
 * Operations check what may go where and refuse (throw ModelError) before changing anything.
 * No DOM here: it runs in the page and under `node --test` (designer/tests/).
 */
import { KEYED, POINT_NAMES, ROW_KINDS, kindName, keyMessage, nodeKey, opensScope, uniqueKey } from "./keys.js";

export { IDENT, KEYED, kindName, nodeKey, opensScope } from "./keys.js";

export class ModelError extends Error {}

export class Model {
  constructor(definition, functions) {
    this.functions = new Set(functions || []);
    this.uids = new WeakMap();
    this.next = 1;
    this.load(definition);
  }

  load(definition) {
    this.defn = definition;
    if (!Array.isArray(this.defn.layout)) this.defn.layout = [];
    this.reindex();
  }

  uidOf(node) {
    let uid = this.uids.get(node);
    if (!uid) { uid = this.next++; this.uids.set(node, uid); }
    return uid;
  }

  /** Rebuild uid → node and uid → place (owner, slot, index, list). Cheap: one walk. */
  reindex() {
    this.nodes = new Map();
    this.places = new Map();
    const walk = (list, owner, slot) => {
      list.forEach((node, index) => {
        if (!node || typeof node !== "object") return;
        const uid = this.uidOf(node);
        this.nodes.set(uid, node);
        this.places.set(uid, { owner, slot, index, list });
        for (const [s, sub] of this.slots(node)) walk(sub, uid, s);
      });
    };
    walk(this.defn.layout, 0, "layout");
  }

  /** The child lists of a node, as [slot, array] (arrays created where the format allows). */
  slots(node) {
    switch (node.type) {
      case "section":
      case "group":
        if (!Array.isArray(node.children)) node.children = [];
        return [["children", node.children]];
      case "columns":
        if (!Array.isArray(node.columns)) node.columns = [[]];
        return node.columns.map((col, i) => ["col" + i, Array.isArray(col) ? col : (node.columns[i] = [])]);
      case "table":
        if (!Array.isArray(node.columns)) node.columns = [];
        return [["columns", node.columns]];
      case "indicator_table": {
        const out = [["point_columns", node.point_columns || []]];
        for (const [code, spec] of Object.entries(node.by_item || {})) {
          if (spec && Array.isArray(spec.point_columns)) out.push(["by:" + code, spec.point_columns]);
        }
        return out;
      }
      default:
        return [];
    }
  }

  list(owner, slot) {
    if (owner === 0) return this.defn.layout;
    const node = this.nodes.get(owner);
    if (!node) throw new ModelError("list owner missing");
    if (slot === "point_columns" && node.type === "indicator_table" && !Array.isArray(node.point_columns)) {
      node.point_columns = [];
    }
    const found = this.slots(node).find(([s]) => s === slot);
    if (!found) throw new ModelError("no such list " + slot);
    return found[1];
  }

  parentOf(uid) { return this.places.get(uid); }

  ancestors(uid) {
    const out = [];
    let place = this.places.get(uid);
    while (place && place.owner !== 0) { out.push(place.owner); place = this.places.get(place.owner); }
    return out;
  }

  /** Is a list a table row (its items become table columns)? */
  isRowList(owner, slot) {
    if (owner === 0) return false;
    const node = this.nodes.get(owner);
    if (!node) return false; // list() then refuses the missing owner
    return (node.type === "table" && slot === "columns") || node.type === "indicator_table";
  }

  insideIndicator(owner) {
    if (owner === 0) return false;
    return [owner, ...this.ancestors(owner)].some((u) => this.nodes.get(u).type === "indicator_table");
  }

  /** Why `node` may not go into list (owner, slot), or null when it may. */
  refusal(node, owner, slot, T) {
    const t = T || ((k) => k);
    if (this.isRowList(owner, slot)) {
      const ok = ROW_KINDS.has(node.type) || (node.type === "table" && this.insideIndicator(owner));
      if (!ok) return t("refuse_row").replace("{kind}", kindName(node, t));
    }
    if (owner !== 0) {
      const uid = this.uids.get(node);
      if (uid && (uid === owner || this.ancestors(owner).includes(uid))) return t("refuse_self");
    }
    return null;
  }

  insert(owner, slot, index, node, T) {
    const why = this.refusal(node, owner, slot, T);
    if (why) throw new ModelError(why);
    const list = this.list(owner, slot);
    list.splice(clamp(index, 0, list.length), 0, node);
    this.reindex();
    return this.uidOf(node);
  }

  move(uid, owner, slot, index, T) {
    const node = this.nodes.get(uid);
    const from = this.places.get(uid);
    const why = this.refusal(node, owner, slot, T);
    if (why) throw new ModelError(why);
    const to = this.list(owner, slot);
    from.list.splice(from.index, 1);
    to.splice(clamp(index, 0, to.length), 0, node);
    this.reindex();
  }

  remove(uid) {
    const place = this.places.get(uid);
    place.list.splice(place.index, 1);
    this.reindex();
    return place;
  }

  duplicate(uid) {
    const place = this.places.get(uid);
    const copy = JSON.parse(JSON.stringify(place.list[place.index]));
    place.list.splice(place.index + 1, 0, copy);
    this.reindex();
    // Keys in the copy that share the original's scope must become unique there.
    const scope = this.scopeOf(this.uidOf(copy));
    const taken = new Set(this.keysIn(scope, this.uidOf(copy)));
    const rename = (node) => {
      if (KEYED.has(node.type)) {
        const key = nodeKey(node) || node.type;
        if (taken.has(key)) node.key = uniqueKey(key.replace(/_\d+$/, ""), taken);
        taken.add(nodeKey(node));
      }
      if (!opensScope(node)) for (const [, sub] of this.slots(node)) sub.forEach(rename);
    };
    rename(copy);
    this.reindex();
    return this.uidOf(copy);
  }

  // ── scopes and names (mirrors metrolab.engine.forms.scopes) ──────────────────────────────

  /** The scope a node sits in: [uid of the node opening it (0 = the form), slot]. An indicator
   * table's lists (point_columns, by:<item>) are scopes of their own, one per item as on the
   * server; other scopes have one list and slot null. */
  scopeAt(uid) {
    let place = this.places.get(uid);
    while (place && place.owner !== 0) {
      const owner = this.nodes.get(place.owner);
      if (opensScope(owner)) return [place.owner, owner.type === "indicator_table" ? place.slot : null];
      place = this.places.get(place.owner);
    }
    return [0, null];
  }

  scopeOf(uid) { return this.scopeAt(uid)[0]; }

  /** Entries of a scope: [uid, key] of keyed nodes, through transparent sections and columns;
   * of one indicator-table list when `slot` is given. */
  entries(scopeUid, slot) {
    const out = [];
    const walk = (list) => list.forEach((node) => {
      if (!node || typeof node !== "object") return;
      if (KEYED.has(node.type)) out.push([this.uidOf(node), nodeKey(node)]);
      else for (const [, sub] of this.slots(node)) walk(sub);
    });
    if (scopeUid === 0) walk(this.defn.layout);
    else for (const [s, sub] of this.slots(this.nodes.get(scopeUid))) if (slot == null || s === slot) walk(sub);
    return out;
  }

  keysIn(scopeUid, exceptUid, slot) {
    return this.entries(scopeUid, slot).filter(([u]) => u !== exceptUid).map(([, k]) => k);
  }

  /** Names an expression on node `uid` may use: its scope outward, context names, point names. */
  namesFor(uid, catalogue) {
    const names = new Set(this.defn.context_names || []);
    let scope = this.scopeOf(uid);
    const chain = [scope];
    while (scope !== 0) { scope = this.scopeOf(scope); chain.push(scope); }
    for (const s of chain) {
      for (const [, key] of this.entries(s)) if (key) names.add(key);
      if (s !== 0 && this.nodes.get(s).type === "indicator_table") {
        POINT_NAMES.forEach((n) => names.add(n));
        const code = this.nodes.get(s).catalogue || this.defn.catalogue;
        const type = catalogue && catalogue[code];
        if (type) type.params.forEach((p) => names.add(p));
      }
    }
    return [...names].sort();
  }

  /** Problems found without the server: keys (identifier, reserved, function, duplicate in scope). */
  keyProblems(T) {
    const t = T || ((k) => k);
    const out = new Map();
    const scopes = [[0, null]];
    for (const [u, node] of this.nodes) {
      if (node.type === "indicator_table") for (const [slot] of this.slots(node)) scopes.push([u, slot]);
      else if (opensScope(node)) scopes.push([u, null]);
    }
    for (const [s, slot] of scopes) {
      const seen = new Map();
      for (const [uid, key] of this.entries(s, slot)) {
        const msg = this.keyMessage(this.nodes.get(uid), key, t);
        if (msg) { out.set(uid, msg); continue; }
        if (seen.has(key)) {
          const m = t("key_duplicate").replace("{key}", key);
          out.set(uid, m);
          out.set(seen.get(key), m);
        } else seen.set(key, uid);
      }
    }
    return out;
  }

  keyMessage(node, key, t) { return keyMessage(node, key, this.functions, t); }

  /** Check a key typed for node `uid` before/while it is set. */
  checkKey(uid, key, T) {
    const t = T || ((k) => k);
    const node = this.nodes.get(uid);
    const msg = this.keyMessage(node, key, t);
    if (msg) return msg;
    const [scope, slot] = this.scopeAt(uid);
    if (this.keysIn(scope, uid, slot).includes(key)) return t("key_duplicate").replace("{key}", key);
    return null;
  }

  freshKey(base, owner) {
    // A node added to list `owner` lands in the scope that list belongs to.
    let scope = 0;
    if (owner !== 0) scope = opensScope(this.nodes.get(owner)) ? owner : this.scopeOf(owner);
    return uniqueKey(base, new Set(this.keysIn(scope)));
  }

  /** The uid at a place string from the server ("layout[2].children[0] (字段 “x”)"), or null. */
  resolvePlace(place) {
    const m = /^layout((?:\[\d+\]|\.[A-Za-z_][A-Za-z0-9_]*)*)/.exec(place || "");
    if (!m) return null;
    const tokens = [...m[1].matchAll(/\[(\d+)\]|\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((x) => (x[1] !== undefined ? +x[1] : x[2]));
    let list = this.defn.layout;
    let current = null;
    let i = 0;
    while (i < tokens.length) {
      const tok = tokens[i];
      if (typeof tok === "number" && Array.isArray(list)) {
        const node = list[tok];
        if (!node) break;
        current = node;
        list = null;
        i++;
        continue;
      }
      if (!current) break;
      if (tok === "children" || tok === "point_columns") { list = current[tok]; i++; continue; }
      if (tok === "columns" && current.type === "columns") {
        list = (current.columns || [])[tokens[i + 1]];
        i += 2;
        continue;
      }
      if (tok === "columns") { list = current.columns; i++; continue; }
      if (tok === "by_item" && typeof tokens[i + 1] === "string") {
        const spec = (current.by_item || {})[tokens[i + 1]] || {};
        if (tokens[i + 2] === "point_columns") { list = spec.point_columns; i += 3; continue; }
      }
      break;
    }
    return current ? this.uidOf(current) : null;
  }

  /** Index path of a node (for keeping the selection across undo). */
  pathOf(uid) {
    const out = [];
    let place = this.places.get(uid);
    while (place) {
      out.unshift([place.slot, place.index]);
      if (place.owner === 0) break;
      place = this.places.get(place.owner);
    }
    return out;
  }

  uidAtPath(path) {
    let owner = 0;
    let uid = null;
    for (const [slot, index] of path || []) {
      let list;
      try { list = this.list(owner, slot); } catch (e) { return uid; }
      const node = list[Math.min(index, list.length - 1)];
      if (!node) return uid;
      uid = this.uidOf(node);
      owner = uid;
    }
    return uid;
  }

  /** Depth-first order of visible nodes (for arrow-key navigation). */
  order() {
    const out = [];
    const walk = (list) => list.forEach((node) => {
      const uid = this.uidOf(node);
      out.push(uid);
      for (const [, sub] of this.slots(node)) walk(sub);
    });
    walk(this.defn.layout);
    return out;
  }

  count() { return this.nodes.size; }
}

function clamp(n, lo, hi) { return Math.max(lo, Math.min(hi, n | 0)); }
