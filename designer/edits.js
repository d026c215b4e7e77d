/* metrolab form designer — property edits: how a value typed in the property panel changes a node.
 *
 * Pure: the panel (properties-input.js) reads the input and calls these; each changes the node in
 * place the way the form format wants it (empty → property removed, counts ≥ 0, numbers as numbers).
 */

const CHOICE = ["select", "radio", "checkbox"];
const COUNTS = ["decimals", "min_rows", "max_rows"];

/** Properties whose change reshapes the panel (other inputs appear or go). */
export const RESHAPES = new Set(["control", "catalogue"]);

/** "12" → 12, "1e3" → "1e3" (kept as typed), "" → undefined. */
export function numberOrText(v) {
  const s = String(v).trim();
  if (s === "") return undefined;
  const n = Number(s);
  return Number.isFinite(n) && String(n) === s ? n : s;
}

/** Set a dotted path ("label.zh"); empty, false or undefined removes it (and an emptied parent). */
export function setPath(obj, path, value) {
  const parts = path.split(".");
  const last = parts.pop();
  let o = obj;
  for (const p of parts) { if (!o[p] || typeof o[p] !== "object") o[p] = {}; o = o[p]; }
  if (value === undefined || value === "" || value === false) delete o[last];
  else o[last] = value;
  if (parts.length && Object.keys(o).length === 0) delete obj[parts[0]];
}

/** A text-like input `prop` of `node` now reads `value`. */
export function setProperty(node, prop, value, t) {
  if (prop === "key") {
    if (value === "" && (node.type === "environment" || node.type === "conclusion")) delete node.key;
    else node.key = value;
  } else if (prop === "control") {
    setControl(node, value, t);
  } else if (COUNTS.includes(prop) || (node.type === "group" && (prop === "min" || prop === "max"))) {
    setPath(node, prop, value === "" ? undefined : Math.max(0, parseInt(value, 10) || 0));
  } else if (prop === "min" || prop === "max") {
    setPath(node, prop, numberOrText(value));
  } else if (prop === "catalogue") {
    node.catalogue = value;
    delete node.items;
  } else if (prop === "expression" && node.type === "computed") {
    node.expression = value; // kept even when empty: the checks then say it is required
  } else {
    setPath(node, prop, value === "" ? undefined : value);
  }
}

/** Dates the host gives a record's rules (metrolab's ``record.context`` hook), by name. */
export const CONTEXT_DATES = { received_on: { zh: "委托单接收日期", en: "the entrustment's receipt date" } };

/** A date's 不早于 rule from the panel's choice: "" (none), "context:<name>" or "field:<key>" with
 * the other field's label, which is what the refusal names. */
export function setNotBefore(node, choice, fieldLabel) {
  const [kind, name] = choice.split(":");
  if (kind === "context" && CONTEXT_DATES[name]) node.not_before = { context: name, label: { ...CONTEXT_DATES[name] } };
  else if (kind === "field" && name) node.not_before = { field: name, label: { zh: (fieldLabel && fieldLabel.zh) || name, ...(fieldLabel && fieldLabel.en ? { en: fieldLabel.en } : {}) } };
  else delete node.not_before;
}

/** A field changes control: choices get two options, non-numbers lose number settings. */
export function setControl(node, control, t) {
  node.control = control;
  if (CHOICE.includes(control) && !(node.options && node.options.length)) node.options = [{ value: "A", label: { zh: t("opt") + " A" } }, { value: "B", label: { zh: t("opt") + " B" } }];
  if (!CHOICE.includes(control)) delete node.options;
  if (control !== "date") delete node.not_before;
  if (control !== "number") ["decimals", "min", "max"].forEach((k) => delete node[k]);
}

/** Option i's value, or its label in one language ("zh" / "en"). */
export function setOption(node, i, which, value) {
  const o = node.options[i];
  if (which === "value") { o.value = value; return; }
  o.label = o.label || {};
  if (value) o.label[which] = value; else delete o.label[which];
  if (!Object.keys(o.label).length) delete o.label;
}

export function addOption(node, t) {
  const opts = node.options || (node.options = []);
  const values = new Set(opts.map((o) => o.value));
  let n = opts.length + 1;
  while (values.has(String(n))) n++;
  opts.push({ value: String(n), label: { zh: t("opt") + " " + n } });
}

export function removeOption(node, i) { (node.options || []).splice(i, 1); }

/** Move option i one place up (delta −1) or down (+1); nothing at either end. */
export function moveOption(node, i, delta) {
  const opts = node.options || [];
  const j = i + delta;
  if (i < 0 || j < 0 || j >= opts.length) return;
  opts.splice(j, 0, opts.splice(i, 1)[0]);
}

/** Indicator-table items: all chosen means "every item" (the property goes). */
export function setItems(node, chosen, total) {
  if (chosen.length === total) delete node.items; else node.items = chosen;
}

/** Environment fields: all three means the default (the property goes). */
export function setEnvFields(node, chosen) {
  if (chosen.length === 3) delete node.fields; else node.fields = chosen;
}

export function addColumn(node) { node.columns.push([]); }

/** Why the last column of a columns node may not go (a text key), or null. */
export function columnRefusal(node) {
  if (node.columns.length <= 1) return "cols_min";
  if (node.columns[node.columns.length - 1].length) return "cols_not_empty";
  return null;
}

export function removeColumn(node) { node.columns.pop(); }
