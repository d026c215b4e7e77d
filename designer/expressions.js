/* metrolab form designer — expression checks as typed: the server's real evaluator parses the
 * expression against the names in scope and answers ok, or the message and its column.
 */
import { api } from "./api.js";
import { boot, esc, model, state, t } from "./ctx.js";
import { props } from "./properties.js";

const exprTimers = new WeakMap();
let exprSeq = 0;

/** Check textarea `el` after a pause in typing (at once when `immediate`). */
export function checkExpression(el, immediate) {
  clearTimeout(exprTimers.get(el));
  exprTimers.set(el, setTimeout(() => runExpressionCheck(el), immediate ? 0 : 300));
}

async function runExpressionCheck(el) {
  const msg = props.querySelector(`[data-msg-for="${el.dataset.prop}"]`);
  if (!msg || !state.selected) return;
  const source = el.value;
  const required = el.dataset.prop === "expression" && model.nodes.get(state.selected).type === "computed";
  if (!source.trim()) {
    msg.className = "dz-expr-msg" + (required ? " is-bad" : "");
    msg.textContent = required ? t("expr_required") : "";
    return;
  }
  const seq = ++exprSeq;
  let names = model.namesFor(state.selected, boot.catalogue);
  if (el.dataset.prop === "item_result" || el.dataset.prop === "item_conclusion") names = names.concat(["points", "result"]);
  msg.className = "dz-expr-msg is-busy";
  msg.textContent = t("checking");
  try {
    const r = await api("POST", boot.urls.check, { expression: source, known_names: names });
    if (seq !== exprSeq && !msg.isConnected) return;
    const body = r.body || {};
    if (body.ok) {
      msg.className = "dz-expr-msg is-ok";
      msg.innerHTML = `✓ ${esc(t("expr_ok"))}` + (body.names && body.names.length ? ` · ${esc(t("expr_uses"))} <code>${esc(body.names.join(", "))}</code>` : "");
    } else {
      msg.className = "dz-expr-msg is-bad";
      const pos = body.position;
      let marker = "";
      if (pos) marker = `<pre class="dz-caret">${esc(source.split("\n").join(" "))}\n${" ".repeat(Math.max(0, pos - 1))}^</pre>`;
      msg.innerHTML = `✗ ${esc(body.message || body.detail || t("expr_bad"))}${pos ? ` <span class="dz-pos">${esc(t("at_column").replace("{n}", pos))}</span>` : ""}${marker}`;
    }
  } catch (e) {
    msg.className = "dz-expr-msg is-bad";
    msg.textContent = t("check_failed");
  }
}
