/* metrolab form designer — keys and names: which nodes carry a key, what a key may be, scopes.
 *
 * Pure functions shared by the model and the page; they mirror metrolab.engine.forms.scopes.
 */

export const IDENT = /^[A-Za-z][A-Za-z0-9_]*$/;
export const RESERVED = new Set(["points", "mpe", "unit", "resolution", "result", "item", "point"]);
export const POINT_NAMES = ["mpe", "unit", "resolution", "item", "point"];
export const ROW_KINDS = new Set(["field", "computed"]);
export const KEYED = new Set(["field", "computed", "table", "group", "indicator_table", "environment", "conclusion"]);
export const DEFAULT_KEYS = { environment: "environment", conclusion: "conclusion" };

/** Tables, groups and indicator tables open a scope of their own; sections and columns are transparent. */
export function opensScope(node) {
  return node && (node.type === "table" || node.type === "group" || node.type === "indicator_table");
}

/** The key a node answers to (environment and conclusion have a default). */
export function nodeKey(node) {
  if (typeof node.key === "string") return node.key;
  return DEFAULT_KEYS[node.type] || "";
}

export function uniqueKey(base, taken) {
  if (!taken.has(base)) return base;
  let n = 2;
  while (taken.has(base + "_" + n)) n++;
  return base + "_" + n;
}

export function kindName(node, t) {
  return t(node.type === "field" ? "ctl_" + node.control : "kind_" + node.type);
}

/** What is wrong with `key` on `node` by itself (not counting duplicates), or null. */
export function keyMessage(node, key, functions, t) {
  if (!KEYED.has(node.type)) return null;
  if (!key) return t("key_missing");
  if (!IDENT.test(key)) return t("key_ident").replace("{key}", key);
  if (RESERVED.has(key)) return t("key_reserved").replace("{key}", key);
  if (functions.has(key)) return t("key_function").replace("{key}", key);
  return null;
}
