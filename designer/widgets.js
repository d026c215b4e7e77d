/* metrolab form designer — property panel widgets: a labelled row, input, checkbox, expression box,
 * catalogue select. Disabled when the version is not an editable draft.
 */
import { boot, editable, esc, t } from "./ctx.js";

export function row(label, inner, hint) {
  return `<label class="dz-prop"><span class="dz-prop-l">${esc(label)}</span>${inner}${hint ? `<small class="dz-hint">${hint}</small>` : ""}</label>`;
}
export function input(prop, value, attrs) { return `<input data-prop="${prop}" value="${esc(value == null ? "" : value)}" ${attrs || ""}${editable ? "" : " disabled"}>`; }
export function check(prop, value, text) { return `<label class="dz-check"><input type="checkbox" data-prop="${prop}"${value ? " checked" : ""}${editable ? "" : " disabled"}> ${esc(text)}</label>`; }
export function exprBox(prop, value, placeholder) {
  return `<div class="dz-expr"><textarea data-prop="${prop}" data-expr="1" rows="2" spellcheck="false" placeholder="${esc(placeholder || "")}"${editable ? "" : " disabled"}>${esc(value || "")}</textarea><div class="dz-expr-msg" data-msg-for="${prop}" aria-live="polite"></div></div>`;
}

export function catalogueSelect(prop, value, blank) {
  let h = `<select data-prop="${prop}"${editable ? "" : " disabled"}>`;
  if (blank) h += `<option value="">${t("none")}</option>`;
  for (const [code, c] of Object.entries(boot.catalogue)) h += `<option value="${esc(code)}"${code === value ? " selected" : ""}>${esc(c.name)} (${esc(code)})</option>`;
  if (value && !boot.catalogue[value]) h += `<option value="${esc(value)}" selected>${esc(value)}</option>`;
  return h + "</select>";
}
