/* metrolab form designer — the property panel: what is shown for the selected node or, with nothing
 * selected, for the form itself. Edits are handled in properties-input.js.
 */
import { editable, esc, model, pick, state, t } from "./ctx.js";
import { checkExpression } from "./expressions.js";
import { KEYED, kindName, nodeKey } from "./keys.js";
import { checkKeyInput } from "./properties-input.js";
import { showTab } from "./tabs.js";
import { typeProps } from "./type-properties.js";
import { catalogueSelect, exprBox, input, row } from "./widgets.js";

export const props = document.getElementById("dz-props");

export function showProps() {
  const selected = state.selected;
  const node = selected && model.nodes.get(selected);
  state.typingFor = null;
  if (!node) { props.innerHTML = formProps(); return; }
  const key = nodeKey(node);
  let h = `<div class="dz-props-head"><span class="dn-kind k-${node.type}">${esc(kindName(node, t))}</span><span class="dz-props-path">${esc(breadcrumb(selected))}</span></div>`;
  if (node.type !== "columns") {
    h += `<fieldset class="dz-fs"><legend>${t("p_label")}</legend>` +
      row(t("p_label_zh"), input("label.zh", node.label && node.label.zh, 'lang="zh"')) +
      row(t("p_label_en"), input("label.en", node.label && node.label.en, 'lang="en"')) + "</fieldset>";
  }
  if (KEYED.has(node.type)) {
    h += row(t("p_key"), input("key", key, 'spellcheck="false" autocomplete="off" class="dz-mono"') + `<div class="dz-key-msg" aria-live="polite"></div>`, t("p_key_hint"));
  }
  h += typeProps(node);
  h += `<details class="dz-more"${node.visible_if ? " open" : ""}><summary>${t("p_visible_if")}</summary>` + exprBox("visible_if", node.visible_if, t("p_visible_if_ph")) + `</details>`;
  if (node.type !== "columns") h += `<details class="dz-more"${node.help ? " open" : ""}><summary>${t("p_help")}</summary>` + row(t("p_label_zh"), input("help.zh", node.help && node.help.zh)) + row(t("p_label_en"), input("help.en", node.help && node.help.en)) + "</details>";
  if (editable) h += `<div class="dz-prop-actions"><button type="button" class="secondary" data-pact="dup">${t("duplicate")}</button><button type="button" class="danger" data-pact="del">${t("delete")}</button></div>`;
  props.innerHTML = h;
  checkKeyInput();
  props.querySelectorAll("[data-expr]").forEach((ta) => checkExpression(ta, true));
}

function formProps() {
  const d = model.defn;
  return `<div class="dz-props-head"><span class="dn-kind k-form">${t("form_props")}</span></div>` +
    `<p class="dz-hint">${t("select_hint")}</p>` +
    row(t("p_title_zh"), input("form.title.zh", d.title && d.title.zh)) +
    row(t("p_title_en"), input("form.title.en", d.title && d.title.en)) +
    row(t("p_form_key"), `<input value="${esc(d.key)}" disabled class="dz-mono">`) +
    row(t("p_kind"), `<input value="${esc(t("form_kind_" + d.kind))}" disabled>`) +
    row(t("p_catalogue"), catalogueSelect("form.catalogue", d.catalogue, true)) +
    row(t("p_description"), `<textarea data-prop="form.description" rows="3"${editable ? "" : " disabled"}>${esc(d.description || "")}</textarea>`);
}

export function breadcrumb(uid) {
  const names = [...model.ancestors(uid)].reverse().map((u) => { const n = model.nodes.get(u); return pick(n.label) || kindName(n, t); });
  return names.length ? names.join(" › ") : t("top_level");
}

export function focusProps() {
  showTab("props");
  const first = props.querySelector("input:not([disabled]), textarea, select");
  if (first) first.focus();
}
