/* metrolab form designer — typing in the property panel: each input changes the selected node (or the
 * form) through edits.js; one undo step per input while it keeps focus; the key is checked as typed.
 */
import { duplicateNode, changed, pushHistory, removeNode, snapshot } from "./changes.js";
import { editable, model, state, t } from "./ctx.js";
import * as edits from "./edits.js";
import { checkExpression } from "./expressions.js";
import { nodeKey } from "./keys.js";
import { props, showProps } from "./properties.js";
import { refreshNode, rerenderNode } from "./render.js";
import { notBeforeDates } from "./type-properties.js";
import { toast } from "./ui.js";

/** Property edits: one undo step per input while it keeps focus.
 * opts.rerender redraws the node with its lists; opts.props rebuilds the panel, focus kept. */
function edit(target, mutate, opts) {
  if (!editable) return;
  if (state.typingFor !== target) { pushHistory(snapshot()); state.typingFor = target; }
  mutate();
  if (opts && opts.rerender) rerenderNode(state.selected);
  else if (state.selected) refreshNode(state.selected);
  if (opts && opts.props) {
    const active = document.activeElement && document.activeElement.dataset.prop;
    showProps();
    if (active) { const el = props.querySelector(`[data-prop="${active}"]`); if (el) el.focus(); }
  }
  changed();
}

function onInput(e) {
  const el = e.target;
  const node = state.selected && model.nodes.get(state.selected);
  const prop = el.dataset.prop;
  if (prop && prop.startsWith("form.")) {
    const value = el.type === "checkbox" ? el.checked : el.value;
    edit(el, () => edits.setPath(model.defn, prop.slice(5), value || undefined));
    return;
  }
  if (!node) return;
  if (el.dataset.opt) {
    const i = +el.closest(".dz-opt").dataset.optIndex;
    edit(el, () => edits.setOption(node, i, el.dataset.opt, el.value));
    return;
  }
  if (el.dataset.item) {
    const all = [...props.querySelectorAll("[data-item]")];
    edit(el, () => edits.setItems(node, all.filter((c) => c.checked).map((c) => c.dataset.item), all.length));
    return;
  }
  if (el.dataset.env) {
    edit(el, () => edits.setEnvFields(node, [...props.querySelectorAll("[data-env]")].filter((c) => c.checked).map((c) => c.dataset.env)));
    return;
  }
  if (!prop) return;
  if (prop === "not_before") {
    const choice = notBeforeDates(state.selected).find((c) => c.value === el.value);
    edit(el, () => edits.setNotBefore(node, el.value, choice && choice.label));
    return;
  }
  if (el.type === "checkbox") { edit(el, () => edits.setPath(node, prop, el.checked)); return; }
  edit(el, () => edits.setProperty(node, prop, el.value, t), { props: edits.RESHAPES.has(prop) });
  if (prop === "key") checkKeyInput();
  else if (el.dataset.expr) checkExpression(el);
}

function onClick(e) {
  const btn = e.target.closest("button");
  if (!btn || !state.selected) return;
  const node = model.nodes.get(state.selected);
  if (btn.dataset.pact === "del") removeNode(state.selected);
  else if (btn.dataset.pact === "dup") duplicateNode(state.selected);
  else if (btn.dataset.pact === "col+") {
    state.typingFor = null;
    edit(btn, () => edits.addColumn(node), { rerender: true, props: true });
    model.reindex();
  } else if (btn.dataset.pact === "col-") {
    const why = edits.columnRefusal(node);
    if (why) return toast(t(why), "bad");
    state.typingFor = null;
    edit(btn, () => edits.removeColumn(node), { rerender: true, props: true });
    model.reindex();
  } else if (btn.dataset.optAct) {
    state.typingFor = null;
    if (!node.options) node.options = [];
    const i = btn.closest(".dz-opt") ? +btn.closest(".dz-opt").dataset.optIndex : -1;
    const act = btn.dataset.optAct;
    edit(btn, () => {
      if (act === "add") edits.addOption(node, t);
      else if (act === "del") edits.removeOption(node, i);
      else if (act === "up") edits.moveOption(node, i, -1);
      else if (act === "down") edits.moveOption(node, i, +1);
    }, { props: true });
    state.typingFor = null;
  }
}

/** Say beside the key input what is wrong with the key typed (format, reserved, duplicate). */
export function checkKeyInput() {
  const el = props.querySelector('[data-prop="key"]');
  const msg = props.querySelector(".dz-key-msg");
  if (!el || !msg) return;
  const node = model.nodes.get(state.selected);
  const key = el.value || nodeKey(node);
  const problem = model.checkKey(state.selected, key, t);
  msg.textContent = problem || "";
  msg.className = "dz-key-msg" + (problem ? " is-bad" : "");
  el.setAttribute("aria-invalid", problem ? "true" : "false");
}

export function initPropertyInput() {
  props.addEventListener("focusout", () => { state.typingFor = null; });
  props.addEventListener("input", onInput);
  props.addEventListener("change", (e) => { if (e.target.matches("select, input[type=checkbox]")) state.typingFor = null; });
  props.addEventListener("click", onClick);
}
