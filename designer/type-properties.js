/* metrolab form designer — the properties particular to each kind of node (field controls, computed,
 * conclusion, table, group, indicator table, environment, columns), with the options editor.
 */
import { boot, editable, esc, model, pick, state, t } from "./ctx.js";
import { CONTEXT_DATES } from "./edits.js";
import { catalogueSelect, check, exprBox, input, row } from "./widgets.js";

export function typeProps(node) {
  let h = "";
  if (node.type === "field") {
    h += row(t("p_control"), `<select data-prop="control"${editable ? "" : " disabled"}>${boot.controls.map((c) => `<option value="${c}"${c === node.control ? " selected" : ""}>${esc(t("ctl_" + c))}</option>`).join("")}</select>`);
    h += `<div class="dz-checks">${check("required", node.required, t("p_required"))}${check("readonly", node.readonly, t("p_readonly"))}</div>`;
    if (node.control === "number") {
      h += `<div class="dz-grid2">${row(t("p_unit"), input("unit", node.unit))}${row(t("p_decimals"), input("decimals", node.decimals, 'type="number" min="0" max="12" step="1"'))}${row(t("p_min"), input("min", node.min, 'inputmode="decimal"'))}${row(t("p_max"), input("max", node.max, 'inputmode="decimal"'))}</div>`;
    } else if (node.control === "text") {
      h += `<div class="dz-grid2">${row(t("p_unit"), input("unit", node.unit))}${row(t("p_pattern"), input("pattern", node.pattern, 'class="dz-mono"'))}</div>`;
    }
    if (["text", "number", "date", "textarea", "select", "radio"].includes(node.control)) {
      h += `<div class="dz-grid2">${row(t("p_default"), input("default", node.default))}${row(t("p_example"), input("example", node.example), t("p_example_hint"))}</div>`;
      h += row(t("p_placeholder"), input("placeholder", node.placeholder));
    }
    if (node.control === "date") h += row(t("p_not_before"), notBeforeSelect(node), t("p_not_before_hint"));
    if (["select", "radio", "checkbox"].includes(node.control)) h += optionsEditor(node);
  } else if (node.type === "computed") {
    h += row(t("p_expression"), exprBox("expression", node.expression, "(a - b) / b * 100"), t("p_expression_hint"));
    h += `<div class="dz-grid2">${row(t("p_round"), input("round", node.round, 'placeholder="0.01" class="dz-mono"'))}${row(t("p_unit"), input("unit", node.unit))}</div>`;
    h += functionsHelp();
  } else if (node.type === "conclusion") {
    h += row(t("p_expression"), exprBox("expression", node.expression, t("p_conclusion_ph")), t("p_conclusion_hint"));
  } else if (node.type === "table") {
    h += `<div class="dz-grid2">${row(t("p_min_rows"), input("min_rows", node.min_rows, 'type="number" min="0"'))}${row(t("p_max_rows"), input("max_rows", node.max_rows, 'type="number" min="0"'))}</div>`;
    h += row(t("p_row_label"), input("row_label.zh", node.row_label && node.row_label.zh, 'placeholder="第{n}次"'));
  } else if (node.type === "group") {
    h += `<div class="dz-checks">${check("repeat", node.repeat, t("p_repeat"))}</div>`;
    h += `<div class="dz-grid2">${row(t("p_min"), input("min", node.min, 'type="number" min="0"'))}${row(t("p_max"), input("max", node.max, 'type="number" min="0"'))}</div>`;
  } else if (node.type === "indicator_table") {
    const code = node.catalogue || model.defn.catalogue;
    h += row(t("p_catalogue"), catalogueSelect("catalogue", node.catalogue, false));
    const type = boot.catalogue[code];
    if (type) {
      h += `<fieldset class="dz-fs"><legend>${t("p_items")}</legend><div class="dz-checks col">` +
        type.items.map((it) => `<label class="dz-check"><input type="checkbox" data-item="${esc(it.code)}"${!node.items || node.items.includes(it.code) ? " checked" : ""}${editable ? "" : " disabled"}> ${esc(it.name)} <code>${esc(it.code)}</code></label>`).join("") +
        `</div><small class="dz-hint">${t("p_params")}: ${esc(type.params.join(", ") || "—")}</small></fieldset>`;
    }
    h += row(t("p_item_result"), exprBox("item_result", node.item_result, "maxabs(points.E)"));
    h += row(t("p_item_conclusion"), exprBox("item_conclusion", node.item_conclusion, "within(result, mpe)"));
  } else if (node.type === "environment") {
    const fields = node.fields || ["temperature", "humidity", "pressure"];
    h += `<fieldset class="dz-fs"><legend>${t("p_env_fields")}</legend><div class="dz-checks">` +
      ["temperature", "humidity", "pressure"].map((f) => `<label class="dz-check"><input type="checkbox" data-env="${f}"${fields.includes(f) ? " checked" : ""}${editable ? "" : " disabled"}> ${t("env_" + f)}</label>`).join("") + "</div></fieldset>";
    h += `<div class="dz-checks">${check("required", node.required, t("p_required"))}</div>`;
  } else if (node.type === "columns") {
    h += `<div class="dz-prop"><span class="dz-prop-l">${t("p_column_count")}</span><div class="dz-stepper"><button type="button" class="secondary" data-pact="col-" ${editable ? "" : "disabled"}>−</button><b>${node.columns.length}</b><button type="button" class="secondary" data-pact="col+" ${editable ? "" : "disabled"}>+</button></div><small class="dz-hint">${t("p_column_hint")}</small></div>`;
  }
  return h;
}

/** 不早于: a date the host gives (records only) or another date field of the same scope. */
export function notBeforeDates(uid) {
  const out = [];
  if (model.defn.kind === "record") for (const [name, label] of Object.entries(CONTEXT_DATES)) out.push({ value: `context:${name}`, label });
  for (const [other, key] of model.entries(...model.scopeAt(uid))) {
    const n = model.nodes.get(other);
    if (other !== uid && n.type === "field" && n.control === "date") out.push({ value: `field:${key}`, label: n.label || { zh: key } });
  }
  return out;
}

function notBeforeSelect(node) {
  const rule = node.not_before || {};
  const current = rule.context ? `context:${rule.context}` : rule.field ? `field:${rule.field}` : "";
  const choices = notBeforeDates(state.selected);
  if (current && !choices.some((c) => c.value === current)) choices.push({ value: current, label: rule.label || { zh: current } });
  return `<select data-prop="not_before"${editable ? "" : " disabled"}><option value="">${t("nb_none")}</option>` +
    choices.map((c) => `<option value="${esc(c.value)}"${c.value === current ? " selected" : ""}>${esc(pick(c.label))}</option>`).join("") + "</select>";
}

function optionsEditor(node) {
  const opts = node.options || [];
  let h = `<fieldset class="dz-fs dz-options"><legend>${t("p_options")}</legend><div class="dz-opt-head"><span>${t("p_opt_value")}</span><span>${t("p_label_zh")}</span><span>${t("p_label_en")}</span><span></span></div>`;
  opts.forEach((o, i) => {
    h += `<div class="dz-opt" data-opt-index="${i}"><input data-opt="value" value="${esc(o.value)}" class="dz-mono" aria-label="${t("p_opt_value")} ${i + 1}"${editable ? "" : " disabled"}><input data-opt="zh" value="${esc(o.label && o.label.zh)}" aria-label="${t("p_label_zh")} ${i + 1}"${editable ? "" : " disabled"}><input data-opt="en" value="${esc(o.label && o.label.en)}" aria-label="${t("p_label_en")} ${i + 1}"${editable ? "" : " disabled"}>` +
      (editable ? `<span class="dz-opt-tools"><button type="button" class="dn-btn" data-opt-act="up" title="${t("move_up")}">↑</button><button type="button" class="dn-btn" data-opt-act="down" title="${t("move_down")}">↓</button><button type="button" class="dn-btn dn-del" data-opt-act="del" title="${t("delete")}">✕</button></span>` : "") + "</div>";
  });
  const values = opts.map((o) => o.value);
  if (new Set(values).size !== values.length) h += `<div class="dz-bad">${t("opt_duplicate")}</div>`;
  if (editable) h += `<button type="button" class="secondary dz-small" data-opt-act="add">＋ ${t("p_opt_add")}</button>`;
  return h + "</fieldset>";
}

function functionsHelp() {
  return `<details class="dz-more"><summary>${t("functions")}</summary><table class="dz-fn">${boot.function_help.map((f) => `<tr><td><code>${esc(f.usage)}</code></td><td>${esc(f.text)}</td></tr>`).join("")}</table></details>`;
}
