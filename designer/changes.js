/* metrolab form designer — changing the form: every operation goes through change(), which records
 * the undo step, refreshes the touched lists, keeps the selection and starts the autosave.
 */
import { $, boot, editable, model, state, t } from "./ctx.js";
import { applyFlags } from "./flags.js";
import { History } from "./history.js";
import { kindName } from "./keys.js";
import { ModelError } from "./model.js";
import { make } from "./palette.js";
import { schedulePreview } from "./preview.js";
import { showProps } from "./properties.js";
import { listElement, renderAll, rendered, syncList } from "./render.js";
import { markDirty } from "./save.js";
import { select } from "./selection.js";
import { showJSON } from "./tabs.js";
import { toast } from "./ui.js";

const history = new History();

export function snapshot() { return JSON.stringify(model.defn); }

/** Run a model operation: record history, refresh the touched lists, flag, autosave.
 * opts: lists [[owner, slot, element?]] to redraw, full (redraw all), select (uid), focus. */
export function change(op, opts) {
  opts = opts || {};
  if (!editable) return null;
  const start = performance.now();
  const before = snapshot();
  let result;
  try {
    result = op();
  } catch (e) {
    if (!(e instanceof ModelError)) throw e;
    toast(e.message, "bad");
    (opts.lists || []).forEach(([o, s, el]) => syncList(el || listElement(o, s), o, s));
    rendered(start);
    return null;
  }
  pushHistory(before);
  if (opts.full) renderAll();
  else (opts.lists || []).forEach(([o, s, el]) => syncList(el && el.isConnected ? el : listElement(o, s), o, s));
  const sel = opts.select === undefined ? result : opts.select;
  if (sel !== undefined && sel !== null && model.nodes.has(sel)) select(sel, { focus: opts.focus !== false });
  else if (state.selected && !model.nodes.has(state.selected)) select(null);
  rendered(start);
  changed();
  return result;
}

export function pushHistory(before) {
  history.record(before);
  updateHistoryButtons();
}

function restore(json) {
  const path = state.selected ? model.pathOf(state.selected) : null;
  model.load(JSON.parse(json));
  state.selected = path ? model.uidAtPath(path) : null;
  renderAll();
  showProps();
  changed();
}

export function undo() {
  if (!editable || !history.canUndo()) return;
  restore(history.undo(snapshot()));
  updateHistoryButtons();
  toast(t("undone"));
}

export function redo() {
  if (!editable || !history.canRedo()) return;
  restore(history.redo(snapshot()));
  updateHistoryButtons();
  toast(t("redone"));
}

export function updateHistoryButtons() {
  $('[data-cmd="undo"]').disabled = !editable || !history.canUndo();
  $('[data-cmd="redo"]').disabled = !editable || !history.canRedo();
}

/** After any change: flags, JSON view, preview and autosave (debounced). */
export function changed() {
  applyFlags();
  if (state.activeTab === "json") showJSON();
  schedulePreview();
  markDirty();
}

// ── operations ──────────────────────────────────────────────────────────────────────────────

export function add(kind, owner, slot, index, listEl) {
  return change(() => model.insert(owner, slot, index, make(kind, model, owner, t, boot.catalogue), t), { lists: [[owner, slot, listEl]] });
}

/** Keyboard / double-click: into the selected container, else after the selected node. */
export function addNear(kind) {
  if (!editable) return;
  let owner = 0, slot = "layout", index = model.defn.layout.length;
  const selected = state.selected;
  if (selected) {
    const slots = model.slots(model.nodes.get(selected));
    if (slots.length) { owner = selected; slot = slots[0][0]; index = slots[0][1].length; }
    else { const p = model.parentOf(selected); owner = p.owner; slot = p.slot; index = p.index + 1; }
  }
  const uid = add(kind, owner, slot, index);
  if (uid) toast(t("added").replace("{kind}", kindName(model.nodes.get(uid), t)));
}

export function removeNode(uid) {
  const order = model.order();
  const i = order.indexOf(uid);
  const place = model.parentOf(uid);
  change(() => { model.remove(uid); }, { lists: [[place.owner, place.slot]], select: null });
  const next = order.slice(i + 1).find((u) => model.nodes.has(u)) || order.slice(0, i).reverse().find((u) => model.nodes.has(u));
  select(next || null, { focus: true });
}

export function duplicateNode(uid) {
  const place = model.parentOf(uid);
  change(() => model.duplicate(uid), { lists: [[place.owner, place.slot]] });
}

/** Alt+↑ / Alt+↓: one place up or down in the same list. */
export function shift(uid, delta) {
  const place = model.parentOf(uid);
  const target = place.index + delta;
  if (target < 0 || target >= place.list.length) return;
  change(() => model.move(uid, place.owner, place.slot, target, t), { lists: [[place.owner, place.slot]], select: uid });
}
