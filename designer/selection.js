/* metrolab form designer — selection and keyboard: click / focus selects a node (roving tabindex),
 * arrows walk the tree, Alt+arrows move, Delete, Ctrl+D, Enter edits, A / Insert opens the palette,
 * Ctrl+Z / Ctrl+Y / Ctrl+S anywhere.
 */
import { addNear, duplicateNode, redo, removeNode, shift, undo } from "./changes.js";
import { canvas, model, perf, state } from "./ctx.js";
import { focusProps, showProps } from "./properties.js";
import { elementFor } from "./render.js";
import { saveNow } from "./save.js";

export function select(uid, opts) {
  if (state.selected) {
    const old = elementFor(state.selected);
    if (old) { old.classList.remove("is-sel"); old.tabIndex = -1; old.setAttribute("aria-selected", "false"); }
  }
  state.selected = uid && model.nodes.has(uid) ? uid : null;
  const el = state.selected && elementFor(state.selected);
  if (el) {
    el.classList.add("is-sel");
    el.tabIndex = 0;
    el.setAttribute("aria-selected", "true");
    if (opts && opts.focus) el.focus({ preventScroll: true });
    if (opts && opts.focus) el.scrollIntoView({ block: "nearest" });
  } else {
    const root = canvas.querySelector(".dn");
    if (root) root.tabIndex = 0;
  }
  showProps();
}

function focusPalette() {
  const first = document.querySelector(".dz-pal-item");
  if (first) first.focus();
}

function onCanvasClick(e) {
  const btn = e.target.closest(".dn-btn");
  const el = e.target.closest(".dn");
  if (!el) { select(null); return; }
  const uid = +el.dataset.uid;
  if (btn) {
    e.stopPropagation();
    if (btn.dataset.act === "del") removeNode(uid);
    if (btn.dataset.act === "dup") duplicateNode(uid);
    return;
  }
  select(uid, { focus: true });
}

function onCanvasKey(e) {
  const el = e.target.closest(".dn");
  if (!el || e.target !== el) return;
  const uid = +el.dataset.uid;
  const ctrl = e.ctrlKey || e.metaKey;
  const order = model.order();
  const i = order.indexOf(uid);
  let handled = true;
  if (e.altKey && e.key === "ArrowUp") shift(uid, -1);
  else if (e.altKey && e.key === "ArrowDown") shift(uid, +1);
  else if (e.key === "ArrowDown") select(order[Math.min(i + 1, order.length - 1)], { focus: true });
  else if (e.key === "ArrowUp") select(order[Math.max(i - 1, 0)], { focus: true });
  else if (e.key === "ArrowLeft") { const p = model.parentOf(uid); if (p && p.owner) select(p.owner, { focus: true }); }
  else if (e.key === "ArrowRight") { const first = order[i + 1]; if (first && model.ancestors(first).includes(uid)) select(first, { focus: true }); }
  else if (e.key === "Home") select(order[0], { focus: true });
  else if (e.key === "End") select(order[order.length - 1], { focus: true });
  else if (e.key === "Delete" || e.key === "Backspace") removeNode(uid);
  else if (ctrl && (e.key === "d" || e.key === "D")) duplicateNode(uid);
  else if (e.key === "Enter") focusProps();
  else if (e.key === "Insert" || (!ctrl && !e.altKey && (e.key === "a" || e.key === "A"))) focusPalette();
  else handled = false;
  if (handled) e.preventDefault();
}

function onDocumentKey(e) {
  const ctrl = e.ctrlKey || e.metaKey;
  const typing = e.target.matches("input, textarea, select");
  if (ctrl && !typing && (e.key === "z" || e.key === "Z") && !e.shiftKey) { e.preventDefault(); undo(); }
  else if (ctrl && !typing && (e.key === "y" || e.key === "Y" || ((e.key === "z" || e.key === "Z") && e.shiftKey))) { e.preventDefault(); redo(); }
  else if (ctrl && (e.key === "s" || e.key === "S")) { e.preventDefault(); saveNow(); }
  else if (e.key === "Escape" && e.target.closest(".dz-side, .dz-palette")) {
    const el = state.selected && elementFor(state.selected);
    if (el) el.focus(); else { const first = canvas.querySelector(".dn"); if (first) first.focus(); }
  }
}

function onPaletteKey(e, palette) {
  const item = e.target.closest(".dz-pal-item");
  if (!item) return;
  const items = [...palette.querySelectorAll(".dz-pal-item")];
  const i = items.indexOf(item);
  if (e.key === "Enter" || e.key === " ") { e.preventDefault(); addNear(item.dataset.make); }
  else if (e.key === "ArrowDown" || e.key === "ArrowRight") { e.preventDefault(); (items[i + 1] || item).focus(); }
  else if (e.key === "ArrowUp" || e.key === "ArrowLeft") { e.preventDefault(); (items[i - 1] || item).focus(); }
}

export function initSelection() {
  const palette = document.querySelector(".dz-palette");
  canvas.addEventListener("pointerdown", () => { perf.lastDown = performance.now(); }, true);
  document.addEventListener("pointerup", () => { perf.lastUp = performance.now(); }, true);
  palette.addEventListener("pointerdown", () => { perf.lastDown = performance.now(); }, true);
  canvas.addEventListener("click", onCanvasClick);
  // Tab / programmatic focus onto a node selects it (roving tabindex).
  canvas.addEventListener("focusin", (e) => {
    const el = e.target.closest(".dn");
    if (el && e.target === el && +el.dataset.uid !== state.selected) select(+el.dataset.uid);
  });
  canvas.addEventListener("dblclick", (e) => { if (e.target.closest(".dn")) focusProps(); });
  canvas.addEventListener("keydown", onCanvasKey);
  document.addEventListener("keydown", onDocumentKey);
  palette.addEventListener("keydown", (e) => onPaletteKey(e, palette));
  palette.addEventListener("dblclick", (e) => {
    const item = e.target.closest(".dz-pal-item");
    if (item) addNear(item.dataset.make);
  });
}
